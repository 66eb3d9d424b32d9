"""Published agent versions: immutable specs that recorded runs refer to by name and version."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from agentrun.store.models import AgentVersionRow
from agentrun.store.repository import insert_once


def record_agent_version(
    session: Session,
    *,
    name: str,
    version: str,
    spec_json: dict[str, Any],
    digest: str,
    created_at: datetime,
) -> bool:
    """Register a version once; the same name and version with another digest is refused.

    A published version is immutable: runs recorded against it must keep meaning the same spec.
    """
    row = AgentVersionRow(
        name=name, version=version, spec_json=spec_json, digest=digest, created_at=created_at
    )
    if insert_once(session, row, ("name", "version")):
        return True
    existing = session.get(AgentVersionRow, (name, version))
    if existing is not None and existing.digest != digest:
        raise ValueError(
            f"agent {name} version {version} is already recorded with digest {existing.digest}"
        )
    return False


def get_agent_version(session: Session, name: str, version: str) -> AgentVersionRow | None:
    return session.get(AgentVersionRow, (name, version))
