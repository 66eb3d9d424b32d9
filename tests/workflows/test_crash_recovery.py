"""A worker SIGKILLed in the middle of a non-idempotent refund: the run completes on a new
worker and the customer is refunded exactly once (idempotency key stable across the crash)."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

from temporalio.testing import WorkflowEnvironment

from agentrun.agents.refund.db import count_refunds, setup
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from tests.support import worker_processes
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually

TASK_QUEUE = "crash-tests"


@contextmanager
def worker_process(address: str, data_dir: Path) -> Iterator[Popen[bytes]]:
    env = {"AGENTRUN_STICKY_QUEUE_TIMEOUT_S": "1"}
    with worker_processes.worker_process(address, data_dir, TASK_QUEUE, env=env) as proc:
        yield proc


async def test_worker_killed_mid_refund_run_completes_and_refunds_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = temporal_env.client.service_client.config.target_host
    runs = AgentRunClient(temporal_env.client, task_queue=TASK_QUEUE)
    setup(tmp_path)  # the workers do this too; doing it first lets the test count from zero
    migrate_data_dir(tmp_path)
    with worker_process(address, tmp_path) as first:
        run_id = await runs.start(
            RunRequest(agent="crashy-refund", input={"order_id": "1001", "amount": 40})
        )
        # The refund row is written, and the activity is now hanging inside the tool.
        await eventually(
            lambda: _async(count_refunds(tmp_path, "1001")), lambda n: n == 1, timeout=60
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    with worker_process(address, tmp_path):
        result = await eventually(lambda: runs.status(run_id), lambda s: s.state.terminal, 60)
    assert result.state is RunState.COMPLETED
    assert count_refunds(tmp_path, "1001") == 1
    refund = next(c for c in result.tool_calls if c.tool == "slow_refund")
    assert refund.attempts == 2  # the first attempt died with the worker
    assert result.output is not None
    assert result.output["refund_id"].startswith("rf_")


async def _async(value: int) -> int:
    return value
