"""Read-side of the run record store: plain functions over an injected Session."""

from sqlmodel import Session, col, select

from agentrun.store.models import (
    AuditEventRow,
    ModelCallRow,
    ReviewRow,
    RunRow,
    ToolCallRow,
    TransitionRow,
)


def get_run(session: Session, run_id: str) -> RunRow | None:
    return session.get(RunRow, run_id)


def list_transitions(session: Session, run_id: str) -> list[TransitionRow]:
    stmt = select(TransitionRow).where(col(TransitionRow.run_id) == run_id)
    return list(session.exec(stmt.order_by(col(TransitionRow.seq))))


def list_tool_calls(session: Session, run_id: str) -> list[ToolCallRow]:
    stmt = select(ToolCallRow).where(col(ToolCallRow.run_id) == run_id)
    return list(session.exec(stmt.order_by(col(ToolCallRow.started_at), col(ToolCallRow.id))))


def list_model_calls(session: Session, run_id: str) -> list[ModelCallRow]:
    stmt = select(ModelCallRow).where(col(ModelCallRow.run_id) == run_id)
    order = (col(ModelCallRow.turn), col(ModelCallRow.attempt))
    return list(session.exec(stmt.order_by(*order)))


def list_reviews(session: Session, run_id: str) -> list[ReviewRow]:
    stmt = select(ReviewRow).where(col(ReviewRow.run_id) == run_id)
    return list(session.exec(stmt.order_by(col(ReviewRow.at), col(ReviewRow.id))))


def list_audit_events(session: Session, run_id: str | None = None) -> list[AuditEventRow]:
    stmt = select(AuditEventRow)
    if run_id is not None:
        stmt = stmt.where(col(AuditEventRow.run_id) == run_id)
    return list(session.exec(stmt.order_by(col(AuditEventRow.seq))))
