"""``agentrun report``'s operations figures (SPEC §5), per agent and version, and its rollouts.

Same two halves as ``agentrun.contracts.report``: the store hands over counts per version, the
review gates of the runs that opened one, and the rollout trail from the audit chain; the pure
step in ``agentrun.logic.report_ops`` turns them into what people read. Rates are None ("n/a")
when nothing was counted: 0 % would claim a measurement that was never made.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# ----------------------------------------------------------------- from the store


class VersionTotals(BaseModel):
    """One agent version's runs started in the window, counted in SQL."""

    agent: str
    version: str | None = None  # None: runs recorded before versions were
    runs: int = 0
    finished: int = 0
    completed: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    durations_s: list[float] = Field(default_factory=list)
    tool_calls: int = 0  # attempts, as in the report's tool layer
    tool_failures: int = 0
    # Raw ``version_reason`` -> runs; "" for runs that recorded none.
    reasons: dict[str, int] = Field(default_factory=dict)


class GateAnswer(BaseModel):
    """How one review gate was closed (a ``reviews`` row)."""

    model_config = ConfigDict(frozen=True)

    decision: str
    automatic: bool = False


class GatedRun(BaseModel):
    """A run that entered REVIEWING: why each time (transition reasons, in order) and the
    answers its gates got (in order). Gates are one at a time, so the n-th entry into REVIEWING
    is closed by the n-th review; a gate still open has no answer yet."""

    agent: str
    version: str | None = None
    state: str
    entries: list[str | None] = Field(default_factory=list)
    answers: list[GateAnswer] = Field(default_factory=list)


class RolloutEvent(BaseModel):
    """One routing change of a rollout, as its audit event (kind ``rollout``) recorded it."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime
    actor: str
    action: str  # "stage", "promoted", "rolled_back" (others are read past)
    agent: str
    rollout_id: str
    stable: str
    candidate: str
    stage: str = ""
    percent: float | None = None
    shadow: bool = False
    reason: str | None = None
    # The end of the analysis window that judged the candidate bad (automatic rollbacks only).
    detected_at: datetime | None = None


# ----------------------------------------------------------------- the report


class RolloutOutcome(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    IN_PROGRESS = "in_progress"
    # Superseded by the agent's next rollout with no end recorded (its workflow was terminated).
    ABANDONED = "abandoned"


class RolloutRecord(BaseModel):
    """One rollout, rebuilt from its audit events.

    ``time_to_recovery_s`` (rolled back, not shadow): from ``failing_stage_started_at``, when
    the split that put the candidate on the share it failed at was written, to the rollback's
    split write (all traffic on stable). See ``agentrun.logic.report_ops.time_to_recovery``.
    """

    agent: str
    rollout_id: str
    stable: str
    candidate: str
    shadow: bool = False
    outcome: RolloutOutcome
    started_at: datetime
    ended_at: datetime | None = None
    last_event_at: datetime
    stage: str = ""  # the last stage it reached
    percent: float | None = None  # the candidate's share at that stage
    by: str | None = None  # who promoted or rolled back (``rollout-controller``: the analysis)
    reason: str | None = None
    failing_stage_started_at: datetime | None = None
    detected_at: datetime | None = None
    time_to_recovery_s: float | None = None


class AgentDeployments(BaseModel):
    """``success_rate``: promoted / (promoted + rolled back). ``mean_time_to_recovery_s``: over
    the ``recoveries`` rolled-back rollouts that had traffic on the candidate (not shadows)."""

    agent: str
    rollouts: int = 0
    promoted: int = 0
    rolled_back: int = 0
    in_progress: int = 0
    abandoned: int = 0
    success_rate: float | None = None
    recoveries: int = 0
    mean_time_to_recovery_s: float | None = None


class HumanAgreement(BaseModel):
    """The quality sample: ``agreed`` of ``answered`` (human answers) approved the output as
    is; ``sampled`` counts every sample gate opened, answered or not."""

    sampled: int = 0
    answered: int = 0
    agreed: int = 0
    rate: float | None = None


class VersionOps(BaseModel):
    """One agent version. Rates over finished runs unless said otherwise.

    ``human_replacement_rate``: runs that COMPLETED with no human escalation / finished runs.
    ``tool_failure_rate``: failed tool attempts / tool attempts, against the 3 % target.
    ``routing``: why its runs got this version (pinned, default, rollout, shadow, unrecorded).
    ``rollout``: how the latest rollout in the report with this version as candidate went.
    """

    agent: str
    version: str | None = None
    runs: int
    finished: int
    error_rate: float | None = None
    latency_p95_s: float | None = None
    cost_per_run_usd: float | None = None
    tool_calls: int = 0
    tool_failures: int = 0
    tool_failure_rate: float | None = None
    tool_failure_within_target: bool | None = None
    escalated: int = 0  # finished runs a human had to step into
    replaced: int = 0  # COMPLETED with no escalation
    human_replacement_rate: float | None = None
    agreement: HumanAgreement = Field(default_factory=HumanAgreement)
    routing: dict[str, int] = Field(default_factory=dict)
    rollout: RolloutOutcome | None = None


class OperationsLayer(BaseModel):
    """SPEC §5 operations figures; definitions in docs/run-record.md#operations-figures."""

    tool_failure_target: float = 0.03
    tool_calls: int = 0
    tool_failures: int = 0
    tool_failure_rate: float | None = None
    tool_failure_within_target: bool | None = None
    versions: list[VersionOps] = Field(default_factory=list)
    deployments: list[AgentDeployments] = Field(default_factory=list)
    rollouts: list[RolloutRecord] = Field(default_factory=list)
