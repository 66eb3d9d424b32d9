"""The Temporal Schedule that runs the retention purge (``RetentionPurge``) at a fixed interval.

One schedule per namespace, under a fixed id, so creating it is idempotent: ``agentrun retention
schedule`` and ``agentrun demo`` create it or bring it up to date. Its runs pass no ``now``: each
purges relative to its own start, as recorded in its history.
"""

from datetime import timedelta

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

from agentrun.contracts.names import RETENTION_PURGE_WORKFLOW, RETENTION_SCHEDULE_ID
from agentrun.contracts.retention import PurgeRequest

DEFAULT_EVERY = timedelta(hours=24)
MIN_EVERY = timedelta(minutes=1)
NOTE = "agentrun: purge run records past their retention (90 days / 7 years)"


def retention_schedule(task_queue: str, every: timedelta, *, paused: bool = False) -> Schedule:
    """Skip a purge while the previous one still runs, and after an outage catch up once (one
    purge covers every missed one)."""
    if every < MIN_EVERY:
        raise ValueError(f"a retention purge every {every} is too often (at least {MIN_EVERY})")
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RETENTION_PURGE_WORKFLOW,
            PurgeRequest(),
            id=RETENTION_SCHEDULE_ID,
            task_queue=task_queue,
            # A purge still going after a whole interval has gone wrong; the next one starts over.
            execution_timeout=every,
            static_summary="retention purge",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
        state=ScheduleState(note=NOTE, paused=paused),
    )


async def ensure_retention_schedule(
    client: Client, task_queue: str, every: timedelta = DEFAULT_EVERY, *, paused: bool = False
) -> bool:
    """Create the schedule, or replace an existing one's spec and state; True if created.

    ``client`` must use the agentrun data converter (``agentrun.client.connect``): the schedule
    stores the workflow's argument as that converter encodes it.
    """
    schedule = retention_schedule(task_queue, every, paused=paused)
    try:
        await client.create_schedule(RETENTION_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        pass
    else:
        return True

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(RETENTION_SCHEDULE_ID).update(replace)
    return False
