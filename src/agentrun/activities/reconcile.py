"""The reconcile sweep: bring the run record back in line with Temporal, the source of truth.

Runs hand their record to the worker's write-behind writer rather than to an activity, so a
worker killed in the instant after a hand-over (or a store down for longer than the writer's
retries, or a worker without a store) leaves a run's row behind its workflow, or leaves no row.
Every hand-over carries the whole record, so a run's next one repairs it; this sweep repairs the
runs that have no next one. It is ``agentrun reconcile`` and, as an activity, the ``Reconcile``
workflow that a schedule and every starting worker run.

What it reads (``agentrun.activities.reconcile_temporal``): Temporal's visibility for the runs
on the task queue started or closed in the window, and the store's unfinished runs (any age). A
run whose stored state agrees with its ``AgentState`` search attribute is in step without asking
it: closed with the same state, or running in PREPARING or EXECUTING, which a run only hands over
when it next waits or ends. Only the rest are asked for their status; a run that cannot be asked
or written is skipped, named in the report with why, and the sweep goes on. Writing is
idempotent and never moves a record back (see :func:`write_if_behind`), so a sweep beside live
workers, or twice, is safe.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from agentrun.activities.reconcile_temporal import (
    Seen,
    by_id,
    chunks,
    in_window,
    one_line,
    statuses,
)
from agentrun.contracts.names import (
    ACTIVITY_RECONCILE,
    RECONCILE_STARTUP_ID,
    RECONCILE_WORKFLOW,
    ErrorType,
)
from agentrun.contracts.reconcile import MAX_LISTED, ReconcileReport, ReconcileRequest
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import TERMINAL_STATES, RunState
from agentrun.store.models import RunRow, TransitionRow
from agentrun.store.status import status_rows
from agentrun.store.writer import Write, write_batch

log = structlog.get_logger(__name__)

# A starting worker asks for a sweep this much later, of runs at least this old: a run its
# predecessor finished just before dying is then old enough to be looked at.
STARTUP_DELAY = timedelta(seconds=15)
STARTUP_SWEEP = ReconcileRequest(older_than=STARTUP_DELAY)
STARTUP_TIMEOUT = timedelta(minutes=30)
# What a running run's record shows until its next hand-over (waiting for a person, or the end).
_IN_FLIGHT = frozenset({RunState.PREPARING.value, RunState.EXECUTING.value})


@dataclass(frozen=True, slots=True)
class Stored:
    state: str
    transitions: int


# ----------------------------------------------------------------- the store


def _transitions() -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(col(TransitionRow.run_id) == col(RunRow.run_id))
        .correlate(RunRow)
        .scalar_subquery()
    )


def read_store(
    sessions: Callable[[], Session], run_ids: Sequence[str], cutoff: datetime, limit: int
) -> tuple[dict[str, Stored], dict[str, Stored]]:
    """(the stored runs among ``run_ids``, the unfinished runs started before ``cutoff``)."""
    counted = _transitions()
    known: dict[str, Stored] = {}
    with sessions() as session:
        for chunk in chunks(run_ids):
            rows = session.execute(
                select(col(RunRow.run_id), col(RunRow.state), counted).where(
                    col(RunRow.run_id).in_(chunk)
                )
            ).all()
            known |= {run_id: Stored(state, int(n)) for run_id, state, n in rows}
        unfinished = session.execute(
            select(col(RunRow.run_id), col(RunRow.state), counted)
            .where(col(RunRow.state).not_in([s.value for s in TERMINAL_STATES]))
            .where(col(RunRow.started_at) < cutoff)
            .order_by(col(RunRow.started_at))
            .limit(limit)
        ).all()
    return known, {run_id: Stored(state, int(n)) for run_id, state, n in unfinished}


def lags(status: RunStatus, stored: Stored | None) -> bool:
    """The store is behind ``status``; never when it holds more transitions (it moved on)."""
    if stored is None:
        return True
    held = len(status.transitions)
    return stored.transitions < held or (
        stored.transitions == held and stored.state != status.state.value
    )


def write_if_behind(sessions: Callable[[], Session], status: RunStatus) -> bool:
    """Write the run's record unless the store caught up since it was read; True if written.

    Checked in the writing transaction, the run's row locked (SQLite: the whole store, from
    ``BEGIN IMMEDIATE``): a live worker's hand-over that landed after the status was read holds
    more transitions and is kept, one that comes later waits and then writes over this.
    """
    run, items = status_rows(status)
    with sessions() as session, session.begin():
        row = session.execute(
            select(col(RunRow.state), _transitions(), col(RunRow.execution_id))
            .where(col(RunRow.run_id) == status.run_id)
            .with_for_update(of=RunRow)
        ).first()
        owner = row[2] if row is not None else None
        if owner is not None and status.execution_id not in (None, owner):
            # A later execution under a finished run's id was refused in PREPARING: the record
            # stays the first one's.
            raise ValueError(
                f"Temporal's latest execution ({status.execution_id}) is not the one the record "
                f"holds ({owner}): a second execution of this run id was refused"
            )
        if not lags(status, Stored(row[0], int(row[1])) if row is not None else None):
            return False
        write_batch(session, [Write(runs=[run], items=items)])
    return True


# ----------------------------------------------------------------- the sweep


async def sweep(
    client: Client,
    sessions: Callable[[], Session],
    task_queue: str,
    request: ReconcileRequest,
    *,
    now: datetime,
    progress: Callable[[], None] = lambda: None,
) -> ReconcileReport:
    """One sweep of the runs on ``task_queue`` in the window and the store's unfinished runs."""
    now = request.now or now
    start, cutoff = now - request.since, now - request.older_than
    runs: dict[str, Seen | str] = {}  # a run, or why it is skipped
    window, truncated = await in_window(client, task_queue, start, cutoff, request.limit)
    runs |= window
    stored, unfinished = await asyncio.to_thread(
        read_store, sessions, sorted(window), cutoff, request.limit
    )
    outside = [run_id for run_id in unfinished if run_id not in window]
    runs |= await by_id(client, outside, cutoff)
    stored |= {run_id: unfinished[run_id] for run_id in outside}

    skipped = {run_id: why for run_id, why in runs.items() if isinstance(why, str)}
    ask = {
        run_id: seen
        for run_id, seen in runs.items()
        if isinstance(seen, Seen) and not _agrees(seen, stored.get(run_id))
    }
    behind: list[RunStatus] = []
    for run_id, got in (await statuses(client, ask, progress)).items():
        if isinstance(got, str):
            skipped[run_id] = got
        elif lags(got, stored.get(run_id)):
            behind.append(got)
    rewritten: list[str] = []
    for status in behind:
        try:
            if request.dry_run or await asyncio.to_thread(write_if_behind, sessions, status):
                rewritten.append(status.run_id)
        except Exception as err:  # noqa: BLE001 -- one run's bad write must not end the sweep
            skipped[status.run_id] = f"its record could not be written: {one_line(err)}"
    rewritten.sort()
    return ReconcileReport(
        dry_run=request.dry_run,
        window_start=start,
        window_end=cutoff,
        checked=len(runs),
        queried=len(ask),
        in_step=len(runs) - len(rewritten) - len(skipped),
        rewritten=rewritten[:MAX_LISTED],
        rewritten_count=len(rewritten),
        added=sum(1 for run_id in rewritten if run_id not in stored),
        skipped=dict(sorted(skipped.items())[:MAX_LISTED]),
        skipped_count=len(skipped),
        truncated=truncated,
    )


def _agrees(seen: Seen, stored: Stored | None) -> bool:
    """In step by the search attribute alone: closed with the stored state, or running in a state
    whose record the run writes only at its next wait or its end."""
    if stored is None:
        return False
    if not seen.running:
        return seen.state == stored.state
    return seen.state in _IN_FLIGHT


# ----------------------------------------------------------------- on a worker


class ReconcileActivities:
    """``sessions`` None: the worker runs without a store (``store_enabled`` off)."""

    def __init__(self, sessions: sessionmaker[Session] | None) -> None:
        self._sessions = sessions

    @activity.defn(name=ACTIVITY_RECONCILE)
    async def sweep(self, request: ReconcileRequest) -> ReconcileReport:
        """Sweeps the runs on this worker's own task queue, against its own store."""
        if self._sessions is None:
            raise ApplicationError(
                "the run record store is disabled on this worker (AGENTRUN_STORE_ENABLED=false):"
                " there is nothing to reconcile",
                type=ErrorType.STORE_DISABLED,
                non_retryable=True,
            )
        queue = activity.info().task_queue
        report = await sweep(
            activity.client(),
            self._sessions,
            queue,
            request,
            now=datetime.now(UTC),
            progress=activity.heartbeat,
        )
        for run_id, why in report.skipped.items():
            log.warning("reconcile skipped a run", run_id=run_id, why=why)
        log.info(
            "reconcile sweep done",
            task_queue=queue,
            checked=report.checked,
            rewritten=report.rewritten_count,
            skipped=report.skipped_count,
            dry_run=report.dry_run,
        )
        return report


async def request_startup_sweep(client: Client, task_queue: str) -> None:
    """Ask for a sweep of the queue shortly after a worker starts: it repairs what a killed
    predecessor had not written, with no operator involved. One per queue (a fixed id): a later
    start replaces a sweep not yet done, so the one that runs covers every worker started before
    it (workers starting together pay for one). A failure only logs: it is a repair, never a
    reason not to run."""
    try:
        await client.start_workflow(
            RECONCILE_WORKFLOW,
            STARTUP_SWEEP,
            id=f"{RECONCILE_STARTUP_ID}-{task_queue}",
            task_queue=task_queue,
            start_delay=STARTUP_DELAY,
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            execution_timeout=STARTUP_TIMEOUT,
            static_summary="reconcile after a worker start",
        )
    except RPCError as err:
        log.warning("start-up reconcile not requested", task_queue=task_queue, error=one_line(err))
