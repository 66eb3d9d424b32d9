"""``agentrun faults``: fault-injection drills on real runs, set and cleared with who and when.

A drill makes one agent's tool fail, slow down or break its contract at a rate, so a team sees
its retries, fallbacks, alerts and rollbacks work before an outage tests them. Workers read the
drills from the run store within a few seconds; each set and clear is an audit event.
"""

import getpass
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from agentrun.cli.common import (
    ByOpt,
    CliError,
    JsonOpt,
    build_settings,
    emit_json,
    guarded,
    local_registry,
    out,
)
from agentrun.cli.retention import parse_duration
from agentrun.cli.store import database_errors, require_current_schema
from agentrun.contracts.faults import FaultMode, FaultRule

if TYPE_CHECKING:
    from sqlmodel import Session

faults_app = typer.Typer(
    help="Fault-injection drills: make a tool fail, slow down or break its contract.",
    no_args_is_help=True,
)


@contextmanager
def _session(*, write: bool) -> Iterator["Session"]:
    """A session on this installation's store (its errors one line each), committed on exit
    when ``write``."""
    from agentrun.store.db import make_engine, session_factory  # noqa: PLC0415 -- lazy

    url = build_settings().effective_database_url()
    with database_errors(url):
        require_current_schema(url)
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                if write:
                    with session.begin():
                        yield session
                else:
                    yield session
        finally:
            engine.dispose()


def _check_target(agent: str, tool: str, version: str | None) -> None:
    """The agent, version and tool must exist here: a drill on a typo would rehearse nothing."""
    registry = local_registry()
    if agent not in registry.agent_names():
        known = ", ".join(registry.agent_names()) or "none"
        raise CliError(f"--agent {agent!r}: unknown agent; known: {known}")
    versions = [version] if version else registry.versions(agent)
    for name in versions:
        if name not in registry.versions(agent):
            known = ", ".join(registry.versions(agent))
            raise CliError(f"--version {name!r}: {agent} has no such version; known: {known}")
        tools = [t.name for t in registry.resolve(agent, name).spec.tools]
        if tool in tools:
            return
    raise CliError(f"--tool {tool!r}: {agent} has no such tool")


@faults_app.command("set")
@guarded
def faults_set(
    *,
    agent: Annotated[str, typer.Option("--agent", help="The agent.", show_default=False)],
    tool: Annotated[str, typer.Option("--tool", help="The tool to fail.", show_default=False)],
    mode: Annotated[
        FaultMode, typer.Option("--mode", help="error, slow or malformed.", show_default=False)
    ],
    rate: Annotated[
        float, typer.Option("--rate", min=0.0, max=1.0, help="Share of attempts hit, 0-1.")
    ],
    version: Annotated[str | None, typer.Option("--version", help="Only this version.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
    delay: Annotated[float, typer.Option("--delay", help="Seconds a slow call waits.")] = 5.0,
    for_: Annotated[
        str | None, typer.Option("--for", help="Ends by itself after this long (e.g. 10m).")
    ] = None,
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Inject a fault into AGENT's TOOL calls at RATE, until cleared or for --for."""
    from agentrun.store.faults import add_fault  # noqa: PLC0415 -- lazy

    if rate <= 0:
        raise CliError("--rate: must be above 0 (clear the drill to stop it)")
    _check_target(agent, tool, version)
    now = datetime.now(UTC)
    rule = FaultRule(
        fault_id=f"f-{uuid.uuid4().hex[:8]}",
        agent=agent,
        tool=tool,
        mode=mode,
        rate=rate,
        version=version,
        tenant_id=tenant,
        delay_s=delay,
        created_by=by or getpass.getuser(),
        created_at=now,
        until=now + parse_duration("--for", for_, "10m or 1h") if for_ else None,
    )
    with _session(write=True) as session:
        add_fault(session, rule)
    if json_output:
        emit_json(rule)
        return
    scope = (
        f"{agent}" + (f"@{version}" if version else "") + (f" tenant {tenant}" if tenant else "")
    )
    until = f" until {rule.until:%Y-%m-%d %H:%M:%S} UTC" if rule.until else " until cleared"
    out.print(
        f"fault {rule.fault_id}: {tool} of {scope} -> {mode} on {rate:.0%} of attempts{until} "
        f"(set by {rule.created_by}); stop it with: agentrun faults clear {rule.fault_id}",
        highlight=False,
        markup=False,
    )


@faults_app.command("list")
@guarded
def faults_list(*, json_output: JsonOpt = False) -> None:
    """The drills in force."""
    from agentrun.store.faults import live_faults  # noqa: PLC0415 -- lazy

    with _session(write=False) as session:
        rules = live_faults(session, datetime.now(UTC))
    if json_output:
        emit_json([rule.model_dump(mode="json") for rule in rules])
        return
    if not rules:
        out.print("no fault drills in force", highlight=False)
    for r in rules:
        until = f"{r.until:%H:%M:%S} UTC" if r.until else "cleared"
        out.print(
            f"{r.fault_id}  {r.agent}{'@' + r.version if r.version else ''}  {r.tool}  "
            f"{r.mode} {r.rate:.0%}  until {until}  by {r.created_by}",
            highlight=False,
            markup=False,
        )


@faults_app.command("clear")
@guarded
def faults_clear(
    fault_id: Annotated[
        str | None, typer.Argument(help="The drill to stop (all, with --all).", show_default=False)
    ] = None,
    *,
    all_: Annotated[bool, typer.Option("--all", help="Stop every drill.")] = False,
    by: ByOpt = None,
) -> None:
    """Stop a drill (or all of them); workers stop applying it within a few seconds."""
    from agentrun.store.faults import clear_faults  # noqa: PLC0415 -- lazy

    if (fault_id is None) == (not all_):
        raise CliError("name one fault id, or --all")
    with _session(write=True) as session:
        cleared = clear_faults(
            session, by=by or getpass.getuser(), at=datetime.now(UTC), fault_id=fault_id
        )
    if fault_id is not None and not cleared:
        raise CliError(f"no fault drill {fault_id!r}")
    out.print(f"cleared {len(cleared)}: {', '.join(cleared) or 'none'}", highlight=False)
