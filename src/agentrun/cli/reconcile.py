"""``agentrun reconcile``: bring the run record back in line with Temporal, the source of truth.

Runs hand their record to the worker's write-behind writer rather than to an activity, so a
worker killed in the instant after a flush (or a store that was down for longer than the
writer's retries) leaves a run's row behind its workflow. Every flush carries the whole record,
so the next flush of the same run repairs it; this sweep repairs the runs that have no next
flush: it asks each run the store shows as unfinished for its status and rewrites the record
when they differ. Writing is idempotent, so running it twice, or beside live workers, is safe.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError

from agentrun.cli.common import (
    AddressOpt,
    CliError,
    JsonOpt,
    NamespaceOpt,
    build_settings,
    emit_json,
    guarded,
    out,
)
from agentrun.cli.retention import parse_every
from agentrun.cli.store import (
    DatabaseUrlOpt,
    database_errors,
    require_current_schema,
    store_url,
)
from agentrun.contracts.names import QUERY_STATUS
from agentrun.contracts.reconcile import ReconcileReport
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import TERMINAL_STATES
from agentrun.store.models import RunRow, TransitionRow
from agentrun.store.status import status_rows
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


async def reconcile_runs(
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


@guarded
def reconcile(
    *,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Only runs started at least this long ago (30s, 5m, 1h, ...): younger runs "
            "are still being written.",
        ),
    ] = "1m",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the runs that lag; change nothing.")
    ] = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Ask every unfinished run in the store for its status in Temporal; rewrite those behind."""
    from agentrun.cli.common import open_client  # noqa: PLC0415
    from agentrun.store.db import make_engine, session_factory  # noqa: PLC0415

    try:
        age = parse_every(older_than)
    except CliError:
        raise CliError(
            f"--older-than {older_than!r}: use a duration such as 30s, 5m or 1h"
        ) from None
    settings = build_settings(address, namespace)
    url = store_url(database_url)

    async def run() -> ReconcileReport:
        client = await open_client(settings)
        engine = make_engine(url)
        try:
            return await reconcile_runs(
                client.temporal,
                session_factory(engine),
                now=datetime.now(UTC),
                older_than=age,
                dry_run=dry_run,
            )
        finally:
            engine.dispose()

    with database_errors(url):
        require_current_schema(url)
        report = asyncio.run(run())
    if json_output:
        emit_json(report)
        return
    verb = "would rewrite" if report.dry_run else "rewrote"
    out.print(
        f"checked {report.checked} unfinished runs: {verb} {len(report.rewritten)}, "
        f"{report.in_step} in step, {len(report.unreachable)} unreachable",
        highlight=False,
    )
    for run_id in report.rewritten:
        out.print(f"  {verb} {run_id}", highlight=False, markup=False)
    for run_id, why in report.unreachable.items():
        out.print(f"  unreachable {run_id}: {why}", highlight=False, markup=False)
