"""Run requests, live status and results."""

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentrun.contracts.agents import Budget
from agentrun.contracts.evaluation import EvalBinding, Observation
from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.model import TokenUsage
from agentrun.contracts.model_ref import MODEL_PATTERN
from agentrun.contracts.review import PendingReview, RejectedReview, ReviewRecord
from agentrun.contracts.states import FailureCategory, RunState, Transition, time_in_states
from agentrun.contracts.tools import ToolCallRecord

MAX_INPUT_BYTES = 256 * 1024


class RunRequest(BaseModel):
    """What a service sends to start a run; ``request_id`` doubles as the idempotency key.

    No field has a random default: the workflow decodes this on every replay.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")
    version: str | None = Field(default=None, max_length=64)
    input: dict[str, Any] = Field(default_factory=dict)
    tenant_id: str = Field(default="default", min_length=1, max_length=128)
    user_id: str = Field(default="anonymous", min_length=1, max_length=128)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    # A caller may tighten the agent's budget for this run, never loosen it.
    budget: Budget | None = None
    # Another model for this run, as provider:model (e.g. openai:gpt-4o-mini); recorded in the
    # run's plan and status like its version.
    model: str | None = Field(default=None, pattern=MODEL_PATTERN)
    # A signed start grant (``agentrun.logic.grants``), required when auth is on.
    grant: str | None = Field(default=None, min_length=1, max_length=4096)
    # This run is a case of an evaluation (or a shadow copy): side effects dry, reviews answered
    # as the case says. Set by the Evaluation workflow, which starts such runs as its children.
    evaluation: EvalBinding | None = None


class Failure(BaseModel):
    category: FailureCategory
    message: str
    field: str | None = None


class Usage(BaseModel):
    model_calls: int = 0
    tool_calls: int = 0
    tokens: TokenUsage = TokenUsage()
    model_cost_usd: float = 0.0
    tool_cost_usd: float = 0.0

    @property
    def cost_usd(self) -> float:
        return self.model_cost_usd + self.tool_cost_usd


class RunStatus(BaseModel):
    """The live picture of a run, returned by the ``status`` query."""

    run_id: str
    agent: str
    version: str | None = None
    # The Temporal execution this status is of (its first run id): a run id runs once.
    execution_id: str | None = None
    # Why it got its version: "pinned", "default", or the rollout stage that routed it.
    version_reason: str | None = None
    # The model the run calls, provider:model (None until PREPARING has resolved it).
    model: str | None = None
    tenant_id: str
    user_id: str
    request_id: str
    trace_id: str
    state: RunState
    transitions: list[Transition]
    step: int = 0
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    pending_review: PendingReview | None = None
    reviews: list[ReviewRecord] = Field(default_factory=list)
    rejected_reviews: list[RejectedReview] = Field(default_factory=list)
    # Policy decisions and refused review decisions, each an audit event.
    governance: list[GovernanceEvent] = Field(default_factory=list)
    # Trust labels: the run has read private data / seen untrusted outside content (tools'
    # contract flags). Both together put its exfiltration-capable tools behind approval.
    private_data_seen: bool = False
    untrusted_seen: bool = False
    usage: Usage = Usage()
    budget: Budget | None = None
    output: dict[str, Any] | None = None
    confidence: float | None = None
    human_override: bool = False
    failure: Failure | None = None

    def time_in_states(self, now: datetime | None = None) -> dict[RunState, timedelta]:
        """Time spent in each state; the current state counts up to ``now``."""
        return time_in_states(self.transitions, now)


class RunResult(BaseModel):
    """The workflow's return value; a FAILED run raises instead, with this in the details."""

    run_id: str
    state: RunState
    output: dict[str, Any] | None = None
    failure: Failure | None = None
    human_override: bool = False
    usage: Usage = Usage()
    # What an evaluated run did (its request's ``evaluation`` set), for the scorers.
    observed: Observation | None = None


class RunSummary(BaseModel):
    """One row of a run listing, read from Temporal visibility (search attributes)."""

    run_id: str
    agent: str | None
    version: str | None
    state: str | None
    tenant_id: str | None
    execution_status: str
    started_at: datetime | None
    closed_at: datetime | None = None


class RecordAck(BaseModel):
    """What a flush of the run record wrote (zeros when the store is off)."""

    transitions: int
    reviews: int
    tool_calls: int
