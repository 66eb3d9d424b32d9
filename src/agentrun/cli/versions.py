"""``agentrun versions``: an agent's published versions and what changed between two.

Published means recorded in the run store by the first worker that served the version (or by
``agentrun versions publish``). A version this installation registers but no worker published yet
is listed too, marked so; one whose local content differs from what was published is flagged:
a worker would refuse to serve it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer

from agentrun.cli.common import AgentArg, CliError, JsonOpt, emit_json, guarded, local_registry, out
from agentrun.cli.store import DatabaseUrlOpt, database_errors, require_current_schema, store_url

versions_app = typer.Typer(
    help="Agent versions: immutable snapshots of prompt, model, tools, policies and budgets.",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class Known:
    version: str
    digest: str
    content: dict[str, Any]
    published_at: datetime | None  # None: only this installation's registry has it
    runs: int
    local: str  # "same", "differs", "absent" (this installation does not register it)


def _local(agent: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """This installation's versions of ``agent``: version -> (digest, content)."""
    from agentrun.logic.versions import digest  # noqa: PLC0415
    from agentrun.workers.versions import published  # noqa: PLC0415

    registry = local_registry()
    found = {}
    if agent in registry.agent_names():
        for version in registry.versions(agent):
            content = published(registry.resolve(agent, version)).content
            found[version] = (digest(content), content)
    return found


def known_versions(agent: str, url: str) -> list[Known]:
    from sqlalchemy import func  # noqa: PLC0415 -- lazy
    from sqlmodel import col, select  # noqa: PLC0415 -- lazy

    from agentrun.store.db import make_engine, session_factory  # noqa: PLC0415 -- lazy
    from agentrun.store.models import RunRow  # noqa: PLC0415 -- lazy
    from agentrun.store.versions import list_agent_versions  # noqa: PLC0415 -- lazy

    local = _local(agent)
    engine = make_engine(url)
    try:
        with database_errors(url):
            require_current_schema(url)
            with session_factory(engine)() as session:
                rows = list_agent_versions(session, agent)
                counts = dict(
                    session.execute(
                        select(col(RunRow.version), func.count())
                        .where(col(RunRow.agent) == agent)
                        .group_by(col(RunRow.version))
                    ).all()
                )
    finally:
        engine.dispose()
    found = []
    for row in rows:
        here = local.pop(row.version, None)
        state = "absent" if here is None else ("same" if here[0] == row.digest else "differs")
        found.append(
            Known(
                row.version,
                row.digest,
                row.spec_json,
                row.created_at,
                counts.get(row.version, 0),
                state,
            )
        )
    for version, (fingerprint, content) in sorted(local.items()):
        found.append(Known(version, fingerprint, content, None, counts.get(version, 0), "same"))
    if not found:
        raise CliError(f"unknown agent {agent!r}: no version of it is published or registered")
    return found


def _status(known: Known) -> str:
    if known.published_at is None:
        return "registered here, not published yet"
    return {
        "same": "published",
        "absent": "published (not registered here)",
        "differs": "published; THIS INSTALLATION'S CONTENT DIFFERS: a worker would refuse it",
    }[known.local]


@versions_app.command("list")
@guarded
def versions_list(
    agent: AgentArg, *, database_url: DatabaseUrlOpt = None, json_output: JsonOpt = False
) -> None:
    """List AGENT's versions: digest, when first published, runs recorded, and status."""
    found = known_versions(agent, store_url(database_url))
    if json_output:
        emit_json(
            [
                {
                    "version": k.version,
                    "digest": k.digest,
                    "published_at": k.published_at.isoformat() if k.published_at else None,
                    "runs": k.runs,
                    "status": _status(k),
                }
                for k in found
            ]
        )
        return
    for k in found:
        when = f"{k.published_at:%Y-%m-%d %H:%M} UTC" if k.published_at else "-"
        line = f"{agent}@{k.version}  {k.digest[:19]}  {when}  {k.runs} runs  {_status(k)}"
        out.print(line, highlight=False, markup=False)


@versions_app.command("diff")
@guarded
def versions_diff(
    agent: AgentArg,
    old: Annotated[str, typer.Argument(help="The version to compare from.", show_default=False)],
    new: Annotated[str, typer.Argument(help="The version to compare to.", show_default=False)],
    *,
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """What changed from version OLD to NEW of AGENT, one changed field per line (published
    content first, else this installation's)."""
    from agentrun.logic.versions import changes  # noqa: PLC0415 -- lazy

    by_version = {k.version: k for k in known_versions(agent, store_url(database_url))}
    missing = [v for v in (old, new) if v not in by_version]
    if missing:
        raise CliError(
            f"agent {agent!r} has no version {missing[0]!r}; known: {', '.join(sorted(by_version))}"
        )
    changed = changes(by_version[old].content, by_version[new].content)
    if json_output:
        emit_json({"agent": agent, "from": old, "to": new, "changes": changed})
        return
    if not changed:
        out.print(f"{agent}@{old} and {agent}@{new} have the same content", highlight=False)
        return
    out.print(f"{agent}@{old} -> {agent}@{new}: {len(changed)} changes", highlight=False)
    for line in changed:
        out.print(f"  {line}", highlight=False, markup=False)
