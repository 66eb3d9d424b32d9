"""Rollouts: a new agent version takes a growing share of the traffic, each stage analysed
against the stable version over the same window, rolled back at once when it is worse.

The ``Rollout`` workflow is the controller (one per agent); the routing it decides is written to
the run store, where PREPARING reads it to give each unpinned run its version.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strategy(StrEnum):
    CANARY = "canary"  # 5 %, then everything
    GRADUAL = "gradual"  # 10 -> 25 -> 50 -> 100 %
    BLUE_GREEN = "blue-green"  # everything at once, stable one command away
    # A copy of each request's run on the candidate (side effects dry, reviews answered), never
    # returned; stable keeps all traffic until an operator promotes after the windows pass.
    SHADOW = "shadow"


STAGES: dict[Strategy, tuple[float, ...]] = {
    Strategy.CANARY: (5.0, 100.0),
    Strategy.GRADUAL: (10.0, 25.0, 50.0, 100.0),
    Strategy.BLUE_GREEN: (100.0,),
    Strategy.SHADOW: (100.0,),  # the share of requests copied
}


class Thresholds(BaseModel):
    """When a stage's candidate is rolled back, compared with stable over the same window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    max_p95_increase: float = Field(default=0.20, ge=0)  # p95 latency, relative to stable's
    max_cost_increase: float = Field(default=0.30, ge=0)  # cost per run, relative to stable's
    # Any security event on the candidate rolls back: a policy deny from a security rule, a
    # trifecta or injection hold, a refused forged decision.
    security_events: bool = True


class RolloutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field(min_length=1, max_length=64)
    stable: str = Field(min_length=1, max_length=64)
    candidate: str = Field(min_length=1, max_length=64)
    strategy: Strategy = Strategy.CANARY
    # Each stage's share of traffic in per cent; None: the strategy's own.
    stages: tuple[float, ...] | None = None
    window: timedelta = timedelta(minutes=10)
    # Below this many finished runs of the candidate in a window, its analysis is inconclusive
    # and the stage waits another window.
    min_runs: int = Field(default=20, ge=1)
    thresholds: Thresholds = Thresholds()
    started_by: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _sound(self) -> "RolloutRequest":
        if self.stable == self.candidate:
            raise ValueError("candidate: the same version as stable")
        stages = self.stages or STAGES[self.strategy]
        if any(not 0 < s <= 100 for s in stages) or list(stages) != sorted(stages):
            raise ValueError("stages: rising shares in per cent, each above 0 and at most 100")
        if stages[-1] != 100 and self.strategy is not Strategy.SHADOW:
            raise ValueError("stages: the last stage sends all traffic (100)")
        return self

    def plan(self) -> tuple[float, ...]:
        return self.stages or STAGES[self.strategy]


class Split(BaseModel):
    """What PREPARING reads: which version an unpinned run of ``agent`` gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str
    rollout_id: str
    stable: str
    candidate: str
    percent: float = Field(ge=0, le=100)
    stage: str
    # ``percent`` of requests are copied to the candidate; every run stays on stable.
    shadow: bool = False


class ShadowCopy(BaseModel):
    """What PREPARING tells a run to copy itself to (a shadow rollout's candidate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rollout_id: str
    version: str


class Routed(BaseModel):
    """An unpinned run's version, why it got it, and the version its shadow copy runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str | None = None  # None: the agent's default
    reason: str
    shadow: ShadowCopy | None = None


class VersionFigures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    runs: int = 0  # finished in the window
    failed: int = 0
    p95_latency_s: float | None = None
    cost_per_run_usd: float | None = None
    security_events: int = 0

    @property
    def error_rate(self) -> float:
        return self.failed / self.runs if self.runs else 0.0


class Verdict(StrEnum):
    ADVANCE = "advance"
    ROLLBACK = "rollback"
    INCONCLUSIVE = "inconclusive"


class Analysis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: str
    window_start: datetime
    window_end: datetime
    stable: VersionFigures
    candidate: VersionFigures
    verdict: Verdict
    reasons: tuple[str, ...] = ()


class AnalyzeInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str
    stable: str
    candidate: str
    stage: str
    window_start: datetime
    window_end: datetime
    min_runs: int
    thresholds: Thresholds


class Action(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


class Command(BaseModel):
    """An operator's command (the ``command`` update), audited with who and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    by: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _rollback_says_why(self) -> "Command":
        if self.action is Action.ROLLBACK and not self.reason:
            raise ValueError("reason: required to roll back")
        return self


class Phase(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    # A shadow rollout whose windows passed: stable keeps the traffic until promote (or
    # rollback) says otherwise.
    AWAITING_PROMOTION = "awaiting_promotion"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"


class Event(BaseModel):
    """One step of the rollout's story: a stage, an analysis, a command, the end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    what: str
    by: str


class RolloutStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rollout_id: str
    agent: str
    stable: str
    candidate: str
    strategy: Strategy
    stage: int  # index into the plan
    percent: float
    phase: Phase
    last_analysis: Analysis | None = None
    events: tuple[Event, ...] = ()


class SplitChange(BaseModel):
    """The routing to write, and the audit event saying who changed it and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: Split
    by: str
    action: str
    detail: dict[str, object] = Field(default_factory=dict)
