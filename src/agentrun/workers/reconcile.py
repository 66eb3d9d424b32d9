"""Bring the run record back in line with Temporal, the source of truth.

Runs hand their record to the worker's write-behind writer rather than to an activity, so a
worker killed in the instant after a flush (or a store that was down for longer than the
writer's retries) leaves a run's row behind its workflow. Every flush carries the whole record,
so the next flush of the same run repairs it; this sweep repairs the runs that have no next
flush: it asks each run the store shows as unfinished for its status and rewrites the record
when they differ. Writing is idempotent, so running it twice, or beside live workers, is safe.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError

from agentrun.activities.record import status_rows
from agentrun.contracts.names import QUERY_STATUS
from agentrun.contracts.reconcile import ReconcileReport
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import TERMINAL_STATES
from agentrun.store.models import RunRow, TransitionRow
from agentrun.store.writer import Write, write_batch

DEFAULT_OLDER_THAN = timedelta(minutes=1)
DEFAULT_LIMIT = 1000


def unfinished_runs(
    session: Session, started_before: datetime, limit: int
) -> list[tuple[str, str, int]]:
    """(run id, stored state, stored transition count) of unfinished runs, oldest first."""
    counted = (
        select(col(TransitionRow.run_id), func.count().label("n"))
        .group_by(col(TransitionRow.run_id))
        .subquery()
    )
    rows = session.execute(
        select(col(RunRow.run_id), col(RunRow.state), func.coalesce(counted.c.n, 0))
        .outerjoin(counted, counted.c.run_id == RunRow.run_id)
        .where(col(RunRow.state).not_in([s.value for s in TERMINAL_STATES]))
        .where(col(RunRow.started_at) < started_before)
        .order_by(col(RunRow.started_at))
        .limit(limit)
    ).all()
    return [(run_id, state, int(n)) for run_id, state, n in rows]


async def reconcile(
    client: Client,
    sessions: Callable[[], Session],
    *,
    now: datetime,
    older_than: timedelta = DEFAULT_OLDER_THAN,
    limit: int = DEFAULT_LIMIT,
    dry_run: bool = False,
) -> ReconcileReport:
    """Rewrite the record of every unfinished stored run whose status in Temporal moved on."""
    with sessions() as session:
        candidates = unfinished_runs(session, now - older_than, limit)
    behind: list[RunStatus] = []
    unreachable: dict[str, str] = {}
    for run_id, state, transitions in candidates:
        try:
            status = await client.get_workflow_handle(run_id).query(
                QUERY_STATUS, result_type=RunStatus
            )
        except RPCError as err:
            unreachable[run_id] = err.message
            continue
        if status.state.value != state or len(status.transitions) != transitions:
            behind.append(status)
    if behind and not dry_run:
        with sessions() as session, session.begin():
            write_batch(session, [_write(status) for status in behind])
    return ReconcileReport(
        dry_run=dry_run,
        checked=len(candidates),
        rewritten=[status.run_id for status in behind],
        in_step=len(candidates) - len(behind) - len(unreachable),
        unreachable=unreachable,
    )


def _write(status: RunStatus) -> Write:
    run, items = status_rows(status)
    return Write(runs=[run], items=items)
