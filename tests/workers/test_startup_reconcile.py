"""A worker SIGKILLed after its runs handed over their record loses what its writer still held;
the next worker to start repairs it by itself, with nobody running ``agentrun reconcile``.

Real ``agentrun worker`` processes over one SQLite store. The writer's interval is its longest
(10 s) and the first worker dies well within it, so the loss is certain, not a race.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from agentrun.activities.reconcile import STARTUP_DELAY
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.contracts.names import RECONCILE_STARTUP_ID
from agentrun.contracts.reconcile import ReconcileReport
from agentrun.store.db import make_engine, session_factory
from agentrun.store.queries import get_run, list_transitions
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually, wait_for_review

REPO = Path(__file__).resolve().parents[2]
FLUSH_INTERVAL_S = 10


@contextmanager
def worker_process(address: str, data_dir: Path, queue: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "AGENTRUN_TASK_QUEUE": queue,
        "AGENTRUN_DATA_DIR": str(data_dir),
        "AGENTRUN_AGENT_MODULES": ",".join(TEST_AGENT_MODULES),
        "AGENTRUN_STICKY_QUEUE_TIMEOUT_S": "1",
        "AGENTRUN_RECORD_FLUSH_INTERVAL_S": str(FLUSH_INTERVAL_S),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentrun.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def stored(sessions: Callable[[], Session], run_id: str) -> tuple[str, int] | None:
    with sessions() as session:
        row = get_run(session, run_id)
        return None if row is None else (row.state, len(list_transitions(session, run_id)))


async def test_a_restarted_worker_repairs_what_its_killed_predecessor_lost(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    address = client.service_client.config.target_host
    queue = f"startup-reconcile-{uuid.uuid4().hex[:8]}"
    runs = AgentRunClient(client, task_queue=queue)
    engine = make_engine(migrate_data_dir(tmp_path))
    sessions = session_factory(engine)
    try:
        with worker_process(address, tmp_path, queue) as first:
            spawned = time.monotonic()
            finished = await runs.start(RunRequest(agent="echo", input={"key": "k"}))
            assert (await runs.result(finished)).state is RunState.COMPLETED
            waiting = await runs.start(RunRequest(agent="reviewed", input={"key": "k"}))
            await wait_for_review(runs, waiting)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            lived = time.monotonic() - spawned
        assert lived < FLUSH_INTERVAL_S, f"the worker lived {lived:.1f} s: it may have flushed"
        # Only the rows PREPARING writes at once landed; both hand-overs died with the worker.
        assert stored(sessions, finished) == ("PREPARING", 0)
        assert stored(sessions, waiting) == ("PREPARING", 0)

        with worker_process(address, tmp_path, queue):
            finished_status = await runs.status(finished)
            await eventually(
                lambda: _async(stored(sessions, finished)),
                lambda row: row == ("COMPLETED", len(finished_status.transitions)),
                timeout=STARTUP_DELAY.total_seconds() + 60,
            )
            report: ReconcileReport = await client.get_workflow_handle(
                f"{RECONCILE_STARTUP_ID}-{queue}", result_type=ReconcileReport
            ).result()
            assert report.rewritten == sorted([finished, waiting])
            assert report.skipped == {}
            # The run still waiting for its review is recorded as waiting, by nobody's hand.
            waiting_status = await runs.status(waiting)
            assert waiting_status.state is RunState.REVIEWING
            assert stored(sessions, waiting) == ("REVIEWING", len(waiting_status.transitions))
            await runs.cancel(waiting)
    finally:
        engine.dispose()


async def _async(value: tuple[str, int] | None) -> tuple[str, int] | None:
    return value
