"""What the retention purge is asked to do and what it reports (the ``RetentionPurge`` workflow,
its activity and ``agentrun retention run``).

The plan carries counts and a few sample run ids, never every id: it travels through Temporal
history, where a payload must stay far below the server's size limit however much expires.
"""

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from agentrun.contracts.tools import RetentionClass


class PurgeRequest(BaseModel):
    """``now`` None: the workflow's own clock (a schedule's runs), else the purge's reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dry_run: bool = False
    now: AwareDatetime | None = None


class ClassPurge(BaseModel):
    """What expires in one retention class: records older than ``cutoff``.

    ``audit_events`` are the events of the chain's expired prefix (they go); ``blocked_events``
    expired too but come after a longer-lived event, so the chain keeps them until that one goes.
    A run belongs to the longest class among its audit events and counts from its end.
    """

    model_config = ConfigDict(frozen=True)

    retention_class: RetentionClass
    keep: timedelta
    cutoff: datetime
    audit_events: int = 0
    blocked_events: int = 0
    runs: int = 0
    transitions: int = 0
    tool_calls: int = 0
    model_calls: int = 0
    reviews: int = 0
    # The run's conversation (model messages), kept in the store beside its record.
    messages: int = 0
    # Its policy decisions and refused review decisions.
    governance_events: int = 0
    sample_run_ids: list[str] = Field(default_factory=list)


class PurgePlan(BaseModel):
    """``through_seq``: audit events up to this seq go and the chain is anchored there."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    through_seq: int | None = None
    # The first event kept, when expired events wait behind it.
    blocked_by_seq: int | None = None
    classes: list[ClassPurge]

    @property
    def runs(self) -> int:
        return sum(c.runs for c in self.classes)

    @property
    def audit_events(self) -> int:
        return sum(c.audit_events for c in self.classes)

    @property
    def blocked_events(self) -> int:
        return sum(c.blocked_events for c in self.classes)


class PurgeResult(BaseModel):
    """``deleted`` is what the database reported per table; empty for a dry run."""

    model_config = ConfigDict(frozen=True)

    dry_run: bool
    plan: PurgePlan
    anchor_seq: int | None = None
    deleted: dict[str, int] = Field(default_factory=dict)
