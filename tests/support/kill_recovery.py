"""How long a run stalls when its worker is SIGKILLed, measured from history event times.

One scenario per moment of the kill: during a model call (the openai provider against the fake
server, whose first answer is delayed), during a tool call (``hang_read``), during a call of a
tool that may not be retried (``once_write``), and while the run waits for a review; and per
setup: a second worker already polling (``standby``, production), or a new worker started right
after the kill (``replace``). Workers are real ``agentrun worker`` subprocesses at their defaults
unless ``env`` says otherwise.

``python -m bench.kill_recovery`` repeats every scenario and publishes the figures
(docs/performance.md, "Recovery after a worker is killed"); tests/workflows/test_kill_recovery.py
runs single scenarios against a bound.
"""

import asyncio
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from temporalio.api.enums.v1 import EventType, PendingActivityState, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest
from agentrun.contracts.names import ACTIVITY_MODEL_CALL
from agentrun.contracts.runs import RunStatus
from tests.conftest import TEST_AGENT_MODULES
from tests.support.fake_openai import Canned, FakeOpenAI
from tests.support.kill_agents import HANG_S, calls
from tests.support.waiting import eventually, wait_for_review
from tests.support.worker_processes import identity_pid, kill, start_worker, stop, wait_polling

MOMENTS = ("model", "tool", "once", "review")
SETUPS = ("standby", "replace")
MODULES = (*TEST_AGENT_MODULES, "tests.support.kill_agents")
AGENTS = {"model": "kill-model", "tool": "kill-tool", "once": "kill-once", "review": "reviewed"}
TOOLS = {"tool": "hang_read", "once": "once_write"}
ACTIVITIES = {"model": ACTIVITY_MODEL_CALL, "tool": "tool.hang_read", "once": "tool.once_write"}


@dataclass(frozen=True)
class Stack:
    """What every scenario runs against; ``env`` is added to every worker's environment."""

    client: Client
    data_dir: Path
    fake: FakeOpenAI
    task_queue: str = "kill-recovery"
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.client.service_client.config.target_host

    def worker(self) -> subprocess.Popen[bytes]:
        env = {"OPENAI_BASE_URL": self.fake.url, "OPENAI_API_KEY": "sk-kill", **self.env}
        return start_worker(self.address, self.data_dir, self.task_queue, modules=MODULES, env=env)


@dataclass(frozen=True)
class Recovery:
    """One kill. ``progress_s``: from the kill to the run's next progress (the retried attempt's
    start; for ``once`` the call's failure; for ``review``, from sending the review to its being
    applied). ``resume_s``: from the end of that call to the run's next workflow task (a wait on
    the dead worker's sticky queue when it had the run cached; 0 for ``review``, where
    ``progress_s`` includes it)."""

    moment: str
    setup: str
    key: str  # the run's input, which names its calls' files (kill_agents.calls)
    offset_s: float
    cached: bool  # the killed worker had the run cached (its sticky queue)
    progress_s: float
    resume_s: float
    status: RunStatus
    retried_after: str = ""  # why the retried attempt ran: the previous attempt's failure

    @property
    def cost_s(self) -> float:
        return self.progress_s + self.resume_s


def _at(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime(tzinfo=UTC).timestamp()


ACTIVITY_ENDS = (
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
)


def _timeout_name(failure: Failure) -> str:
    """The timeout type in a failure or its first cause that has one ("heartbeat", ...)."""
    while not failure.HasField("timeout_failure_info") and failure.HasField("cause"):
        failure = failure.cause
    kind = failure.timeout_failure_info.timeout_type
    return TimeoutType.Name(kind).removeprefix("TIMEOUT_TYPE_").lower()


def _after_call(
    history: WorkflowHistory, killed_at: float, activity: str
) -> tuple[float, float, str]:
    """(progress_s, resume_s, why) for the ``activity`` call the kill interrupted.

    A retried activity's started event is written when the activity ends, with the last
    attempt's start time, its number and the failure that made it run."""
    events = list(history.events)
    scheduled = next(
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity
    )
    started = next(
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id == scheduled
    )
    end = next(
        i
        for i, e in enumerate(events)
        if e.event_type in ACTIVITY_ENDS and _scheduled_by(e) == scheduled
    )
    ended = events[end]
    attempt = started.activity_task_started_event_attributes.attempt
    if attempt > 1:  # retried: the run's next progress is the retried attempt's start
        progress_at = _at(started)
        failure = started.activity_task_started_event_attributes.last_failure
        reason = f"attempt {attempt} after a {_timeout_name(failure)} timeout"
    else:  # not retried (at most once): its failure is the run's next progress
        progress_at = _at(ended)
        failure = ended.activity_task_timed_out_event_attributes.failure
        reason = f"not retried: failed on a {_timeout_name(failure)} timeout"
    resumed = next(
        e for e in events[end:] if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    )
    return progress_at - killed_at, _at(resumed) - _at(ended), reason


def _scheduled_by(event: HistoryEvent) -> int:
    for attrs in (
        event.activity_task_completed_event_attributes,
        event.activity_task_failed_event_attributes,
        event.activity_task_timed_out_event_attributes,
    ):
        if attrs.scheduled_event_id:
            return attrs.scheduled_event_id
    return 0


async def _in_flight(stack: Stack, run_id: str, moment: str, key: str) -> int:
    """Once the call is under way (inside the tool, or the model's HTTP request received), the
    pid of the worker running it."""

    async def running() -> int | None:
        described = await stack.client.get_workflow_handle(run_id).describe()
        for pending in described.raw_description.pending_activities:
            if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                inside = (
                    bool(stack.fake.received)
                    if moment == "model"
                    else bool(calls(stack.data_dir, TOOLS[moment], key))
                )
                return identity_pid(pending.last_worker_identity) if inside else None
        return None

    pid = await eventually(running, lambda p: p is not None, timeout=60)
    assert pid is not None  # eventually checked it
    return pid


async def _sticky_owner(stack: Stack, run_id: str) -> int:
    """The worker that completed the run's last workflow task (and so has it cached)."""
    history = await stack.client.get_workflow_handle(run_id).fetch_history()
    done = [
        e.workflow_task_completed_event_attributes.identity
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    pid = identity_pid(done[-1])
    assert pid is not None  # the test workers use default identities
    return pid


async def _closed(stack: Stack, run_id: str) -> None:
    """Until the run has ended, asked with describe: a status query would make the server drop
    the dead worker's sticky queue for the run, and so hide what that queue costs it."""

    async def running() -> bool:
        described = await stack.client.get_workflow_handle(run_id).describe()
        return described.status == WorkflowExecutionStatus.RUNNING

    await eventually(running, lambda still: not still, timeout=90)


async def measure(stack: Stack, moment: str, setup: str, offset_s: float = 1.5) -> Recovery:
    """Run one scenario and wait for the run to end. ``standby``: two workers poll from the
    start, and the one running the call is killed (the run may be cached on either); ``replace``:
    the only worker is killed and a new one started right after. The kill comes ``offset_s``
    after the call is seen under way. For ``review``, the worker killed is the one that has the
    waiting run cached, and the review comes ``offset_s`` after the kill."""
    runs = AgentRunClient(stack.client, task_queue=stack.task_queue)
    workers = [stack.worker() for _ in range(2 if setup == "standby" else 1)]
    try:
        await wait_polling(stack.client, stack.task_queue, workers)
        key = f"kill-{uuid.uuid4().hex[:10]}"
        if moment == "model":
            stack.fake.reset()
            stack.fake.queue(Canned(delay_s=HANG_S))
        run_id = await runs.start(RunRequest(agent=AGENTS[moment], input={"key": key}))
        if moment == "review":
            await wait_for_review(runs, run_id, timeout=60)
            victim = await _sticky_owner(stack, run_id)
        else:
            victim = await _in_flight(stack, run_id, moment, key)
            await asyncio.sleep(offset_s)
        cached = await _sticky_owner(stack, run_id) == victim
        killed_at = kill(next(w for w in workers if w.pid == victim))
        if setup == "replace":
            workers.append(stack.worker())
        if moment == "review":
            await asyncio.sleep(offset_s)
            sent = time.time()
            await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
            progress, resume, why = time.time() - sent, 0.0, "review applied"
        await _closed(stack, run_id)
        if moment != "review":
            history = await stack.client.get_workflow_handle(run_id).fetch_history()
            progress, resume, why = _after_call(history, killed_at, ACTIVITIES[moment])
        status = await runs.status(run_id)
        return Recovery(moment, setup, key, offset_s, cached, progress, resume, status, why)
    finally:
        for worker in workers:
            stop(worker)
