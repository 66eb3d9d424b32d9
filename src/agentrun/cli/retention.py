"""``agentrun retention``: purge the run record past its retention, now or on a schedule.

``run`` works on the store alone (no Temporal needed), the same purge the scheduled
``RetentionPurge`` workflow runs; ``schedule`` creates, updates, pauses or deletes that schedule.
"""

import asyncio
import re
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

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
from agentrun.cli.retention_schedule import DEFAULT_EVERY, ensure_retention_schedule
from agentrun.cli.schedules import delete_schedule, next_action_at
from agentrun.cli.store import (
    DatabaseUrlOpt,
    database_errors,
    require_current_schema,
    store_url,
)
from agentrun.contracts.names import RETENTION_SCHEDULE_ID
from agentrun.contracts.retention import PurgePlan, PurgeRequest, PurgeResult
from agentrun.settings import Settings

retention_app = typer.Typer(
    help="Retention of the run record (90 days / 7 years): purge now, or on a Temporal Schedule.",
    no_args_is_help=True,
)

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_EVERY = re.compile(r"(\d+)([dhms])")


def parse_every(text: str) -> timedelta:
    """``24h``, ``30m``, ``1d12h``: what people write, rather than ISO 8601 durations."""
    value = text.strip().lower()
    parts = _EVERY.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise CliError(f"--every {text!r}: use a duration such as 24h, 30m or 1d12h")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


def parse_duration(option: str, text: str, example: str) -> timedelta:
    """``parse_every`` for any option, its error naming that option and a fitting example."""
    try:
        return parse_every(text)
    except CliError:
        raise CliError(f"{option} {text!r}: use a duration such as {example}") from None


def parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--now {text!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise CliError(f"--now {text!r} needs a timezone, e.g. {text}Z")
    return at


# ----------------------------------------------------------------- run


def plan_table(plan: PurgePlan, dry_run: bool) -> Table:
    what = "what would go (dry run)" if dry_run else "what went"
    table = Table(title=f"Retention purge at {stamp(plan.now)}: {what}", title_justify="left")
    table.add_column("class")
    table.add_column("expired before")
    columns = ("runs", "transitions", "tool calls", "model calls", "reviews", "messages", "policy")
    for column in columns:
        table.add_column(column, justify="right")
    table.add_column("audit events", justify="right")
    table.add_column("events waiting", justify="right")
    for c in plan.classes:
        table.add_row(
            c.retention_class.value,
            stamp(c.cutoff),
            str(c.runs),
            str(c.transitions),
            str(c.tool_calls),
            str(c.model_calls),
            str(c.reviews),
            str(c.messages),
            str(c.governance_events),
            str(c.audit_events),
            str(c.blocked_events),
        )
    return table


def result_lines(result: PurgeResult) -> list[str]:
    plan = result.plan
    would = "would go" if result.dry_run else "went"
    lines: list[str] = []
    for c in plan.classes:
        if c.sample_run_ids:
            more = c.runs - len(c.sample_run_ids)
            ids = ", ".join(c.sample_run_ids) + (f" and {more} more" if more else "")
            lines.append(f"{c.retention_class.value} runs that {would}: {ids}")
    if plan.through_seq is not None:
        anchored = "would be anchored" if result.dry_run else "is anchored"
        lines.append(
            f"audit chain: {plan.audit_events} events through seq {plan.through_seq} {would}; "
            f"the chain {anchored} there"
        )
    else:
        lines.append("audit chain: no event at its start has expired")
    if plan.blocked_events:
        lines.append(
            f"{plan.blocked_events} expired audit events wait behind seq {plan.blocked_by_seq}, "
            "which is kept longer"
        )
    if not result.dry_run:
        total = ", ".join(f"{n} {table}" for table, n in result.deleted.items())
        lines.append(f"deleted: {total}")
    return lines


@retention_app.command("run")
@guarded
def retention_run(
    *,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would go; change nothing.")
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Purge as of this time (ISO 8601 with a timezone) instead of the clock.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Purge runs and audit events past their retention from the store, in one transaction."""
    from agentrun.store.db import make_engine, session_factory  # noqa: PLC0415
    from agentrun.store.retention import PurgeRefused, carry_out  # noqa: PLC0415

    request = PurgeRequest(dry_run=dry_run, now=parse_now(now))
    url = store_url(database_url)
    with database_errors(url):
        require_current_schema(url)
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session, session.begin():
                result = carry_out(session, request)
        except PurgeRefused as err:
            raise CliError(f"--now: {err}") from None
        finally:
            engine.dispose()
    if json_output:
        emit_json(result)
        return
    out.print(plan_table(result.plan, result.dry_run))
    for line in result_lines(result):
        out.print(line, highlight=False, markup=False)


# ----------------------------------------------------------------- schedule


@retention_app.command("schedule")
@guarded
def retention_schedule(
    *,
    every: Annotated[
        str, typer.Option("--every", help="How often to purge, e.g. 24h, 6h, 1d12h.")
    ] = "24h",
    pause: Annotated[
        bool,
        typer.Option("--pause", help="Keep the schedule but stop purging (run again to resume)."),
    ] = False,
    delete: Annotated[bool, typer.Option("--delete", help="Delete the schedule.")] = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create or update the Temporal Schedule that starts RetentionPurge on the task queue.

    Workers on the task queue run the purge against their own store (AGENTRUN_DATABASE_URL).
    """
    if pause and delete:
        raise CliError("--pause and --delete: choose one")
    interval = parse_every(every) if not delete else DEFAULT_EVERY
    settings = build_settings(address, namespace)
    asyncio.run(_schedule(settings, interval, pause=pause, delete=delete, json_output=json_output))


async def _schedule(
    settings: Settings, every: timedelta, *, pause: bool, delete: bool, json_output: bool
) -> None:
    from agentrun.client import connect  # noqa: PLC0415 -- only this command talks to Temporal
    from agentrun.converter import data_converter  # noqa: PLC0415 -- as above

    client = await connect(
        settings.temporal_address,
        settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
    body: dict[str, object] = {"schedule_id": RETENTION_SCHEDULE_ID}
    if delete:
        await delete_schedule(client, RETENTION_SCHEDULE_ID, "retention")
        body["action"] = "deleted"
        message = f"retention schedule {RETENTION_SCHEDULE_ID} deleted"
    else:
        try:
            created = await ensure_retention_schedule(
                client, settings.task_queue, every, paused=pause
            )
        except ValueError as err:
            raise CliError(f"--every: {err}") from None
        next_at = await next_action_at(client, RETENTION_SCHEDULE_ID, paused=pause)
        body |= {
            "action": "created" if created else "updated",
            "every_s": every.total_seconds(),
            "paused": pause,
            "task_queue": settings.task_queue,
            "next_purge_at": next_at.isoformat() if next_at else None,
        }
        state = "paused" if pause else f"next purge {stamp(next_at)}"
        message = (
            f"retention schedule {RETENTION_SCHEDULE_ID} {body['action']}: RetentionPurge every "
            f"{duration(every)} on task queue {settings.task_queue!r}; {state}"
        )
    if json_output:
        emit_json(body)
    else:
        out.print(message, highlight=False, markup=False)
