"""Published agent versions: immutable snapshots that recorded runs refer to by name and version."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from agentrun.logic.versions import changes, digest
from agentrun.store.models import AgentVersionRow
from agentrun.store.repository import insert_once


class VersionConflictError(ValueError):
    """A version registered again with other content: the change needs a version of its own."""


@dataclass(frozen=True, slots=True)
class Published:
    name: str
    version: str
    content: dict[str, Any]


def record_agent_version(
    session: Session, *, name: str, version: str, content: dict[str, Any], created_at: datetime
) -> bool:
    """Register a version once (True if this call did); other content under it is refused.

    A published version is immutable: runs recorded against it must keep meaning the same
    snapshot. The refusal names what changed, so the author sees why without a diff tool.
    """
    fingerprint = digest(content)
    row = AgentVersionRow(
        name=name, version=version, spec_json=content, digest=fingerprint, created_at=created_at
    )
    if insert_once(session, row, ("name", "version")):
        return True
    existing = session.get(AgentVersionRow, (name, version))
    if existing is not None and existing.digest != fingerprint:
        changed = changes(existing.spec_json, content)
        shown = "; ".join(changed[:3]) + (
            f"; and {len(changed) - 3} more" if len(changed) > 3 else ""
        )
        raise VersionConflictError(
            f"agent {name}@{version} was registered on {existing.created_at:%Y-%m-%d %H:%M} UTC "
            f"with other content ({shown}): a version is immutable, give the change a new "
            "version (AgentSpec.version)"
        )
    return False


def publish(
    sessions: Callable[[], Session], versions: Iterable[Published], now: datetime
) -> list[str]:
    """Record every version in one transaction (all or none); the ``name@version`` newly added."""
    with sessions() as session, session.begin():
        return [
            f"{item.name}@{item.version}"
            for item in versions
            if record_agent_version(
                session,
                name=item.name,
                version=item.version,
                content=item.content,
                created_at=now,
            )
        ]


def get_agent_version(session: Session, name: str, version: str) -> AgentVersionRow | None:
    return session.get(AgentVersionRow, (name, version))


def list_agent_versions(session: Session, name: str) -> list[AgentVersionRow]:
    """The agent's versions, oldest registration first."""
    return list(
        session.exec(
            select(AgentVersionRow)
            .where(col(AgentVersionRow.name) == name)
            .order_by(col(AgentVersionRow.created_at), col(AgentVersionRow.version))
        ).all()
    )
