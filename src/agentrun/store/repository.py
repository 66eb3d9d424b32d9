"""Plain functions over an injected Session: the only way rows get into the store.

Activities are retried and workflows replayed, so every writer here is idempotent on the row's
natural key: ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL alike), and the audit
event is appended only when the row was really inserted, in the same transaction. Calling any
``record_*`` twice with the same key leaves one row and one audit event. Callers own the
transaction (``with factory() as s, s.begin(): ...``): nothing here commits or builds an engine.

Each ``record_*`` has a ``*_item`` twin that builds the row without a session, so a writer can
collect many and insert them with one :func:`agentrun.store.rows.write_rows`.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Concatenate, ParamSpec

from sqlalchemy import literal_column
from sqlmodel import Session, SQLModel

from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.tools import RetentionClass
from agentrun.store.audit import AuditKind
from agentrun.store.models import (
    GovernanceEventRow,
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
from agentrun.store.rows import RowItem, dialect_insert, table_of, upsert_runs, write_rows

# The readers live in ``queries``; they are re-exported so callers need one module.
__all__ = [
    "get_run",
    "list_audit_events",
    "list_model_calls",
    "list_reviews",
    "list_tool_calls",
    "list_transitions",
    "model_call_item",
    "record_model_call",
    "record_review",
    "record_tool_call",
    "record_transition",
    "review_item",
    "run_row",
    "tool_call_item",
    "transition_item",
    "upsert_run",
]

P = ParamSpec("P")

# Identity of a run never changes once recorded; everything else follows the latest upsert.
RUN_IMMUTABLE = frozenset({"run_id", "agent", "tenant_id", "user_id", "request_id", "started_at"})


def insert_once(session: Session, row: SQLModel, key: tuple[str, ...]) -> bool:
    """Insert unless a row with the same ``key`` exists; True when this call inserted it."""
    values = {k: v for k, v in row.model_dump().items() if not (k == "id" and v is None)}
    table = type(row).__table__  # type: ignore[attr-defined]
    stmt = dialect_insert(session, table).values(values).on_conflict_do_nothing(index_elements=key)
    # RETURNING rather than rowcount: drivers disagree on rowcount once RETURNING is implicit.
    inserted = session.exec(stmt.returning(literal_column("1"))).first()
    return inserted is not None


# ----------------------------------------------------------------- runs


def run_row(
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
    execution_id: str | None = None,
    version_reason: str | None = None,
    failure_category: str | None = None,
    failure_message: str | None = None,
    finished_at: datetime | None = None,
    human_override: bool = False,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
    parent_run_id: str | None = None,
    root_run_id: str | None = None,
) -> RunRow:
    return RunRow(
        run_id=run_id,
        agent=agent,
        version=version,
        execution_id=execution_id,
        version_reason=version_reason,
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
        parent_run_id=parent_run_id,
        root_run_id=root_run_id,
    )


def _upsert(build: Callable[P, RunRow]) -> Callable[Concatenate[Session, P], None]:
    def upsert(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> None:
        upsert_runs(session, [build(*args, **kwargs)], RUN_IMMUTABLE)

    return upsert


# Create the run's row or bring it up to date. No audit event: the run's lifecycle is audited
# through ``record_transition``; a replay writes the same values again.
upsert_run = _upsert(run_row)


# ----------------------------------------------------------------- child rows


def transition_item(
    *,
    run_id: str,
    seq: int,
    target: str,
    at: datetime,
    source: str | None = None,
    reason: str | None = None,
    actor: str = "system",
) -> RowItem:
    """The run's ``seq``-th transition (0 is the entry into INIT)."""
    source = None if source is None else str(source)
    target = str(target)
    values = {
        "run_id": run_id,
        "seq": seq,
        "source": source,
        "target": target,
        "at": at,
        "reason": reason,
    }
    return RowItem(
        table_of(TransitionRow),
        values,
        ("run_id", "seq"),
        kind=AuditKind.RUN,
        actor=actor,
        action=f"transition:{target}",
        at=at,
        detail={"seq": seq, "source": source, "target": target, "reason": reason},
    )


def tool_call_item(
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
) -> RowItem:
    """One attempt of one tool call; ``retention`` comes from the tool's contract."""
    values = {
        "run_id": run_id,
        "idempotency_key": idempotency_key,
        "attempt": attempt,
        "tool": tool,
        "status": status,
        "error_class": error_class,
        "retryable": retryable,
        "duration_ms": duration_ms,
        "started_at": started_at,
        "finished_at": finished_at,
        "fallback_for": fallback_for,
    }
    return RowItem(
        table_of(ToolCallRow),
        values,
        ("run_id", "idempotency_key", "attempt"),
        kind=AuditKind.TOOL_CALL,
        actor=actor,
        action=f"{tool}:{status}",
        at=finished_at or started_at,
        retention=retention,
    )


def model_call_item(
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
) -> RowItem:
    values = {
        "run_id": run_id,
        "turn": turn,
        "attempt": attempt,
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": cost_usd,
        "duration_ms": duration_ms,
        "at": at,
    }
    return RowItem(
        table_of(ModelCallRow),
        values,
        ("run_id", "turn", "attempt"),
        kind=AuditKind.MODEL_CALL,
        actor=actor,
        action=f"{provider}/{model}",
        at=at,
    )


def review_item(
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
) -> RowItem:
    """A review decision; the reviewer is the audit actor (``system`` when automatic)."""
    decision = str(decision)
    values = {
        "run_id": run_id,
        "review_id": review_id,
        "kind": kind,
        "decision": decision,
        "reviewer": reviewer,
        "at": at,
        "latency_ms": latency_ms,
        "automatic": automatic,
        "escalated": escalated,
        "human_override": human_override,
        "comment": comment,
    }
    return RowItem(
        table_of(ReviewRow),
        values,
        ("run_id", "review_id"),
        kind=AuditKind.REVIEW,
        actor="system" if automatic else reviewer,
        action=f"{kind}:{decision}",
        at=at,
        retention=retention,
    )


def _recorder(build: Callable[P, RowItem]) -> Callable[Concatenate[Session, P], bool]:
    def record(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> bool:
        return write_rows(session, [build(*args, **kwargs)])[0]

    record.__doc__ = f"{build.__doc__ or ''} Written at once; True if the row was new."
    return record


record_transition = _recorder(transition_item)
record_tool_call = _recorder(tool_call_item)
record_model_call = _recorder(model_call_item)
record_review = _recorder(review_item)


def governance_item(
    *,
    run_id: str,
    event: GovernanceEvent,
    retention: RetentionClass = RetentionClass.BUSINESS_90D,
) -> RowItem:
    """A policy decision, a refused review or the input's trust labels: the audit actor is who
    acted, else the policy."""
    values = {"run_id": run_id, **event.model_dump()}
    action = (
        f"{event.checkpoint}:{event.verdict}" if event.kind == "policy_decision" else event.kind
    )
    return RowItem(
        table_of(GovernanceEventRow),
        values,
        ("run_id", "event_id"),
        kind=AuditKind.POLICY,
        actor=event.actor or event.policy_id or "policy",
        action=action,
        at=event.at,
        retention=retention,
    )
