"""``agentrun report``: the metric layers (docs/observability.md), from the run record store.

Two halves: :class:`ReportData` is what the store hands over (counts aggregated in SQL, raw
samples where a percentile needs them), :class:`Report` is what people and scripts read. The
pure step between them lives in ``agentrun.logic.report``, so every figure is unit-testable
without a database.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agentrun.contracts.report_ops import (
    GatedRun,
    OperationsLayer,
    RolloutEvent,
    VersionTotals,
)
from agentrun.contracts.report_teams import TeamLayer, TeamTotals
from agentrun.contracts.states import Transition

# ----------------------------------------------------------------- from the store


class ToolOutcomeCount(BaseModel):
    """Attempts of one tool that ended the same way (one ``GROUP BY`` row)."""

    model_config = ConfigDict(frozen=True)

    tool: str
    status: str
    error_class: str | None = None
    retryable: bool | None = None
    count: int


class AgentTotals(BaseModel):
    """One agent's runs and spend: run totals (model + tool cost) and its model-call rows."""

    model_config = ConfigDict(frozen=True)

    agent: str
    runs: int
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0
    model_input_tokens: int = 0
    model_output_tokens: int = 0
    model_cost_usd: float = 0.0


class ReportData(BaseModel):
    """Everything the report needs about the runs started in the window, and their rows."""

    state_counts: dict[str, int] = Field(default_factory=dict)
    failure_counts: dict[str, int] = Field(default_factory=dict)
    run_durations_s: list[float] = Field(default_factory=list)
    tool_outcomes: list[ToolOutcomeCount] = Field(default_factory=list)
    tool_durations_ms: dict[str, list[float]] = Field(default_factory=dict)
    reviews: int = 0
    review_overrides: int = 0
    runs_overridden: int = 0
    review_latencies_ms: list[float] = Field(default_factory=list)
    transitions: list[list[Transition]] = Field(default_factory=list)
    agents: list[AgentTotals] = Field(default_factory=list)
    # Operations figures (``agentrun.contracts.report_ops``).
    versions: list[VersionTotals] = Field(default_factory=list)
    gated_runs: list[GatedRun] = Field(default_factory=list)
    rollout_events: list[RolloutEvent] = Field(default_factory=list)
    # Cost per root run (``agentrun.contracts.report_teams``).
    teams: TeamTotals = Field(default_factory=TeamTotals)


# ----------------------------------------------------------------- the report


class Percentiles(BaseModel):
    """Linear-interpolated percentiles (numpy's default); None when there are no samples."""

    samples: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class RunLayer(BaseModel):
    """Base and agent layers. Rates are over finished (terminal) runs; None when none finished."""

    total: int
    by_state: dict[str, int]
    finished: int
    completion_rate: float | None = None
    error_rate: float | None = None
    failures_by_category: dict[str, int] = Field(default_factory=dict)
    latency_s: Percentiles = Field(default_factory=Percentiles)


class ToolLayer(BaseModel):
    """One tool; a call here is one attempt, so a call retried twice counts three times.

    An attempt succeeded when its output passed the contract (status ``success`` or
    ``partial``); every other attempt is an error, retryable or not (None: the worker could not
    tell, e.g. a timeout).
    """

    tool: str
    calls: int
    succeeded: int
    success_rate: float
    latency_ms: Percentiles = Field(default_factory=Percentiles)
    errors_by_class: dict[str, int] = Field(default_factory=dict)
    retryable_errors: int = 0
    non_retryable_errors: int = 0
    unknown_errors: int = 0


class ReviewLayer(BaseModel):
    """Human review.

    ``override_rate``: reviews that overrode the agent / reviews. ``run_override_rate``: runs
    whose outcome a human overrode / finished runs.
    """

    reviews: int = 0
    overrides: int = 0
    override_rate: float | None = None
    runs_overridden: int = 0
    run_override_rate: float | None = None
    latency_s: Percentiles = Field(default_factory=Percentiles)


class StateTime(BaseModel):
    """Time runs spent in one state: per run, summed over its stays; a state still being
    occupied (the run's last transition) is not counted."""

    state: str
    runs: int
    mean_s: float
    p50_s: float


class AgentUsage(BaseModel):
    agent: str
    runs: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    tokens_per_run: float
    cost_per_run_usd: float
    model_calls: int
    model_cost_usd: float


class UsageLayer(BaseModel):
    """Business layer. Run cost is model + tool cost; model figures come from model-call rows."""

    runs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    input_tokens_per_run: float | None = None
    output_tokens_per_run: float | None = None
    cost_per_run_usd: float | None = None
    model_calls: int = 0
    model_cost_usd: float = 0.0
    agents: list[AgentUsage] = Field(default_factory=list)


class Thresholds(BaseModel):
    max_error_rate: float
    max_p95_s: float


class Alert(BaseModel):
    metric: str
    value: float
    threshold: float
    message: str


class Report(BaseModel):
    generated_at: datetime
    since: str
    window_start: datetime
    agent: str | None = None
    runs: RunLayer
    tools: list[ToolLayer] = Field(default_factory=list)
    reviews: ReviewLayer = Field(default_factory=ReviewLayer)
    states: list[StateTime] = Field(default_factory=list)
    usage: UsageLayer = Field(default_factory=UsageLayer)
    operations: OperationsLayer = Field(default_factory=OperationsLayer)
    teams: TeamLayer = Field(default_factory=TeamLayer)
    thresholds: Thresholds
    alerts: list[Alert] = Field(default_factory=list)
