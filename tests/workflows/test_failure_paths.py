"""Every way a run can end badly leaves a status any worker can answer and a history that replays.

A status query on an ended run (``agentrun status``, ``agentrun reconcile``) replays the run's
history on whichever worker takes it: a failure the workflow does not replay the way it ran
makes the run unreadable. The runs are driven once for the module (``tests.support.
failure_runs``); their workers stop, and workers that cache no run (so every query replays),
and the plain Replayer, read them back.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from agentrun.client import AgentRunClient
from agentrun.contracts import FailureCategory, RunRequest, RunState
from agentrun.contracts.runs import RunStatus
from agentrun.converter import DATA_CONVERTER
from agentrun.settings import Settings
from agentrun.workers.worker import ISOLATED_RUNNER, build_worker, preload_phone_metadata
from agentrun.workflows.agent_run import AgentRunWorkflow
from tests.support import failure_runs
from tests.support.failure_agents import DEFINITION_BUG, EXECUTING_DEADLINE
from tests.support.failure_runs import Ending, ending

QUEUE = "failure-paths"
DRIVEN = failure_runs.ON_A_WORKER | failure_runs.RECORDED_EARLIER
ENDINGS: dict[str, Ending] = {
    **{name: end for name, (_, end) in DRIVEN.items()},
    **failure_runs.BEFORE_A_WORKER,
    **failure_runs.STORE_OUTAGE,
    **failure_runs.WORKER_OUTAGE,
    "init_deadline": ending(FailureCategory.STATE_TIMEOUT),
}


@pytest.fixture(scope="module")
async def ended(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[dict[str, str]]:
    """Each path's run, ended; meanwhile only workers without a cache serve their queues."""
    client = temporal_env.client
    staged = settings.model_copy(update={"task_queue": QUEUE})
    runs = AgentRunClient(client, task_queue=QUEUE)
    ids = await failure_runs.cancelled_before_a_worker(runs)
    ids["init_deadline"] = await runs.start(
        RunRequest(agent="init-deadline", input={"key": "late"})
    )
    await asyncio.sleep(1.5)  # INIT's deadline (1 s) passes before a worker takes the run up
    async with build_worker(client, staged):
        outages = asyncio.gather(
            failure_runs.store_outage(client, staged), failure_runs.worker_outage(client, staged)
        )
        driven = await asyncio.gather(*(drive(runs) for drive, _ in DRIVEN.values()))
        for run_id in list(ids.values()):
            await runs.result(run_id)
        store_outage, worker_outage = await outages
    ids |= dict(zip(DRIVEN, driven, strict=True)) | store_outage | worker_outage
    assert set(ids) == set(ENDINGS)
    async with AsyncExitStack() as stack:
        for queue in failure_runs.queues(QUEUE):
            cacheless = staged.model_copy(update={"task_queue": queue, "max_cached_workflows": 0})
            await stack.enter_async_context(build_worker(client, cacheless))
        yield ids


@pytest.fixture
def reader(temporal_env: WorkflowEnvironment) -> AgentRunClient:
    """What ``agentrun status`` asks through."""
    return AgentRunClient(temporal_env.client, task_queue=QUEUE)


async def _history(temporal_env: WorkflowEnvironment, run_id: str) -> WorkflowHistory:
    return await temporal_env.client.get_workflow_handle(run_id).fetch_history()


async def _replay(history: WorkflowHistory) -> None:
    preload_phone_metadata()  # as a worker does before running any workflow
    replayer = Replayer(
        workflows=[AgentRunWorkflow], data_converter=DATA_CONVERTER, workflow_runner=ISOLATED_RUNNER
    )
    await replayer.replay_workflow(history, raise_on_replay_failure=True)


def _failure(status: RunStatus) -> tuple[RunState, FailureCategory | None, str]:
    failure = status.failure
    return status.state, failure.category if failure else None, failure.message if failure else ""


@pytest.mark.parametrize("path", sorted(ENDINGS))
async def test_status_of_an_ended_run_from_a_worker_without_cache(
    ended: dict[str, str], reader: AgentRunClient, path: str
) -> None:
    status = await reader.status(ended[path])
    state, category, _ = _failure(status)
    assert (state, category) == (ENDINGS[path].state, ENDINGS[path].category)
    assert status.transitions[-1].target is state


@pytest.mark.parametrize("path", sorted(ENDINGS))
async def test_history_of_an_ended_run_replays(
    ended: dict[str, str], temporal_env: WorkflowEnvironment, path: str
) -> None:
    await _replay(await _history(temporal_env, ended[path]))


async def test_preparing_past_its_deadline_reads_back_as_it_ended(
    ended: dict[str, str], reader: AgentRunClient, temporal_env: WorkflowEnvironment
) -> None:
    """The outside report: runs started while the store was held failed ``state_timeout`` in
    PREPARING, and every status query on them then failed with a nondeterminism error (their
    local activity's timeout came back another shape on replay than live)."""
    run_id = ended["prepare_timeout"]
    history = await _history(temporal_env, run_id)
    completed = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    tasks = [e for e in history.events if e.event_type == completed]
    assert len(tasks) > 3  # PREPARING outlasted the task's timeout: the SDK heartbeated it
    status = await reader.status(run_id)
    assert _failure(status) == (
        RunState.FAILED,
        FailureCategory.STATE_TIMEOUT,
        "PREPARING did not finish before its deadline",
    )
    assert [t.target for t in status.transitions] == [
        RunState.INIT,
        RunState.PREPARING,
        RunState.FAILED,
    ]
    await _replay(history)


async def test_preparing_that_fails_for_good_fails_the_run(
    ended: dict[str, str], reader: AgentRunClient
) -> None:
    """A bug in the agent's definition, met in PREPARING: the run fails ``internal``, saying
    what broke, rather than its workflow failing while its status still shows PREPARING."""
    status = await reader.status(ended["prepare_crash"])
    assert _failure(status) == (
        RunState.FAILED,
        FailureCategory.INTERNAL,
        f"agent could not be prepared: {DEFINITION_BUG}",
    )


async def test_cancel_while_preparing_cancels_the_run(
    ended: dict[str, str], reader: AgentRunClient
) -> None:
    status = await reader.status(ended["cancelled_while_preparing"])
    assert [t.target for t in status.transitions] == [
        RunState.INIT,
        RunState.PREPARING,
        RunState.CANCELLED,
    ]


async def test_deadline_passed_before_a_tool_call_fails_the_run(
    ended: dict[str, str], reader: AgentRunClient
) -> None:
    """The model asked for a tool, and EXECUTING's deadline passed before the run could call
    it: the run fails ``state_timeout`` without calling it (capped by the negative time left,
    the call would have failed every workflow task of the run, which never ended)."""
    status = await reader.status(ended["executing_deadline_before_tool"])
    assert _failure(status) == (
        RunState.FAILED,
        FailureCategory.STATE_TIMEOUT,
        f"EXECUTING exceeded its deadline of {EXECUTING_DEADLINE}",
    )
    assert status.tool_calls == []
    assert status.usage.model_calls == 1
