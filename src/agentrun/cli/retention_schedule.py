"""The Temporal Schedule that runs the retention purge (``RetentionPurge``) at a fixed interval.

One schedule per namespace, under a fixed id (see ``agentrun.cli.schedules``): ``agentrun
retention schedule`` and ``agentrun demo`` create it or bring it up to date. Its runs pass no
``now``: each purges relative to its own start, as recorded in its history.
"""

from datetime import timedelta

from temporalio.client import Client, Schedule

from agentrun.cli.schedules import MIN_EVERY, ensure_schedule, interval_schedule
from agentrun.contracts.names import RETENTION_PURGE_WORKFLOW, RETENTION_SCHEDULE_ID
from agentrun.contracts.retention import PurgeRequest

__all__ = ["DEFAULT_EVERY", "MIN_EVERY", "ensure_retention_schedule", "retention_schedule"]

DEFAULT_EVERY = timedelta(hours=24)
NOTE = "agentrun: purge run records past their retention (90 days / 7 years)"


def retention_schedule(task_queue: str, every: timedelta, *, paused: bool = False) -> Schedule:
    """A purge still going after a whole interval has gone wrong; the next one starts over."""
    return interval_schedule(
        RETENTION_PURGE_WORKFLOW,
        PurgeRequest(),
        workflow_id=RETENTION_SCHEDULE_ID,
        task_queue=task_queue,
        every=every,
        summary="retention purge",
        note=NOTE,
        paused=paused,
    )


async def ensure_retention_schedule(
    client: Client, task_queue: str, every: timedelta = DEFAULT_EVERY, *, paused: bool = False
) -> bool:
    """Create the schedule, or replace an existing one's spec and state; True if created."""
    return await ensure_schedule(
        client, RETENTION_SCHEDULE_ID, retention_schedule(task_queue, every, paused=paused)
    )
