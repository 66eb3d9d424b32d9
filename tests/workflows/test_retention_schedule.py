"""The retention purge on Temporal: the schedule starts ``RetentionPurge`` on the task queue, and
the session worker purges its own store. Against the real dev server and the worker's SQLite."""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import (
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from agentrun.cli.retention_schedule import ensure_retention_schedule
from agentrun.contracts.names import RETENTION_PURGE_WORKFLOW, RETENTION_SCHEDULE_ID
from agentrun.contracts.retention import PurgeRequest, PurgeResult
from agentrun.converter import DATA_CONVERTER
from agentrun.settings import Settings
from agentrun.store.audit import verify_chain
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import RunRow
from agentrun.workflows.retention import RetentionPurgeWorkflow
from tests.support.retention import Seeded, seed


@pytest.fixture
def store(settings: Settings) -> Iterator[Callable[[], Session]]:
    engine = make_engine(settings.effective_database_url())
    yield session_factory(engine)
    engine.dispose()


def seed_now(sessions: Callable[[], Session], prefix: str) -> Seeded:
    with sessions() as s, s.begin():
        return seed(s, datetime.now(UTC), prefix=f"{prefix}-{uuid.uuid4().hex[:6]}")


def present(sessions: Callable[[], Session], ids: Seeded) -> set[str]:
    wanted = ids.expired | ids.kept
    with sessions() as s:
        return {r for r in s.exec(select(RunRow.run_id)).all() if r in wanted}


async def started_workflow(handle: ScheduleHandle, timeout_s: float = 20.0) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        for action in (await handle.describe()).info.recent_actions:
            if isinstance(action.action, ScheduleActionExecutionStartWorkflow):
                return action.action.workflow_id
        await asyncio.sleep(0.2)
    raise TimeoutError(f"schedule {handle.id} started no workflow within {timeout_s:g} s")


async def test_the_schedule_purges_the_workers_store(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    store: Callable[[], Session],
) -> None:
    client = temporal_env.client
    ids = seed_now(store, "sched")
    assert present(store, ids) == ids.expired | ids.kept

    assert await ensure_retention_schedule(client, settings.task_queue) is True
    handle = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == (
            RETENTION_PURGE_WORKFLOW,
            settings.task_queue,
        )
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=24)]
        assert not described.schedule.state.paused

        await handle.trigger()
        workflow_id = await started_workflow(handle)
        assert workflow_id.startswith(RETENTION_SCHEDULE_ID)
        result = await client.get_workflow_handle(workflow_id, result_type=PurgeResult).result()
        assert not result.dry_run
        assert result.deleted["runs"] >= 2
        gone = {run for c in result.plan.classes for run in c.sample_run_ids}
        assert ids.expired <= gone
        assert present(store, ids) == ids.kept
        with store() as s:
            report = verify_chain(s)
        assert report.ok, report.message

        # Ensuring it again updates the one schedule in place.
        again = await ensure_retention_schedule(
            client, settings.task_queue, timedelta(hours=6), paused=True
        )
        assert again is False
        updated = (await handle.describe()).schedule
        assert [i.every for i in updated.spec.intervals] == [timedelta(hours=6)]
        assert updated.state.paused
    finally:
        await handle.delete()


async def test_the_workflow_runs_directly_dry_then_for_real(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    store: Callable[[], Session],
) -> None:
    client = temporal_env.client
    ids = seed_now(store, "direct")
    now = datetime.now(UTC)

    workflow_id = f"retention-test-{uuid.uuid4().hex[:8]}"

    async def purge(request: PurgeRequest) -> PurgeResult:
        result: PurgeResult = await client.execute_workflow(
            RETENTION_PURGE_WORKFLOW,
            request,
            id=workflow_id,
            task_queue=settings.task_queue,
            result_type=PurgeResult,
        )
        return result

    dry = await purge(PurgeRequest(dry_run=True, now=now))
    assert dry.dry_run
    assert dry.plan.now == now
    assert dry.deleted == {}
    business, legal = dry.plan.classes
    assert ids.old in business.sample_run_ids
    assert ids.ancient in legal.sample_run_ids
    assert present(store, ids) == ids.expired | ids.kept

    real = await purge(PurgeRequest(now=now))
    assert not real.dry_run
    assert real.deleted["runs"] == dry.plan.runs
    assert present(store, ids) == ids.kept

    # The workflow replays from its own history: nothing in it reads a clock or does I/O.
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    replayer = Replayer(workflows=[RetentionPurgeWorkflow], data_converter=DATA_CONVERTER)
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert replayed.replay_failure is None


def agentrun_cli(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AGENTRUN_"))}
    env.update(TEMPORAL_ADDRESS=address, AGENTRUN_TASK_QUEUE="retention-cli")
    return subprocess.run(
        [sys.executable, "-m", "agentrun.cli", "retention", "schedule", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


async def test_schedule_command_creates_updates_pauses_and_deletes(
    temporal_env: WorkflowEnvironment,
) -> None:
    address = temporal_env.client.service_client.config.target_host
    handle = temporal_env.client.get_schedule_handle(RETENTION_SCHEDULE_ID)
    try:
        created = await asyncio.to_thread(agentrun_cli, address, "--json")
        assert created.returncode == 0, created.stderr
        body = json.loads(created.stdout)
        assert (body["action"], body["every_s"], body["paused"]) == ("created", 86400, False)
        assert body["task_queue"] == "retention-cli"
        assert datetime.fromisoformat(body["next_purge_at"]) > datetime.now(UTC)

        paused = await asyncio.to_thread(agentrun_cli, address, "--every", "6h", "--pause")
        assert paused.returncode == 0, paused.stderr
        assert paused.stdout.strip() == (
            f"retention schedule {RETENTION_SCHEDULE_ID} updated: RetentionPurge every 6h 00m "
            "on task queue 'retention-cli'; paused"
        )
        schedule = (await handle.describe()).schedule
        assert schedule.state.paused
        assert [i.every for i in schedule.spec.intervals] == [timedelta(hours=6)]

        for args, expected in [
            (("--every", "soon"), "--every 'soon': use a duration such as 24h"),
            (("--every", "10s"), "is too often"),
            (("--pause", "--delete"), "choose one"),
        ]:
            bad = await asyncio.to_thread(agentrun_cli, address, *args)
            assert bad.returncode == 1, args
            [line] = bad.stderr.splitlines()
            assert line.startswith("error: ")
            assert expected in line

        deleted = await asyncio.to_thread(agentrun_cli, address, "--delete")
        assert deleted.returncode == 0, deleted.stderr
        assert deleted.stdout.strip() == f"retention schedule {RETENTION_SCHEDULE_ID} deleted"
        again = await asyncio.to_thread(agentrun_cli, address, "--delete")
        assert again.returncode == 1
        assert (
            again.stderr.strip() == f"error: there is no retention schedule {RETENTION_SCHEDULE_ID}"
        )
    finally:
        with contextlib.suppress(RPCError):
            await handle.delete()
