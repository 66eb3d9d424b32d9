"""Plain functions over an injected Session: the only way rows get into the store.

Activities are retried and workflows replayed, so every writer here is idempotent on the row's
natural key: ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL alike), and the audit
event is appended only when the row was really inserted, in the same transaction. Calling any
``record_*`` twice with the same key leaves one row and one audit event. Callers own the
transaction (``with factory() as s, s.begin(): ...``): nothing here commits or builds an engine.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, select

from agentrun.contracts.tools import RetentionClass
from agentrun.store.audit import AuditKind, append_event
from agentrun.store.db import UnsupportedDatabase
from agentrun.store.models import (
    ModelCallRow,
    ReviewRow,
    RunRow,
    ToolCallRow,
    TransitionRow,
)
from agentrun.store.queries import (
    get_run,
    list_audit_events,
    list_model_calls,
    list_reviews,
    list_tool_calls,
    list_transitions,
)

# The readers live in ``queries``; they are re-exported so callers need one module.
__all__ = [
    "get_run",
    "list_audit_events",
    "list_model_calls",
    "list_reviews",
    "list_tool_calls",
    "list_transitions",
    "record_model_call",
    "record_review",
    "record_tool_call",
    "record_transition",
    "upsert_run",
]

# Identity of a run never changes once recorded; everything else follows the latest upsert.
_RUN_IMMUTABLE = frozenset({"run_id", "agent", "tenant_id", "user_id", "request_id", "started_at"})


def _insert(session: Session, model: type[SQLModel]) -> postgresql.Insert | sqlite.Insert:
    # Table-level inserts run on SQLAlchemy Core, skipping the ORM's bulk-insert machinery.
    dialect = session.connection().dialect.name
    table = model.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise UnsupportedDatabase(f"no idempotent insert for {dialect}")


def insert_once(session: Session, row: SQLModel, key: tuple[str, ...]) -> bool:
    """Insert unless a row with the same ``key`` exists; True when this call inserted it."""
    # A None surrogate id is left to the database to assign.
    values = {k: v for k, v in row.model_dump().items() if not (k == "id" and v is None)}
    stmt = _insert(session, type(row)).values(values).on_conflict_do_nothing(index_elements=key)
    # RETURNING rather than rowcount: drivers disagree on rowcount once RETURNING is implicit.
    inserted = session.exec(stmt.returning(literal_column("1"))).first()
    return inserted is not None


def _record(
    session: Session,
    row: SQLModel,
    key: tuple[str, ...],
    *,
    run_id: str,
    kind: AuditKind,
    actor: str,
    action: str,
    at: datetime,
    retention: RetentionClass = RetentionClass.BUSINESS_90D,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Insert ``row`` once and, only if this call inserted it, audit it with the run's context.

    The detail defaults to the row itself, minus what the event already carries.
    """
    run = session.exec(
        select(RunRow.tenant_id, RunRow.trace_id).where(RunRow.run_id == run_id)
    ).first()
    if run is None:
        raise LookupError(f"run {run_id} is not in the store: upsert_run first")
    tenant_id, trace_id = run
    if not insert_once(session, row, key):
        return False
    append_event(
        session,
        kind=kind,
        actor=actor,
        action=action,
        run_id=run_id,
        tenant_id=tenant_id,
        trace_id=trace_id,
        at=at,
        detail=row.model_dump(exclude={"id", "run_id", "at"}) if detail is None else detail,
        retention=retention,
    )
    return True


# ----------------------------------------------------------------- writers


def upsert_run(
    session: Session,
    *,
    run_id: str,
    agent: str,
    tenant_id: str,
    user_id: str,
    request_id: str,
    trace_id: str,
    state: str,
    started_at: datetime,
    version: str | None = None,
    failure_category: str | None = None,
    failure_message: str | None = None,
    finished_at: datetime | None = None,
    human_override: bool = False,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
) -> None:
    """Create the run's row or bring it up to date; a replay writes the same values again.

    No audit event: the run's lifecycle is audited through ``record_transition``.
    """
    row = RunRow(
        run_id=run_id,
        agent=agent,
        version=version,
        tenant_id=tenant_id,
        user_id=user_id,
        request_id=request_id,
        trace_id=trace_id,
        state=str(state),
        failure_category=None if failure_category is None else str(failure_category),
        failure_message=failure_message,
        started_at=started_at,
        finished_at=finished_at,
        human_override=human_override,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost_usd,
    )
    values = row.model_dump()
    stmt = _insert(session, RunRow).values(values)
    update = {name: stmt.excluded[name] for name in values if name not in _RUN_IMMUTABLE}
    session.exec(stmt.on_conflict_do_update(index_elements=["run_id"], set_=update))


def record_transition(
    session: Session,
    *,
    run_id: str,
    seq: int,
    target: str,
    at: datetime,
    source: str | None = None,
    reason: str | None = None,
    actor: str = "system",
) -> bool:
    """Record the run's ``seq``-th transition (0 is the entry into INIT)."""
    row = TransitionRow(
        run_id=run_id,
        seq=seq,
        source=None if source is None else str(source),
        target=str(target),
        at=at,
        reason=reason,
    )
    return _record(
        session,
        row,
        ("run_id", "seq"),
        run_id=run_id,
        kind=AuditKind.RUN,
        actor=actor,
        action=f"transition:{row.target}",
        at=at,
        detail={"seq": seq, "source": row.source, "target": row.target, "reason": reason},
    )


def record_tool_call(
    session: Session,
    *,
    run_id: str,
    idempotency_key: str,
    attempt: int,
    tool: str,
    status: str,
    started_at: datetime,
    finished_at: datetime | None = None,
    error_class: str | None = None,
    retryable: bool | None = None,
    duration_ms: float | None = None,
    fallback_for: str | None = None,
    actor: str = "system",
    retention: RetentionClass = RetentionClass.BUSINESS_90D,
) -> bool:
    """Record one attempt of one tool call; ``retention`` comes from the tool's contract."""
    row = ToolCallRow(
        run_id=run_id,
        idempotency_key=idempotency_key,
        attempt=attempt,
        tool=tool,
        status=status,
        error_class=error_class,
        retryable=retryable,
        duration_ms=duration_ms,
        started_at=started_at,
        finished_at=finished_at,
        fallback_for=fallback_for,
    )
    return _record(
        session,
        row,
        ("run_id", "idempotency_key", "attempt"),
        run_id=run_id,
        kind=AuditKind.TOOL_CALL,
        actor=actor,
        action=f"{tool}:{status}",
        at=finished_at or started_at,
        retention=retention,
    )


def record_model_call(
    session: Session,
    *,
    run_id: str,
    turn: int,
    attempt: int,
    provider: str,
    model: str,
    at: datetime,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
    duration_ms: float | None = None,
    actor: str = "system",
) -> bool:
    row = ModelCallRow(
        run_id=run_id,
        turn=turn,
        attempt=attempt,
        provider=provider,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost_usd,
        duration_ms=duration_ms,
        at=at,
    )
    return _record(
        session,
        row,
        ("run_id", "turn", "attempt"),
        run_id=run_id,
        kind=AuditKind.MODEL_CALL,
        actor=actor,
        action=f"{provider}/{model}",
        at=at,
    )


def record_review(
    session: Session,
    *,
    run_id: str,
    review_id: str,
    kind: str,
    decision: str,
    reviewer: str,
    at: datetime,
    latency_ms: float | None = None,
    automatic: bool = False,
    escalated: bool = False,
    human_override: bool = False,
    comment: str | None = None,
    retention: RetentionClass = RetentionClass.BUSINESS_90D,
) -> bool:
    """Record a review decision; the reviewer is the audit actor (``system`` when automatic)."""
    row = ReviewRow(
        run_id=run_id,
        review_id=review_id,
        kind=kind,
        decision=str(decision),
        reviewer=reviewer,
        at=at,
        latency_ms=latency_ms,
        automatic=automatic,
        escalated=escalated,
        human_override=human_override,
        comment=comment,
    )
    return _record(
        session,
        row,
        ("run_id", "review_id"),
        run_id=run_id,
        kind=AuditKind.REVIEW,
        actor="system" if automatic else reviewer,
        action=f"{kind}:{row.decision}",
        at=at,
        retention=retention,
    )
