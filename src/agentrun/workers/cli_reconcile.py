"""``agentrun reconcile``: rewrite the record of runs whose store row fell behind Temporal."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from agentrun.contracts.reconcile import ReconcileReport
from agentrun.workers.cli_common import (
    AddressOpt,
    CliError,
    JsonOpt,
    NamespaceOpt,
    build_settings,
    emit_json,
    guarded,
    out,
)
from agentrun.workers.cli_retention import parse_every
from agentrun.workers.cli_store import (
    DatabaseUrlOpt,
    database_errors,
    require_current_schema,
    store_url,
)


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
    from agentrun.store.db import make_engine, session_factory  # noqa: PLC0415
    from agentrun.workers.cli_common import open_client  # noqa: PLC0415
    from agentrun.workers.reconcile import reconcile as sweep  # noqa: PLC0415

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
            return await sweep(
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
