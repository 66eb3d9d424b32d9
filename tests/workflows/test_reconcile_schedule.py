"""The reconcile sweep on Temporal: the schedule starts ``Reconcile`` on the task queue and a
worker there repairs its own store; ``agentrun reconcile schedule`` manages that schedule."""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from agentrun.cli.schedules import ensure_reconcile_schedule
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest
from agentrun.contracts.names import RECONCILE_SCHEDULE_ID, RECONCILE_WORKFLOW
from agentrun.contracts.reconcile import ReconcileReport, ReconcileRequest
from agentrun.converter import DATA_CONVERTER
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import RunRow
from agentrun.workers.worker import build_worker
from agentrun.workflows.reconcile import ReconcileWorkflow
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually, wait_for_stored_state


async def started_workflow(handle: ScheduleHandle, timeout_s: float = 20.0) -> str:
    async def actions() -> list[str]:
        return [
            action.action.workflow_id
            for action in (await handle.describe()).info.recent_actions
            if isinstance(action.action, ScheduleActionExecutionStartWorkflow)
        ]

    return (await eventually(actions, bool, timeout_s))[0]


async def test_the_schedule_repairs_the_workers_store(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    url = migrate_data_dir(tmp_path)
    queue = f"reconcile-schedule-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    engine = make_engine(url)
    sessions = session_factory(engine)
    handle = client.get_schedule_handle(RECONCILE_SCHEDULE_ID)
    try:
        async with build_worker(client, settings):
            runs = AgentRunClient(client, task_queue=queue)
            run_id = await runs.start(RunRequest(agent="echo", input={"key": "k"}))
            await runs.result(run_id)
            await wait_for_stored_state(sessions, run_id, "COMPLETED")
            with sessions() as session, session.begin():  # the final hand-over never landed
                session.execute(
                    update(RunRow).where(col(RunRow.run_id) == run_id).values(state="REVIEWING")
                )

            # Runs this young are still being written: only a test asks for them.
            request = ReconcileRequest(older_than=timedelta(0))
            assert await ensure_reconcile_schedule(client, queue, request=request) is True
            described = await handle.describe()
            action = described.schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            assert (action.workflow, action.task_queue) == (RECONCILE_WORKFLOW, queue)
            assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=15)]

            await eventually(  # the sweep finds the run through visibility
                lambda: _listed(client, run_id),
                lambda found: found == [WorkflowExecutionStatus.COMPLETED],
            )
            await handle.trigger()
            workflow_id = await started_workflow(handle)
            assert workflow_id.startswith(RECONCILE_SCHEDULE_ID)
            report = await client.get_workflow_handle(
                workflow_id, result_type=ReconcileReport
            ).result()
            assert (report.rewritten, report.skipped) == ([run_id], {})
            assert report.window_end > datetime.now(UTC) - timedelta(minutes=1)
            with sessions() as session:
                row = session.get(RunRow, run_id)
                assert row is not None
                assert row.state == "COMPLETED"

        # The workflow replays from its own history: its window's end is in it.
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        replayer = Replayer(workflows=[ReconcileWorkflow], data_converter=DATA_CONVERTER)
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert replayed.replay_failure is None
    finally:
        engine.dispose()
        with contextlib.suppress(RPCError):
            await handle.delete()


async def _listed(client: Client, run_id: str) -> list[WorkflowExecutionStatus | None]:
    return [e.status async for e in client.list_workflows(f"WorkflowId = '{run_id}'")]


def agentrun_cli(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AGENTRUN_"))}
    env.update(TEMPORAL_ADDRESS=address, AGENTRUN_TASK_QUEUE="reconcile-cli")
    return subprocess.run(
        [sys.executable, "-m", "agentrun.cli", "reconcile", "schedule", *args],
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
    handle = temporal_env.client.get_schedule_handle(RECONCILE_SCHEDULE_ID)
    try:
        created = await asyncio.to_thread(agentrun_cli, address, "--json")
        assert created.returncode == 0, created.stderr
        body = json.loads(created.stdout)
        assert (body["action"], body["every_s"], body["since_s"]) == ("created", 900, 86400)
        assert (body["paused"], body["task_queue"]) == (False, "reconcile-cli")
        assert datetime.fromisoformat(body["next_sweep_at"]) > datetime.now(UTC)

        paused = await asyncio.to_thread(
            agentrun_cli, address, "--every", "1h", "--since", "7d", "--pause"
        )
        assert paused.returncode == 0, paused.stderr
        assert paused.stdout.strip() == (
            f"reconcile schedule {RECONCILE_SCHEDULE_ID} updated: Reconcile every 1h 00m over "
            "the last 168h 00m on task queue 'reconcile-cli'; paused"
        )
        schedule = (await handle.describe()).schedule
        assert schedule.state.paused
        assert [i.every for i in schedule.spec.intervals] == [timedelta(hours=1)]
        action = schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        [request] = await DATA_CONVERTER.decode(list(action.args), [ReconcileRequest])
        assert request == ReconcileRequest(since=timedelta(days=7))

        for args, expected in [
            (("--every", "soon"), "--every 'soon': use a duration such as 15m or 1h"),
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
        assert deleted.stdout.strip() == f"reconcile schedule {RECONCILE_SCHEDULE_ID} deleted"
        again = await asyncio.to_thread(agentrun_cli, address, "--delete")
        assert again.returncode == 1
        assert again.stderr.strip() == (
            f"error: there is no reconcile schedule {RECONCILE_SCHEDULE_ID}"
        )
    finally:
        with contextlib.suppress(RPCError):
            await handle.delete()
