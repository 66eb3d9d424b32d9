"""Runs that end on each failure path of PREPARING, EXECUTING and REVIEWING.

Driven the same way for the replay corpus (``tests.support.record_histories``) and for the
status checks of ``tests/workflows/test_failure_paths.py``: every path a run can end on must
replay, since a status query on an ended run (``agentrun status``, ``agentrun reconcile``)
replays its history on whichever worker answers it.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState
from temporalio.client import Client

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, FailureCategory, ReviewDecision, RunRequest, RunState
from agentrun.contracts.names import ACTIVITY_MODEL_CALL, ACTIVITY_PREPARE_RUN, tool_activity_name
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker
from agentrun.workflows.options import PREPARE_TIMEOUT
from tests.support.failure_agents import EXECUTING_DEADLINE, PAUSE, PAUSE_TOOL
from tests.support.fake_openai import Canned, FakeOpenAI, completion
from tests.support.store import held_exclusively, migrate_data_dir
from tests.support.waiting import eventually, wait_for_approval, wait_for_review

Drive = Callable[[AgentRunClient], Awaitable[str]]


@dataclass(frozen=True)
class Ending:
    """How a path ends a run: the state and failure category its status must show."""

    state: RunState
    category: FailureCategory


def ending(category: FailureCategory) -> Ending:
    cancelled = category is FailureCategory.CANCELLED
    return Ending(RunState.CANCELLED if cancelled else RunState.FAILED, category)


async def finished(runs: AgentRunClient, request: RunRequest) -> str:
    run_id = await runs.start(request)
    await runs.result(run_id)
    return run_id


def ends(agent: str, **input_: object) -> Drive:
    """A run that ends on its own, without anyone's decision."""
    return lambda runs: finished(runs, RunRequest(agent=agent, input=input_))


def reviewed(agent: str, tool: str | None, decision: Decision | None) -> Drive:
    """A run that waits for a person (its answer, or ``tool``'s call), who then decides; no
    decision: the caller cancels the run instead."""

    async def drive(runs: AgentRunClient) -> str:
        run_id = await runs.start(RunRequest(agent=agent, input={"key": "r"}))
        if tool is None:
            await wait_for_review(runs, run_id)
        else:
            await wait_for_approval(runs, run_id, tool)
        if decision is None:
            await runs.cancel(run_id)
        else:
            await runs.review(run_id, ReviewDecision(decision=decision, reviewer="alice"))
        await runs.result(run_id)
        return run_id

    return drive


# Paths a worker drives from start to end: name -> (how, how it ends). The name is the
# history's file name in tests/histories.
ON_A_WORKER: dict[str, tuple[Drive, Ending]] = {
    "unknown_agent": (ends("no-such-agent"), ending(FailureCategory.INVALID_INPUT)),
    "prepare_crash": (ends("broken-input", key="b"), ending(FailureCategory.INTERNAL)),
    "policy_denied": (
        ends("triage-deny", customer_id="c-7"),
        ending(FailureCategory.POLICY_DENIED),
    ),
    "tool_permanent_error": (ends("strict", key="p"), ending(FailureCategory.TOOL_ERROR_PERMANENT)),
    "tool_retries_exhausted": (
        ends("flaky-exhausted", key="x"),
        ending(FailureCategory.TOOL_ERROR_EXHAUSTED),
    ),
    "answer_contract_violation": (
        ends("typed-output-broken", key="v"),
        ending(FailureCategory.CONTRACT_VIOLATION),
    ),
    "model_error": (ends("model-error", key="m"), ending(FailureCategory.MODEL_ERROR)),
    "budget_exceeded": (ends("long", key="s"), ending(FailureCategory.BUDGET_EXCEEDED)),
    "review_rejected": (
        reviewed("reviewed", None, Decision.REJECT),
        ending(FailureCategory.REVIEW_REJECTED),
    ),
    "tool_approval_rejected": (
        reviewed("gated", "gated_write", Decision.REJECT),
        ending(FailureCategory.REVIEW_REJECTED),
    ),
    "review_timeout": (ends("timeout-reject", key="t"), ending(FailureCategory.REVIEW_TIMEOUT)),
    "cancelled_while_reviewing": (
        reviewed("reviewed", None, None),
        ending(FailureCategory.CANCELLED),
    ),
}

# Paths whose histories were recorded before this module (tests.support.record_histories
# records them with the rest of its scenarios): driven here for the status checks only.
RECORDED_EARLIER: dict[str, tuple[Drive, Ending]] = {
    "invalid_input": (ends("refund", order_id="x"), ending(FailureCategory.INVALID_INPUT)),
    "looping": (ends("looping", key="h"), ending(FailureCategory.LOOP_DETECTED)),
    "malformed": (ends("malformed", key="h"), ending(FailureCategory.CONTRACT_VIOLATION)),
    "escalation_timeout": (
        ends("timeout-escalate", key="h"),
        ending(FailureCategory.REVIEW_TIMEOUT),
    ),
}

# Paths that need something of the world besides a worker (see their drivers below).
BEFORE_A_WORKER = {
    "cancelled_before_a_worker": ending(FailureCategory.CANCELLED),
}
STORE_OUTAGE = {
    "prepare_timeout": ending(FailureCategory.STATE_TIMEOUT),
    "cancelled_while_preparing": ending(FailureCategory.CANCELLED),
}
WORKER_OUTAGE = {
    "executing_deadline": ending(FailureCategory.STATE_TIMEOUT),
    "executing_deadline_before_tool": ending(FailureCategory.STATE_TIMEOUT),
}


def queues(task_queue: str) -> tuple[str, ...]:
    """The task queues the runs of these paths are on, when driven from ``task_queue``."""
    return (task_queue, f"{task_queue}-store-outage", f"{task_queue}-worker-outage")


async def cancelled_before_a_worker(runs: AgentRunClient) -> dict[str, str]:
    """Start and cancel a run on a queue no worker serves yet; the caller then starts one."""
    run_id = await runs.start(RunRequest(agent="echo", input={"key": "early"}))
    await runs.cancel(run_id)
    return {"cancelled_before_a_worker": run_id}


async def _running(client: Client, run_id: str, activity: str) -> None:
    """Until a worker runs ``activity`` for the run (a local activity shows as the run's
    started workflow task instead: it runs inside one)."""

    async def described() -> bool:
        raw = (await client.get_workflow_handle(run_id).describe()).raw_description
        if activity == ACTIVITY_PREPARE_RUN:
            task = raw.pending_workflow_task
            return task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
        return any(
            a.activity_type.name == activity
            and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for a in raw.pending_activities
        )

    await eventually(described, bool)


@contextmanager
def store_lock(settings: Settings) -> Iterator[None]:
    """Hold the SQLite store from another connection, exclusively, as a backup or a VACUUM in
    another process would: every write and every read of the worker waits (SQLite's busy
    timeout), then fails."""
    path = make_url(settings.effective_database_url()).database
    assert path is not None
    with held_exclusively(path):
        yield


async def store_outage(client: Client, settings: Settings) -> dict[str, str]:
    """Runs started while the store is held exclusively past PREPARING's deadline.

    PREPARING (a local activity) reads the store for the agent's rate-limit rule: each attempt
    waits out the busy timeout and fails, the retry outlasts the activity's deadline (and the
    workflow task's timeout: the SDK heartbeats the task meanwhile), and the run fails
    ``state_timeout``. A second run is cancelled while its PREPARING waits. The store is a store
    of their own: the lock must hold up nothing else.
    """
    queue = queues(settings.task_queue)[1]
    staged = settings.model_copy(
        update={"task_queue": queue, "data_dir": settings.data_dir / "store-outage"}
    )
    migrate_data_dir(staged.data_dir)
    runs = AgentRunClient(client, task_queue=queue)
    limited = {"customer_id": "c-1"}
    async with build_worker(client, staged):
        with store_lock(staged):
            timed_out = await runs.start(RunRequest(agent="triage-limited", input=limited))
            cancelled = await runs.start(RunRequest(agent="triage-limited", input=limited))
            await _running(client, cancelled, ACTIVITY_PREPARE_RUN)
            await runs.cancel(cancelled)
            await runs.result(cancelled)
            await asyncio.wait_for(runs.result(timed_out), PREPARE_TIMEOUT.total_seconds() + 30)
    return {"prepare_timeout": timed_out, "cancelled_while_preparing": cancelled}


async def worker_outage(client: Client, settings: Settings) -> dict[str, str]:
    """Runs whose EXECUTING deadline passes while no worker runs them: their worker stops while
    an activity of theirs runs (it still finishes), and the next comes after the deadline.

    One run waits for a tool (the deadline passes before its next step); the other, on a model
    it chose for itself, waits for the model, whose answer asks for a tool (the deadline passes
    before that tool's call).
    """
    queue = queues(settings.task_queue)[2]
    staged = settings.model_copy(update={"task_queue": queue})
    runs = AgentRunClient(client, task_queue=queue)
    with FakeOpenAI() as server:
        environ = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-failure-paths"}
        asks = ((PAUSE_TOOL, '{"key": "slow-model"}'),)
        server.queue(Canned(body=completion(tool_calls=asks), delay_s=PAUSE.total_seconds()))
        async with build_worker(client, staged, environ=environ):
            between_steps = await runs.start(
                RunRequest(agent="executing-deadline", input={"key": "gap"})
            )
            before_tool = await runs.start(
                RunRequest(
                    agent="executing-deadline",
                    input={"key": "slow-model"},
                    model="openai:gpt-4o-mini",
                )
            )
            await _running(client, between_steps, tool_activity_name(PAUSE_TOOL))
            await _running(client, before_tool, ACTIVITY_MODEL_CALL)
        # No state to wait for: what must pass is the deadline itself, with no worker running.
        await asyncio.sleep((EXECUTING_DEADLINE + timedelta(seconds=0.5)).total_seconds())
        async with build_worker(client, staged, environ=environ):
            for run_id in (between_steps, before_tool):
                await asyncio.wait_for(runs.result(run_id), 30)
    return {"executing_deadline": between_steps, "executing_deadline_before_tool": before_tool}
