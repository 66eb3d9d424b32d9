"""What a reconcile sweep reads from Temporal: the runs in its window and the unfinished runs'
ids from visibility, then the status of those it has to ask (``agentrun.activities.reconcile``).

Anything one run does (a query that fails to replay, times out, or names a run Temporal forgot)
comes back as why, in one line, never as an exception: one bad run must not end the sweep.
"""

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from agentrun.contracts.names import AGENT_RUN_WORKFLOW, QUERY_STATUS, SA_AGENT_STATE
from agentrun.contracts.runs import RunStatus

# A status query is answered by a worker replaying the run: one that hangs must not hold the
# sweep, and a few go at once (each is a worker's workflow task, not this process's work).
QUERY_TIMEOUT = timedelta(seconds=10)
QUERY_CONCURRENCY = 8
# Ids per visibility query and per store read.
ID_CHUNK = 200
GONE = "Temporal has no such run (removed by the namespace's retention?)"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Seen:
    """A run as Temporal's visibility shows it."""

    state: str | None
    running: bool
    task_queue: str


def one_line(err: BaseException | str, limit: int = 200) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(value: str) -> str | None:
    """A visibility query literal; None for a value that cannot be one safely."""
    return None if "'" in value or "\\" in value else f"'{value}'"


def chunks(items: Sequence[T], size: int = ID_CHUNK) -> Iterable[Sequence[T]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def _seen(execution: WorkflowExecution) -> Seen:
    return Seen(
        state=execution.typed_search_attributes.get(SA_AGENT_STATE),
        running=execution.status in (None, WorkflowExecutionStatus.RUNNING),
        task_queue=execution.task_queue,
    )


def _young(execution: WorkflowExecution, cutoff: datetime) -> bool:
    """Started or closed after the cutoff: its record may still be on its way."""
    return (execution.close_time or execution.start_time) >= cutoff


async def in_window(
    client: Client, task_queue: str, start: datetime, cutoff: datetime, limit: int
) -> tuple[dict[str, Seen], bool]:
    """The runs on ``task_queue`` started or closed in ``[start, cutoff)``; True if truncated."""
    queue = _quote(task_queue)
    if queue is None:
        raise ValueError(f"task queue {task_queue!r} cannot be named in a visibility query")
    since, until = (f"'{at.astimezone(UTC).isoformat()}'" for at in (start, cutoff))
    query = (
        f"WorkflowType = '{AGENT_RUN_WORKFLOW}' AND TaskQueue = {queue} AND StartTime < {until}"
        f" AND (StartTime >= {since} OR CloseTime >= {since})"
        # An execution that continued as new is not the run's state: its latest one is.
        " AND ExecutionStatus != 'ContinuedAsNew'"
    )
    runs: dict[str, Seen] = {}
    listed = 0
    async for execution in client.list_workflows(query, limit=limit + 1):
        listed += 1
        if listed > limit:
            return runs, True
        if not _young(execution, cutoff):
            runs.setdefault(execution.id, _seen(execution))
    return runs, False


async def by_id(client: Client, run_ids: Sequence[str], cutoff: datetime) -> dict[str, Seen | str]:
    """The runs as Temporal shows them, or why not; young ones left out."""
    found: dict[str, Seen | str] = {}
    quoted: list[str] = []
    for run_id in run_ids:
        literal = _quote(run_id)
        if literal is None:
            found[run_id] = "its id cannot be named in a visibility query"
        else:
            found[run_id] = GONE  # until visibility lists it
            quoted.append(literal)
    for chunk in chunks(quoted):
        query = f"WorkflowType = '{AGENT_RUN_WORKFLOW}' AND WorkflowId IN ({', '.join(chunk)})"
        latest: set[str] = set()
        async for execution in client.list_workflows(query):
            if execution.id in latest:  # the newest execution of an id comes first
                continue
            latest.add(execution.id)
            if _young(execution, cutoff):
                del found[execution.id]
            else:
                found[execution.id] = _seen(execution)
    return found


async def _polled(client: Client, task_queue: str) -> bool:
    """Whether any worker polls the queue: without one, every status query would time out."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        described = await client.workflow_service.describe_task_queue(request)
    except RPCError:
        return True  # unknown: let the queries say
    return bool(described.pollers)


async def status_of(client: Client, run_id: str) -> RunStatus | str:
    """The run's status, or why it cannot be had (one line)."""
    try:
        status: RunStatus = await client.get_workflow_handle(run_id).query(
            QUERY_STATUS, result_type=RunStatus, rpc_timeout=QUERY_TIMEOUT
        )
    except Exception as err:  # noqa: BLE001 -- whatever one run does, the sweep goes on
        return _unreadable(err)
    return status if status.transitions else "its status has no transitions yet"


def _unreadable(err: Exception) -> str:
    if isinstance(err, WorkflowQueryFailedError):
        return f"its status query failed: {one_line(err.message)}"
    if not isinstance(err, RPCError):
        return f"its status could not be read: {type(err).__name__}: {one_line(err)}"
    if err.status == RPCStatusCode.NOT_FOUND:
        return GONE
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED or "Timeout expired" in err.message:
        return f"no worker answered its status query within {QUERY_TIMEOUT.seconds} s"
    return f"its status query failed: {one_line(err.message)}"


async def statuses(
    client: Client, runs: dict[str, Seen], progress: Callable[[], None]
) -> dict[str, RunStatus | str]:
    """Each run's status, or why not. Runs on a queue no worker polls are not asked: each would
    only wait out the query's timeout. ``progress`` is called after each query (a heartbeat)."""
    idle = {q for q in {s.task_queue for s in runs.values()} if not await _polled(client, q)}
    gate = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def one(run_id: str, seen: Seen) -> tuple[str, RunStatus | str]:
        if seen.task_queue in idle:
            return run_id, f"no worker polls task queue {seen.task_queue!r} to answer its query"
        async with gate:
            got = await status_of(client, run_id)
        progress()
        return run_id, got

    return dict(await asyncio.gather(*(one(r, s) for r, s in runs.items())))
