"""Injected faults: set and cleared by ``agentrun faults``, each audited with who and when."""

from datetime import datetime

from sqlmodel import Session, col, or_, select

from agentrun.contracts.faults import FaultRule
from agentrun.store.audit import AuditKind, append_event
from agentrun.store.models import FaultRow


def add_fault(session: Session, rule: FaultRule) -> None:
    session.add(FaultRow(**rule.model_dump()))
    append_event(
        session,
        kind=AuditKind.DRILL,
        actor=rule.created_by,
        action="fault_set",
        detail=rule.model_dump(mode="json"),
        at=rule.created_at,
    )


def live_faults(session: Session, now: datetime) -> list[FaultRule]:
    rows = session.exec(
        select(FaultRow)
        .where(or_(col(FaultRow.until).is_(None), col(FaultRow.until) > now))
        .order_by(col(FaultRow.created_at), col(FaultRow.fault_id))
    ).all()
    return [FaultRule.model_validate(row.model_dump()) for row in rows]


def clear_faults(
    session: Session, *, by: str, at: datetime, fault_id: str | None = None
) -> list[str]:
    """Delete one fault, or all of them (``fault_id`` None); the ids cleared."""
    query = select(FaultRow)
    if fault_id is not None:
        query = query.where(col(FaultRow.fault_id) == fault_id)
    rows = list(session.exec(query).all())
    for row in rows:
        session.delete(row)
        append_event(
            session,
            kind=AuditKind.DRILL,
            actor=by,
            action="fault_cleared",
            detail={"fault_id": row.fault_id, "agent": row.agent, "tool": row.tool},
            at=at,
        )
    return [row.fault_id for row in rows]
