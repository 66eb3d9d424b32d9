"""``agentrun reconcile``: bring the run record back in line with Temporal, the source of truth.

The sweep itself (what it reads, what it trusts, what it skips) is
``agentrun.activities.reconcile``; here it runs once, from this process, against the store
and the task queue this command is given. ``agentrun reconcile schedule`` has the task queue's
workers run it on a Temporal Schedule instead, and every worker asks for one when it starts.

Exit codes: 0 when the sweep ran to its end, whatever it skipped; 1 when it could not run (a bad
option, Temporal or the store unreachable). A skipped run is named on its own line (and in
``--json``), but does not change the code: most skips (a run Temporal forgot, a run whose history
this code no longer replays) stay until the run leaves the window, and an exit code that fails
every sweep until then would teach cron and CI to ignore the failures that matter.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

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
from agentrun.cli.render import duration, stamp
from agentrun.cli.retention import parse_duration
from agentrun.cli.schedules import (
    RECONCILE_EVERY,
    delete_schedule,
    ensure_reconcile_schedule,
    next_action_at,
)
from agentrun.cli.store import (
    DatabaseUrlOpt,
    database_errors,
    require_current_schema,
    store_url,
)
from agentrun.contracts.names import RECONCILE_SCHEDULE_ID
from agentrun.contracts.reconcile import DEFAULT_LIMIT, ReconcileReport, ReconcileRequest
from agentrun.settings import Settings

reconcile_app = typer.Typer(
    help="Rewrite the store records of the task queue's runs that fell behind Temporal: now, or "
    "on a schedule (workers also sweep when they start). Runs it cannot read are named and "
    "skipped; exit 0 when the sweep ran to its end, 1 when it could not run.",
    invoke_without_command=True,
    no_args_is_help=False,
)

SinceOpt = Annotated[
    str,
    typer.Option(
        "--since",
        help="Look at the runs started or closed this long ago or less (30m, 24h, 7d, ...), "
        "besides every run the store shows as unfinished.",
    ),
]


@reconcile_app.callback()
@guarded
def reconcile(
    ctx: typer.Context,
    *,
    since: SinceOpt = "24h",
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Leave alone runs started or closed less than this long ago (30s, 5m, 1h, "
            "...): their record is still being written.",
        ),
    ] = "1m",
    limit: Annotated[
        int,
        typer.Option("--limit", min=1, help="At most this many runs from Temporal's visibility."),
    ] = DEFAULT_LIMIT,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the runs that lag; change nothing.")
    ] = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Find the task queue's runs in Temporal (and the store's unfinished ones) and rewrite the
    record of those the store lags. Runs it cannot read are named and skipped."""
    if ctx.invoked_subcommand is not None:
        return
    from agentrun.cli.common import open_client  # noqa: PLC0415
    from agentrun.store.db import make_engine, session_factory  # noqa: PLC0415

    request = ReconcileRequest(
        since=parse_duration("--since", since, "24h or 7d"),
        older_than=parse_duration("--older-than", older_than, "30s, 5m or 1h"),
        limit=limit,
        dry_run=dry_run,
        now=datetime.now(UTC),
    )
    settings = build_settings(address, namespace)
    url = store_url(database_url)

    async def run() -> ReconcileReport:
        client = await open_client(settings)
        engine = make_engine(url)
        try:
            from agentrun.activities.reconcile import sweep  # noqa: PLC0415 -- the store, lazily

            return await sweep(
                client.temporal,
                session_factory(engine),
                settings.task_queue,
                request,
                now=datetime.now(UTC),
            )
        finally:
            engine.dispose()

    with database_errors(url):
        require_current_schema(url)
        report = asyncio.run(run())
    if json_output:
        emit_json(report)
        return
    for line in report_lines(report, settings.task_queue):
        out.print(line, highlight=False, markup=False)


def report_lines(report: ReconcileReport, task_queue: str) -> list[str]:
    verb = "would rewrite" if report.dry_run else "rewrote"
    summary = (
        f"checked {report.checked} runs on task queue {task_queue!r} (started or closed "
        f"{stamp(report.window_start)} to {stamp(report.window_end)}, and the store's "
        f"unfinished runs): {verb} {report.rewritten_count} ({report.added} had no row), "
        f"{report.in_step} in step, {report.skipped_count} skipped"
    )
    lines = [summary]
    if report.truncated:
        lines.append("  more runs in the window than --limit: the oldest were not read")
    lines += [f"  {verb} {run_id}" for run_id in report.rewritten]
    if report.rewritten_count > len(report.rewritten):
        lines.append(f"  … and {report.rewritten_count - len(report.rewritten)} more")
    lines += [f"  skipped {run_id}: {why}" for run_id, why in report.skipped.items()]
    if report.skipped_count > len(report.skipped):
        lines.append(f"  … and {report.skipped_count - len(report.skipped)} more skipped")
    return lines


# ----------------------------------------------------------------- schedule


@reconcile_app.command("schedule")
@guarded
def reconcile_schedule(
    *,
    every: Annotated[
        str, typer.Option("--every", help="How often to sweep, e.g. 15m, 1h.")
    ] = "15m",
    since: SinceOpt = "24h",
    pause: Annotated[
        bool,
        typer.Option("--pause", help="Keep the schedule but stop sweeping (run again to resume)."),
    ] = False,
    delete: Annotated[bool, typer.Option("--delete", help="Delete the schedule.")] = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create or update the Temporal Schedule that starts Reconcile on the task queue.

    Workers on the task queue sweep its runs against their own store (AGENTRUN_DATABASE_URL).
    """
    if pause and delete:
        raise CliError("--pause and --delete: choose one")
    interval = parse_duration("--every", every, "15m or 1h") if not delete else RECONCILE_EVERY
    window = parse_duration("--since", since, "24h or 7d") if not delete else timedelta(hours=24)
    settings = build_settings(address, namespace)
    asyncio.run(_schedule(settings, interval, window, pause=pause, delete=delete, json=json_output))


async def _schedule(
    settings: Settings,
    every: timedelta,
    since: timedelta,
    *,
    pause: bool,
    delete: bool,
    json: bool,
) -> None:
    from agentrun.client import connect  # noqa: PLC0415 -- only this command talks to Temporal
    from agentrun.converter import data_converter  # noqa: PLC0415 -- as above

    client = await connect(
        settings.temporal_address,
        settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
    body: dict[str, object] = {"schedule_id": RECONCILE_SCHEDULE_ID}
    if delete:
        await delete_schedule(client, RECONCILE_SCHEDULE_ID, "reconcile")
        body["action"] = "deleted"
        message = f"reconcile schedule {RECONCILE_SCHEDULE_ID} deleted"
    else:
        try:
            created = await ensure_reconcile_schedule(
                client,
                settings.task_queue,
                every,
                request=ReconcileRequest(since=since),
                paused=pause,
            )
        except ValueError as err:
            raise CliError(f"--every: {err}") from None
        next_at = await next_action_at(client, RECONCILE_SCHEDULE_ID, paused=pause)
        body |= {
            "action": "created" if created else "updated",
            "every_s": every.total_seconds(),
            "since_s": since.total_seconds(),
            "paused": pause,
            "task_queue": settings.task_queue,
            "next_sweep_at": next_at.isoformat() if next_at else None,
        }
        state = "paused" if pause else f"next sweep {stamp(next_at)}"
        message = (
            f"reconcile schedule {RECONCILE_SCHEDULE_ID} {body['action']}: Reconcile every "
            f"{duration(every)} over the last {duration(since)} on task queue "
            f"{settings.task_queue!r}; {state}"
        )
    if json:
        emit_json(body)
    else:
        out.print(message, highlight=False, markup=False)
