"""Table models of the run record store.

They stay apart from ``agentrun.contracts``: contracts travel through Temporal history and must
stay stable for replay, while these rows follow the schema and its migrations. Every constraint
name is spelled out so the hand-written migration and these models can be compared exactly.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite as on PostgreSQL.

    SQLite has no timezone type and silently drops ``tzinfo``: storing UTC there and re-attaching
    it on the way out keeps instants comparable (and their ISO form, hashed by the audit chain,
    identical) whichever database wrote them. A naive datetime is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store keeps aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 -- TypeDecorator's signature
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run_fk(table: str) -> Any:
    """A fresh foreign key per table (SQLAlchemy cannot share one), named for the migration.

    Children go with their run: purging a run for retention must not be blocked by its calls.
    No separate index: each child table's unique key starts with ``run_id`` and serves lookups.
    """
    fk = ForeignKey("runs.run_id", ondelete="CASCADE", name=f"fk_{table}_run_id")
    return Field(sa_column_args=[fk])


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"

    run_id: str = Field(primary_key=True)
    agent: str = Field(index=True)
    version: str | None = None
    # The Temporal execution (first run id) the record belongs to: a run id runs once.
    execution_id: str | None = None
    # Why the run got its version: "pinned", "default", or the rollout stage that routed it.
    version_reason: str | None = None
    tenant_id: str = Field(index=True)
    user_id: str
    request_id: str
    trace_id: str
    state: str = Field(index=True)
    failure_category: str | None = None
    failure_message: str | None = None
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    human_override: bool = False
    # Usage includes the spend of the runs this one called as tools (its status's figure).
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    # A team (docs/teams.md): the run that called this one as a tool, and the run at the top of
    # its team (its own id for a top-level run). NULL for runs recorded before teams existed,
    # which count as their own root. No foreign key: a child's first row may land before its
    # parent's, and retention purges each run on its own clock.
    parent_run_id: str | None = None
    root_run_id: str | None = Field(default=None, index=True)


class TransitionRow(SQLModel, table=True):
    __tablename__ = "run_transitions"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_transitions_run_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = _run_fk("run_transitions")
    seq: int
    source: str | None = None
    target: str
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = None


class ToolCallRow(SQLModel, table=True):
    __tablename__ = "tool_calls"
    __table_args__ = (
        UniqueConstraint("run_id", "idempotency_key", "attempt", name="uq_tool_calls_key_attempt"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = _run_fk("tool_calls")
    idempotency_key: str
    attempt: int
    tool: str
    status: str
    error_class: str | None = None
    retryable: bool | None = None
    duration_ms: float | None = None
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fallback_for: str | None = None


class ModelCallRow(SQLModel, table=True):
    __tablename__ = "model_calls"
    __table_args__ = (
        UniqueConstraint("run_id", "turn", "attempt", name="uq_model_calls_turn_attempt"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = _run_fk("model_calls")
    turn: int
    attempt: int
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float | None = None
    at: datetime = Field(sa_type=UTCDateTime)


class ReviewRow(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("run_id", "review_id", name="uq_reviews_run_review"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = _run_fk("reviews")
    review_id: str
    kind: str
    decision: str
    reviewer: str
    at: datetime = Field(sa_type=UTCDateTime)
    latency_ms: float | None = None
    automatic: bool = False
    escalated: bool = False
    human_override: bool = False
    comment: str | None = None


class AuditEventRow(SQLModel, table=True):
    """One link of the audit hash chain (see ``agentrun.store.audit``).

    ``seq`` is assigned by the appender under the chain lock, not by a database sequence: a
    PostgreSQL sequence leaks numbers on rollback, and a gap-free ``seq`` is what lets the
    verifier tell a deleted row from a rolled-back one. No foreign key to ``runs``: the trail
    must outlive the records it describes.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_retention_at", "retention_class", "at"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str
    run_id: str | None = Field(default=None, index=True)
    tenant_id: str | None = None
    actor: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    trace_id: str | None = None
    retention_class: str
    prev_hash: str
    hash: str


class AuditAnchorRow(SQLModel, table=True):
    """Where the verified chain starts once older events have been purged for retention.

    Purging the first rows of a hash chain leaves the next row pointing at a hash that no longer
    exists; the anchor records that hash (and its seq) so the remainder still verifies.
    """

    __tablename__ = "audit_anchors"

    id: int | None = Field(default=None, primary_key=True)
    through_seq: int
    through_hash: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = None


class AgentVersionRow(SQLModel, table=True):
    __tablename__ = "agent_versions"

    name: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    spec_json: dict[str, Any] = Field(sa_type=JSON)
    digest: str
    created_at: datetime = Field(sa_type=UTCDateTime)


class ConversationMessageRow(SQLModel, table=True):
    """One message of a run's conversation, kept here rather than in Temporal history.

    Every worker reads and writes the same rows, so a model activity retried on another host
    finds the conversation its earlier attempts stored. ``message`` is the ``Message`` contract's
    JSON; a retried write of the same (run, index) replaces it. Messages are working state the
    model activity rewrites on retry, not facts about the run: they are not audited.

    No foreign key to ``runs``: the conversation must not depend on the run record having been
    written first (the record is written behind, and best-effort for calls), and the worker-
    private store used when the record is off holds this one table alone. So a retention purge
    deletes a run's messages itself. No separate index: the primary key starts with ``run_id``.
    """

    __tablename__ = "conversation_messages"

    run_id: str = Field(primary_key=True)
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    message: str = Field(sa_type=Text)


class ApiKeyRow(SQLModel, table=True):
    """An API key (``agentrun.store.keys``): who holds it, never what it is.

    Only the SHA-256 of the key's secret is kept; the secret is 256 random bits, so a plain
    hash is as good as a slow one and lets every request be checked in microseconds. A revoked
    key stays, so the audit trail's key ids keep naming someone.
    """

    __tablename__ = "api_keys"

    key_id: str = Field(primary_key=True)
    name: str
    role: str
    tenant: str = Field(index=True)
    secret_sha256: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GovernanceEventRow(SQLModel, table=True):
    """A policy decision or a refused review decision (``contracts.governance``)."""

    __tablename__ = "governance_events"
    __table_args__ = (
        UniqueConstraint("run_id", "event_id", name="uq_governance_events_run_event"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = _run_fk("governance_events")
    event_id: str
    kind: str
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(sa_type=Text)
    checkpoint: str | None = None
    verdict: str | None = None
    rule_id: str | None = None
    policy_id: str | None = None
    policy_version: str | None = None
    policy_digest: str | None = None
    actor: str | None = None
    tool: str | None = None


class EvaluationRow(SQLModel, table=True):
    """One evaluation of an agent version on a dataset; the latest finished one of a version on
    a dataset (by its digest) is that version's baseline there."""

    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_agent_version", "agent", "version", "dataset_digest"),)

    evaluation_id: str = Field(primary_key=True)
    agent: str
    version: str
    dataset: str
    dataset_digest: str
    cases: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    passed: int | None = None
    summary: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class EvaluationCaseRow(SQLModel, table=True):
    """A case's scored run. Kept apart from ``runs``: results outlive the runs' retention."""

    __tablename__ = "evaluation_cases"

    evaluation_id: str = Field(primary_key=True)
    case_id: str = Field(primary_key=True)
    run_id: str
    passed: bool
    state: str
    failure_category: str | None = None
    latency_s: float
    cost_usd: float
    tags: list[str] = Field(sa_type=JSON)
    scores: list[dict[str, Any]] = Field(sa_type=JSON)


class FaultRow(SQLModel, table=True):
    """An injected fault (``contracts.faults``), live until ``until`` or until cleared."""

    __tablename__ = "faults"

    fault_id: str = Field(primary_key=True)
    agent: str
    tool: str
    mode: str
    rate: float
    version: str | None = None
    tenant_id: str | None = None
    delay_s: float
    created_by: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RolloutRow(SQLModel, table=True):
    """An agent's routing, written by its Rollout workflow and read by PREPARING: an unpinned
    run gets ``candidate`` when its request's bucket is below ``percent``, else ``stable``."""

    __tablename__ = "rollouts"

    agent: str = Field(primary_key=True)
    rollout_id: str
    stable: str
    candidate: str
    percent: float
    stage: str
    updated_at: datetime = Field(sa_type=UTCDateTime)
    shadow: bool = False


STORE_TABLES: tuple[str, ...] = (
    "runs",
    "run_transitions",
    "tool_calls",
    "model_calls",
    "reviews",
    "audit_events",
    "audit_anchors",
    "agent_versions",
    "conversation_messages",
    "api_keys",
    "governance_events",
    "evaluations",
    "evaluation_cases",
    "faults",
    "rollouts",
)
