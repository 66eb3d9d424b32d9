"""``agentrun reconcile`` finds the runs whose record fell behind Temporal and rewrites them.

Every loss is made real, not mocked: a final hand-over undone in the store as if the worker had
died before its writer flushed; a run finished by a worker without a store; a run that failed
in PREPARING before any worker took it up; a run another deployment's ``AgentRun`` left, whose
history this code cannot replay; a run on a task queue no worker polls.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, delete
from temporalio import workflow
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from agentrun.activities.reconcile import sweep, write_if_behind
from agentrun.cli.app import app
from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.names import AGENT_RUN_WORKFLOW, SA_AGENT_STATE
from agentrun.contracts.reconcile import ReconcileReport, ReconcileRequest
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import RunRow, TransitionRow
from agentrun.store.queries import get_run, list_transitions
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually, wait_for_review, wait_for_stored_state

Sessions = Callable[[], Session]


def new_queue() -> str:
    return f"reconcile-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


@asynccontextmanager
async def worker_on(
    client: Client, data_dir: Path, queue: str, **settings: Any
) -> AsyncIterator[AgentRunClient]:
    config = Settings(
        data_dir=data_dir, agent_modules=TEST_AGENT_MODULES, task_queue=queue, **settings
    )
    async with build_worker(client, config):
        yield AgentRunClient(client, task_queue=queue)


async def visible(client: Client, run_id: str, *, closed: bool = True) -> None:
    """Until visibility shows the run (closed, when asked): the sweep reads it from there."""

    async def listed() -> list[Any]:
        return [e async for e in client.list_workflows(f"WorkflowId = '{run_id}'")]

    def done(found: list[Any]) -> bool:
        return bool(found) and (
            not closed or found[0].status is not WorkflowExecutionStatus.RUNNING
        )

    await eventually(listed, done)


def stored(sessions: Sessions, run_id: str) -> tuple[str, int] | None:
    with sessions() as session:
        row = get_run(session, run_id)
        return None if row is None else (row.state, len(list_transitions(session, run_id)))


def lose_final_flush(sessions: Sessions, run_id: str) -> None:
    """As if the worker died before its writer wrote the run's last hand-over."""
    with sessions() as session, session.begin():
        session.execute(
            update(RunRow)
            .where(col(RunRow.run_id) == run_id)
            .values(state="EXECUTING", finished_at=None)
        )
        session.execute(
            delete(TransitionRow).where(
                col(TransitionRow.run_id) == run_id, col(TransitionRow.seq) >= 2
            )
        )


async def reconcile(
    client: Client, sessions: Sessions, queue: str, **request: Any
) -> ReconcileReport:
    request.setdefault("older_than", timedelta(0))
    return await sweep(client, sessions, queue, ReconcileRequest(**request), now=datetime.now(UTC))


# ----------------------------------------------------------------- a lost final flush


@pytest.fixture
async def finished_run(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[AgentRunClient, Settings, str]]:
    migrate_data_dir(tmp_path)
    queue = new_queue()
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    async with worker_on(temporal_env.client, tmp_path, queue) as runs:
        run_id = await runs.start(RunRequest(agent="echo", input={"key": "k"}))
        assert (await runs.result(run_id)).state is RunState.COMPLETED
        engine = make_engine(settings.effective_database_url())
        sessions = session_factory(engine)
        await wait_for_stored_state(sessions, run_id, "COMPLETED")
        lose_final_flush(sessions, run_id)
        engine.dispose()
        await visible(temporal_env.client, run_id)
        yield runs, settings, run_id  # the worker stays up: queries replay on it


async def test_reconcile_rewrites_a_run_whose_final_flush_was_lost(
    finished_run: tuple[AgentRunClient, Settings, str],
) -> None:
    runs, settings, run_id = finished_run
    queue = settings.task_queue
    status = await runs.status(run_id)
    engine = make_engine(settings.effective_database_url())
    sessions = session_factory(engine)
    client = runs.temporal
    try:
        assert stored(sessions, run_id) == ("EXECUTING", 2)
        # Too young to look at: a run that just ended is still being written.
        young = await reconcile(client, sessions, queue, older_than=timedelta(hours=1))
        assert (young.checked, young.rewritten) == (0, [])
        # Started before the window: not looked at unless the store shows it unfinished.
        later = await sweep(
            client,
            sessions,
            queue,
            ReconcileRequest(since=timedelta(hours=1), older_than=timedelta(0)),
            now=datetime.now(UTC) + timedelta(hours=2),
        )
        assert later.rewritten == [run_id]  # found as the store's unfinished run

        lose_final_flush(sessions, run_id)
        dry = await reconcile(client, sessions, queue, dry_run=True)
        assert (dry.rewritten, dry.rewritten_count, dry.added) == ([run_id], 1, 0)
        assert stored(sessions, run_id) == ("EXECUTING", 2)

        done = await reconcile(client, sessions, queue)
        assert (done.checked, done.queried, done.rewritten, done.skipped) == (1, 1, [run_id], {})
        assert stored(sessions, run_id) == ("COMPLETED", len(status.transitions))

        # In step now, and known to be without asking the run: its search attribute agrees.
        again = await reconcile(client, sessions, queue)
        assert (again.checked, again.queried, again.in_step, again.rewritten) == (1, 0, 1, [])
    finally:
        engine.dispose()


async def test_reconcile_cli_json_and_bad_duration(
    finished_run: tuple[AgentRunClient, Settings, str], temporal_env: WorkflowEnvironment
) -> None:
    _, settings, run_id = finished_run
    env = {
        "AGENTRUN_DATA_DIR": str(settings.data_dir),
        "AGENTRUN_TASK_QUEUE": settings.task_queue,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
    }
    runner = CliRunner()
    for option, value in (("--older-than", "soon"), ("--since", "a day")):
        bad = runner.invoke(app, ["reconcile", option, value], env=env)
        assert bad.exit_code == 1
        assert bad.stderr.startswith(f"error: {option} {value!r}: use a duration")

    # CliRunner runs in this process and its event loop is busy: run the sweep in a thread.
    result = await asyncio.to_thread(
        runner.invoke, app, ["reconcile", "--older-than", "0s", "--json"], env=env
    )
    assert result.exit_code == 0, result.stderr
    report = ReconcileReport.model_validate_json(result.stdout)
    assert report.rewritten == [run_id]
    engine = make_engine(settings.effective_database_url())
    try:
        assert stored(session_factory(engine), run_id) == ("COMPLETED", 4)
    finally:
        engine.dispose()


# ----------------------------------------------------------------- runs the store never saw


async def test_reconcile_adds_runs_the_store_never_saw(
    temporal_env: WorkflowEnvironment, tmp_path: Path, db_url: str, store: Sessions
) -> None:
    client = temporal_env.client
    queue = new_queue()
    # A worker without a store finishes a run: nothing of it reaches any store.
    async with worker_on(client, tmp_path / "off", queue, store_enabled=False) as runs:
        unrecorded = await runs.start(RunRequest(agent="echo", input={"key": "k"}))
        assert (await runs.result(unrecorded)).state is RunState.COMPLETED
    # No worker takes this one up within its 1 s PREPARING deadline: when one does, PREPARING
    # writes the run's first row and the run fails, handing nothing over (its worker never said
    # it keeps a record): the store shows it PREPARING for good.
    timed_out = await runs.start(RunRequest(agent="init-deadline", input={"key": "k"}))
    await asyncio.sleep(1.5)
    async with worker_on(client, tmp_path, queue, database_url=db_url) as runs:
        result = await runs.result(timed_out)
        assert result.state is RunState.FAILED
        assert result.failure is not None
        assert result.failure.category.value == "state_timeout"
        for run_id in (unrecorded, timed_out):
            await visible(client, run_id)
        assert stored(store, unrecorded) is None
        assert stored(store, timed_out) == ("PREPARING", 0)

        report = await reconcile(client, store, queue)
        assert report.rewritten == sorted([unrecorded, timed_out]), report
        assert (report.added, report.skipped, report.checked) == (1, {}, 2)
        assert stored(store, unrecorded) == (
            "COMPLETED",
            len((await runs.status(unrecorded)).transitions),
        )
        assert stored(store, timed_out) == ("FAILED", 3)  # INIT, PREPARING, FAILED
        with store() as session:
            row = get_run(session, timed_out)
            assert row is not None
            assert (row.failure_category, row.agent) == ("state_timeout", "init-deadline")


# ----------------------------------------------------------------- runs it cannot read


@workflow.defn(name=AGENT_RUN_WORKFLOW, sandboxed=False)
class ForeignAgentRun:
    """Another deployment's ``AgentRun`` (or this one's before an incompatible change): its
    history does not replay on this code, so no worker here can answer its status query."""

    @workflow.run
    async def run(self, request: RunRequest) -> str:
        workflow.upsert_search_attributes([SA_AGENT_STATE.value_set("EXECUTING")])
        return request.agent


async def test_reconcile_skips_runs_it_cannot_read_and_finishes(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    queue, idle_queue = new_queue(), new_queue()
    url = migrate_data_dir(tmp_path)
    async with Worker(client, task_queue=queue, workflows=[ForeignAgentRun]):
        foreign = f"foreign-{uuid.uuid4().hex[:8]}"
        await client.execute_workflow(
            AGENT_RUN_WORKFLOW, RunRequest(agent="echo"), id=foreign, task_queue=queue
        )
    # A run on a task queue no worker has ever polled: nothing can answer for it.
    waiting = await AgentRunClient(client, task_queue=idle_queue).start(
        RunRequest(agent="echo", input={"key": "k"})
    )
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        async with worker_on(client, tmp_path, queue) as runs:
            lagging = await runs.start(RunRequest(agent="echo", input={"key": "k"}))
            await runs.result(lagging)
            await wait_for_stored_state(sessions, lagging, "COMPLETED")
            lose_final_flush(sessions, lagging)
            await visible(client, foreign)
            await visible(client, lagging)

            report = await reconcile(client, sessions, queue)
            assert report.rewritten == [lagging]  # the sweep went on past the foreign run
            assert list(report.skipped) == [foreign]
            assert report.skipped[foreign].startswith("its status query failed: ")
            assert "Nondeterminism error" in report.skipped[foreign]
            assert "\n" not in report.skipped[foreign]
            assert (report.checked, report.skipped_count, report.in_step) == (2, 1, 0)
            assert stored(sessions, lagging) == ("COMPLETED", 4)

            await visible(client, waiting, closed=False)
            idle = await reconcile(client, sessions, idle_queue)
            assert idle.skipped == {
                waiting: f"no worker polls task queue {idle_queue!r} to answer its query"
            }
            assert stored(sessions, waiting) is None

            # The command names each skipped run on a line of its own, and still exits 0: the
            # sweep ran to its end (see agentrun.cli.reconcile).
            lose_final_flush(sessions, lagging)
            env = {
                "AGENTRUN_DATA_DIR": str(tmp_path),
                "AGENTRUN_TASK_QUEUE": queue,
                "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            }
            result = await asyncio.to_thread(
                CliRunner().invoke, app, ["reconcile", "--older-than", "0s"], env=env
            )
            assert result.exit_code == 0, result.stderr
            lines = result.stdout.splitlines()
            assert lines[0].startswith(f"checked 2 runs on task queue {queue!r}")
            assert lines[0].endswith("rewrote 1 (0 had no row), 0 in step, 1 skipped")
            assert lines[1:] == [
                f"  rewrote {lagging}",
                f"  skipped {foreign}: {report.skipped[foreign]}",
            ]
    finally:
        engine.dispose()
        await client.get_workflow_handle(waiting).terminate("test over")


# ----------------------------------------------------------------- safe beside live workers


async def test_a_stale_status_never_moves_a_record_back(
    temporal_env: WorkflowEnvironment, tmp_path: Path, db_url: str, store: Sessions
) -> None:
    """A sweep reads a run's status, then writes: a live worker's hand-over in between wins."""
    async with worker_on(temporal_env.client, tmp_path, new_queue(), database_url=db_url) as runs:
        run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "k"}))
        stale = await wait_for_review(runs, run_id)
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
        await runs.result(run_id)
        await wait_for_stored_state(store, run_id, "COMPLETED")
        final = stored(store, run_id)

        assert await asyncio.to_thread(write_if_behind, store, stale) is False
        assert stored(store, run_id) == final

        # Behind it, the same status is written.
        lose_final_flush(store, run_id)
        assert await asyncio.to_thread(write_if_behind, store, stale) is True
        assert stored(store, run_id) == ("REVIEWING", len(stale.transitions))
