"""Code deploys with Worker Versioning, against a real Temporal dev server: a run started on one
build ends on it, while new runs start on the build made current after it; a run from before
versioning moves to the build current when it next wakes (docs/code-deploys.md).

Both builds are in-process workers with no workflow cache, so every workflow task goes through
the task queue and the server's routing decides which build takes it, not a sticky queue.
"""

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType, VersioningBehavior
from temporalio.testing import WorkflowEnvironment

from agentrun.cli import app as cli
from agentrun.cli.common import validation_message
from agentrun.cli.deploy import make_current
from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.settings import Settings
from agentrun.workers.deployment import deployment_config
from agentrun.workers.worker import AgentRunWorker, build_worker
from tests.support.waiting import eventually, wait_for_review

TOGETHER = (
    "AGENTRUN_DEPLOYMENT_NAME and AGENTRUN_BUILD_ID go together: set both (Worker Versioning) "
    "or neither"
)


def _settings_error(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(values)
    return validation_message(caught.value)


@pytest.mark.parametrize("values", [{"deployment_name": "agentrun"}, {"build_id": "b1"}])
def test_deployment_name_and_build_id_go_together(values: dict[str, str]) -> None:
    assert _settings_error(**values) == TOGETHER


def test_a_deployment_name_temporal_cannot_make_current_is_refused() -> None:
    message = _settings_error(deployment_name="agentrun.prod", build_id="b1")
    assert message == "deployment_name: 'agentrun.prod' must not contain '.' or ':'"


def test_without_a_deployment_the_worker_is_unversioned() -> None:
    assert deployment_config(Settings()) is None
    config = deployment_config(Settings(deployment_name="agentrun", build_id="b1"))
    assert config is not None
    assert config.use_worker_versioning is True
    assert (config.version.deployment_name, config.version.build_id) == ("agentrun", "b1")


def test_deploy_current_fails_in_one_line_without_a_deployment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AGENTRUN_DEPLOYMENT_NAME", raising=False)
    monkeypatch.delenv("AGENTRUN_BUILD_ID", raising=False)
    assert cli.run_cli(["deploy", "current", "--build-id", "b1"]) == 1
    monkeypatch.setenv("AGENTRUN_BUILD_ID", "b1")
    assert cli.run_cli(["deploy", "current"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error: --deployment: required (or set AGENTRUN_DEPLOYMENT_NAME)",
        f"error: invalid settings: {TOGETHER}",
    ]


# ----------------------------------------------------------------- against a real server


@asynccontextmanager
async def build_running(
    env: WorkflowEnvironment, settings: Settings, queue: str, version: tuple[str, str] | None
) -> AsyncIterator[AgentRunWorker]:
    """A worker of one build (None: unversioned), caching no run (see the module's docstring)."""
    deployment, build = version or (None, None)
    own = settings.model_copy(
        update={
            "task_queue": queue,
            "deployment_name": deployment,
            "build_id": build,
            "max_cached_workflows": 0,
        }
    )
    worker = build_worker(env.client, own)
    async with worker:
        yield worker


async def _tasks_by_build(env: WorkflowEnvironment, run_id: str) -> list[tuple[str, int]]:
    """(build id, versioning behaviour) of each completed workflow task, in history order."""
    return [
        (
            event.workflow_task_completed_event_attributes.deployment_version.build_id,
            event.workflow_task_completed_event_attributes.versioning_behavior,
        )
        async for event in env.client.get_workflow_handle(run_id).fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


async def _activities_by_build(env: WorkflowEnvironment, run_id: str) -> list[str]:
    """The build id of the worker that took each activity task, in history order."""
    return [
        event.activity_task_started_event_attributes.worker_version.build_id
        async for event in env.client.get_workflow_handle(run_id).fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]


async def _deploy_current_cli(env: WorkflowEnvironment, deployment: str, build: str) -> str:
    """``agentrun deploy current`` as an operator runs it, the names from the workers' settings."""
    environ = {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "AGENTRUN_DEPLOYMENT_NAME": deployment,
        "AGENTRUN_BUILD_ID": build,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentrun.cli",
        "deploy",
        "current",
        "--wait",
        "20s",
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode().strip()


async def test_a_run_ends_on_its_build_while_new_runs_start_on_the_next(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    deployment = f"agentrun-{uuid.uuid4().hex[:8]}"
    queue = f"versioning-{deployment}"
    runs = AgentRunClient(temporal_env.client, task_queue=queue)
    pinned = VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
    unversioned = VersioningBehavior.VERSIONING_BEHAVIOR_UNSPECIFIED

    # Before versioning: an unversioned worker parks a run in review, then goes away.
    async with build_running(temporal_env, settings, queue, None):
        legacy = await runs.start(RunRequest(agent="reviewed", input={"key": "legacy"}))
        await wait_for_review(runs, legacy)
    legacy_tasks = await _tasks_by_build(temporal_env, legacy)

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            build_running(temporal_env, settings, queue, (deployment, "a"))
        )
        # Started while no build is current, it waits for one. Its tool waits for approval; the
        # tool (an activity) and the answer come after.
        old = await runs.start(RunRequest(agent="gated", input={"key": "old"}))
        assert await _tasks_by_build(temporal_env, old) == []
        previous = await make_current(
            temporal_env.client, deployment, "a", identity="tests", wait=timedelta(seconds=20)
        )
        assert previous is None
        await wait_for_review(runs, old, kind="tool_approval")
        old_tasks = await _tasks_by_build(temporal_env, old)
        old_activities = await _activities_by_build(temporal_env, old)

        await stack.enter_async_context(
            build_running(temporal_env, settings, queue, (deployment, "b"))
        )
        said = await _deploy_current_cli(temporal_env, deployment, "b")
        assert said == (
            f"build b of {deployment} is current: new runs start on it; runs started on a stay "
            "there until they end (keep its workers running until then)"
        )

        new = await runs.start(RunRequest(agent="echo", input={"key": "new"}))
        assert (await runs.result(new)).state is RunState.COMPLETED
        new_tasks = await _tasks_by_build(temporal_env, new)
        assert new_tasks
        assert set(new_tasks) == {("b", pinned)}
        assert set(await _activities_by_build(temporal_env, new)) == {"b"}

        # The old run is still on build a, and visibility says so (docs/code-deploys.md).
        on_a = f"TemporalWorkerDeploymentVersion='{deployment}:a' AND ExecutionStatus='Running'"
        await eventually(lambda: temporal_env.client.count_workflows(on_a), lambda c: c.count == 1)
        for run_id in (old, legacy):
            await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
            assert (await runs.result(run_id)).state is RunState.COMPLETED

        # Approved after b became current, the old run still ended on a: its workflow code, and
        # the tool and model calls that came after the approval.
        after_review = (await _tasks_by_build(temporal_env, old))[len(old_tasks) :]
        assert after_review
        assert set(old_tasks + after_review) == {("a", pinned)}
        activities = (await _activities_by_build(temporal_env, old))[len(old_activities) :]
        assert len(activities) >= 2
        assert set(old_activities + activities) == {"a"}
        info = (await temporal_env.client.get_workflow_handle(old).describe()).raw_description
        versioning = info.workflow_execution_info.versioning_info
        assert (versioning.deployment_version.build_id, versioning.behavior) == ("a", pinned)
        # A run from before versioning moves to the build current when it next wakes, and
        # stays there.
        assert set(legacy_tasks) == {("", unversioned)}
        moved = (await _tasks_by_build(temporal_env, legacy))[len(legacy_tasks) :]
        assert moved
        assert set(moved) == {("b", pinned)}
