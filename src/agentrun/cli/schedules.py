"""The Temporal Schedules agentrun keeps beside its runs: the retention purge and the reconcile
sweep (``agentrun retention schedule``, ``agentrun reconcile schedule``, ``agentrun demo``).

One schedule of each per namespace, under a fixed id, so creating one is idempotent: it is
created, or an existing one gets the new spec and state. A scheduled workflow runs on the task
queue's workers, against their own store, and passes no ``now``: each run works relative to its
own start, as recorded in its history.
"""

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from agentrun.cli.common import CliError
from agentrun.contracts.names import RECONCILE_SCHEDULE_ID, RECONCILE_WORKFLOW
from agentrun.contracts.reconcile import ReconcileRequest

MIN_EVERY = timedelta(minutes=1)
RECONCILE_EVERY = timedelta(minutes=15)
RECONCILE_NOTE = "agentrun: rewrite run records that fell behind Temporal (agentrun reconcile)"


def interval_schedule(
    workflow: str,
    request: BaseModel,
    *,
    workflow_id: str,
    task_queue: str,
    every: timedelta,
    summary: str,
    note: str,
    paused: bool,
) -> Schedule:
    """Skip a run while the previous one still goes, and after an outage catch up once (one run
    covers every missed one). One still going after a whole interval has gone wrong: it times
    out and the next starts over."""
    if every < MIN_EVERY:
        raise ValueError(f"a {summary} every {every} is too often (at least {MIN_EVERY})")
    return Schedule(
        action=ScheduleActionStartWorkflow(
            workflow,
            request,
            id=workflow_id,
            task_queue=task_queue,
            execution_timeout=every,
            static_summary=summary,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
        state=ScheduleState(note=note, paused=paused),
    )


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> bool:
    """Create the schedule, or replace an existing one's spec and state; True if created.

    ``client`` must use the agentrun data converter (``agentrun.client.connect``): the schedule
    stores the workflow's argument as that converter encodes it.
    """
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        pass
    else:
        return True

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(replace)
    return False


def reconcile_schedule(
    task_queue: str,
    every: timedelta,
    *,
    request: ReconcileRequest | None = None,
    paused: bool = False,
) -> Schedule:
    """Each sweep covers the request's window (a day by default), far more than the interval: a
    run missed while the schedule was paused or its workers were down is still found."""
    return interval_schedule(
        RECONCILE_WORKFLOW,
        request or ReconcileRequest(),
        workflow_id=RECONCILE_SCHEDULE_ID,
        task_queue=task_queue,
        every=every,
        summary="reconcile sweep",
        note=RECONCILE_NOTE,
        paused=paused,
    )


async def ensure_reconcile_schedule(
    client: Client,
    task_queue: str,
    every: timedelta = RECONCILE_EVERY,
    *,
    request: ReconcileRequest | None = None,
    paused: bool = False,
) -> bool:
    """Create or update the reconcile schedule; True if created. ``request`` must leave ``now``
    unset: each sweep's window ends at its own start."""
    schedule = reconcile_schedule(task_queue, every, request=request, paused=paused)
    return await ensure_schedule(client, RECONCILE_SCHEDULE_ID, schedule)


async def next_action_at(client: Client, schedule_id: str, *, paused: bool) -> datetime | None:
    """When the schedule next starts its workflow (None while paused)."""
    if paused:
        return None
    info = (await client.get_schedule_handle(schedule_id).describe()).info
    return info.next_action_times[0] if info.next_action_times else None


async def delete_schedule(client: Client, schedule_id: str, what: str) -> None:
    """Delete a schedule, or say in one line that there is none."""
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CliError(f"there is no {what} schedule {schedule_id}") from None
        raise
