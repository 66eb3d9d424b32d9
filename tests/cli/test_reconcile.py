"""``agentrun reconcile`` repairs a run record that fell behind its workflow.

The loss is made real, not mocked: the finished run's row is set back to EXECUTING and its last
transitions deleted, as if the worker had died before its writer flushed the final record.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlmodel import col
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from agentrun.cli.app import app
from agentrun.cli.reconcile import reconcile_runs as reconcile
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.contracts.reconcile import ReconcileReport
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import RunRow, TransitionRow
from agentrun.store.queries import get_run, list_transitions
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_stored_state


@pytest.fixture
async def finished_run(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[AgentRunClient, Settings, str]]:
    url = migrate_data_dir(tmp_path)
    queue = f"reconcile-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    runs = AgentRunClient(temporal_env.client, task_queue=queue)
    async with build_worker(temporal_env.client, settings):
        run_id = await runs.start(RunRequest(agent="echo", input={"key": "k"}))
        assert (await runs.result(run_id)).state is RunState.COMPLETED
        engine = make_engine(url)
        sessions = session_factory(engine)
        await wait_for_stored_state(sessions, run_id, "COMPLETED")
        with sessions() as session, session.begin():  # the final flush never happened
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
        engine.dispose()
        yield runs, settings, run_id  # the worker stays up: queries replay on it


def _stored(settings: Settings, run_id: str) -> tuple[str, int]:
    engine = make_engine(settings.effective_database_url())
    try:
        with session_factory(engine)() as session:
            row = get_run(session, run_id)
            assert row is not None
            return row.state, len(list_transitions(session, run_id))
    finally:
        engine.dispose()


async def test_reconcile_rewrites_a_run_whose_final_flush_was_lost(
    finished_run: tuple[AgentRunClient, Settings, str],
) -> None:
    runs, settings, run_id = finished_run
    status = await runs.status(run_id)
    assert _stored(settings, run_id) == ("EXECUTING", 2)
    engine = make_engine(settings.effective_database_url())
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    try:
        # Too young to look at: a run in flight is still being written.
        young = await reconcile(runs.temporal, sessions, now=now, older_than=timedelta(hours=1))
        assert young.checked == 0

        dry = await reconcile(
            runs.temporal, sessions, now=now, older_than=timedelta(0), dry_run=True
        )
        assert dry.rewritten == [run_id]
        assert _stored(settings, run_id) == ("EXECUTING", 2)

        done = await reconcile(runs.temporal, sessions, now=now, older_than=timedelta(0))
        assert (done.checked, done.rewritten, done.unreachable) == (1, [run_id], {})
        assert _stored(settings, run_id) == ("COMPLETED", len(status.transitions))

        again = await reconcile(runs.temporal, sessions, now=now, older_than=timedelta(0))
        assert again.checked == 0  # finished runs are not looked at again
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
    bad = runner.invoke(app, ["reconcile", "--older-than", "soon"], env=env)
    assert bad.exit_code == 1
    assert "--older-than 'soon'" in bad.stderr

    # CliRunner runs in this process and its event loop is busy: run the sweep in a thread.
    result = await asyncio.to_thread(
        runner.invoke, app, ["reconcile", "--older-than", "0s", "--json"], env=env
    )
    assert result.exit_code == 0, result.stderr
    report = ReconcileReport.model_validate_json(result.stdout)
    assert report.rewritten == [run_id]
    assert _stored(settings, run_id)[0] == "COMPLETED"
