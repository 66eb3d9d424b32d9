"""A worker SIGKILLed after its runs handed over their record loses what its writer still held;
the next worker to start repairs it by itself, with nobody running ``agentrun reconcile``.

Real ``agentrun worker`` processes over one SQLite store. The writer's interval is its longest
(10 s) and the first worker dies well within it, so the loss is certain, not a race; a box so
loaded that the worker outlived it gets the same loss by hand (see ``lose_hand_overs``).
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session, col, delete, update
from temporalio.testing import WorkflowEnvironment

from agentrun.activities.reconcile import STARTUP_DELAY
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.contracts.names import RECONCILE_STARTUP_ID
from agentrun.contracts.reconcile import ReconcileReport
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import RunRow, TransitionRow
from agentrun.store.queries import get_run, list_transitions
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually, wait_for_review

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
FLUSH_INTERVAL_S = 10  # the longest the settings allow (``record_flush_interval_s``)


@contextmanager
def worker_process(address: str, data_dir: Path, queue: str) -> Iterator[subprocess.Popen[bytes]]:
    """An ``agentrun worker``; one that exits on its own fails the test with its stderr (a run
    waiting on it would otherwise wait out the test's timeout)."""
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
    log = data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentrun.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    if proc.returncode not in (-signal.SIGKILL, 0):
        tail = log.read_text(errors="replace")[-2000:]
        raise AssertionError(f"the worker exited with {proc.returncode}:\n{tail}")


async def alive(proc: subprocess.Popen[bytes], work: Awaitable[T]) -> T:
    """``work``, unless the worker it needs exits first."""
    task = asyncio.ensure_future(work)
    while not task.done():
        if proc.poll() is not None:
            task.cancel()
            raise AssertionError(f"the worker exited with {proc.returncode} while it was needed")
        await asyncio.wait([task], timeout=0.5)
    return task.result()


def lose_hand_overs(sessions: Callable[[], Session], run_id: str) -> None:
    """As if the killed worker's writer had written nothing past PREPARING's first row."""
    with sessions() as session, session.begin():
        session.execute(
            update(RunRow)
            .where(col(RunRow.run_id) == run_id)
            .values(state=RunState.PREPARING.value, finished_at=None)
        )
        session.execute(delete(TransitionRow).where(col(TransitionRow.run_id) == run_id))


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
            assert (await alive(first, runs.result(finished))).state is RunState.COMPLETED
            waiting = await runs.start(RunRequest(agent="reviewed", input={"key": "k"}))
            await alive(first, wait_for_review(runs, waiting))
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            lived = time.monotonic() - spawned
        if lived >= FLUSH_INTERVAL_S:  # a loaded box: its writer may have flushed before the kill
            for run_id in (finished, waiting):
                lose_hand_overs(sessions, run_id)
        # Only the rows PREPARING writes at once landed; both hand-overs died with the worker.
        assert stored(sessions, finished) == ("PREPARING", 0)
        assert stored(sessions, waiting) == ("PREPARING", 0)

        with worker_process(address, tmp_path, queue) as second:
            finished_status = await alive(second, runs.status(finished))
            await eventually(
                lambda: _async(stored(sessions, finished)),
                lambda row: row == ("COMPLETED", len(finished_status.transitions)),
                timeout=STARTUP_DELAY.total_seconds() + 60,
            )
            report: ReconcileReport = await alive(
                second,
                client.get_workflow_handle(
                    f"{RECONCILE_STARTUP_ID}-{queue}", result_type=ReconcileReport
                ).result(),
            )
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
