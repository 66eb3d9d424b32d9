"""Run requests, live status and results."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from agentrun.contracts.agents import Budget
from agentrun.contracts.evaluation import EvalBinding, Observation
from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.model import Compaction, TokenUsage
from agentrun.contracts.model_ref import MODEL_PATTERN
from agentrun.contracts.review import PendingReview, RejectedReview, ReviewRecord
from agentrun.contracts.states import FailureCategory, RunState, Transition, time_in_states
from agentrun.contracts.tools import ToolCallRecord

if TYPE_CHECKING:  # resolved by agentrun.contracts.carry, which needs this module's models
    from agentrun.contracts.carry import CarriedRun

MAX_INPUT_BYTES = 256 * 1024

# How long a worker may hold one of a run's workflow tasks. Temporal's default, 10 s, is how long
# a task a worker had taken waits when that worker dies, and it was most of what a worker kill cost
# the runs it held (docs/performance.md, "Three workers under chaos"). A task is milliseconds of
# work (the SDK's deadlock detector stops one at 2 s of CPU), so 4 s leaves room for a loaded box.
# Every starter of an AgentRun sets it: the client, shadow copies, evaluations, teams.
RUN_TASK_TIMEOUT = timedelta(seconds=4)

# How deep agents may call agents (a run's child's child ...): a cycle of agents calling each
# other ends here, with a tool error, rather than in runs without end.
MAX_TEAM_DEPTH = 4


class ParentLink(BaseModel):
    """What a child run (an agent called as a tool) inherits from the run that called it.

    Set only by the parent workflow; a run trusts it only when Temporal names that parent
    (``workflow.info().parent``), so a caller cannot claim a parent's grants or identity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(min_length=1, max_length=200)
    root_run_id: str = Field(min_length=1, max_length=200)
    # The parent's agent and version: its policies bind the child too (narrowed, never widened).
    agent: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64)
    tool: str = Field(min_length=1, max_length=64)
    depth: int = Field(ge=1, le=MAX_TEAM_DEPTH)
    handoff: bool = False
    # The child's share of what the parent had left (None: no limit on that measure).
    budget: Budget | None = None
    time_left: timedelta | None = None
    # The parent's trust labels when it called: the child's input came from that conversation.
    private_data: bool = False
    untrusted: bool = False
    # The parent's trace id: the child's, when no trace context came with it.
    trace_id: str | None = Field(default=None, max_length=64)


# Fields added to RunRequest after grants were first signed over its dump: left out when unset.
LATER_FIELDS = ("parent", "carried")


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
    # This run is an agent another run called as a tool (set by that run, see ParentLink).
    parent: ParentLink | None = None
    # The run's own state when it continued as new (contracts.carry): set by the run alone, and
    # refused unless Temporal says this execution continued another.
    carried: "CarriedRun | None" = None

    @model_serializer(mode="wrap")
    def _omit_unset_carry(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Without ``parent`` and ``carried`` a request dumps as it did before those fields:
        start grants digest the dump, and runs in flight verify theirs again when they replay."""
        data = handler(self)
        if isinstance(data, dict):
            for later in LATER_FIELDS:
                if data.get(later, False) is None:
                    del data[later]
        return data


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


class ChildRun(BaseModel):
    """A run this run called as a tool, as its parent sees it; also the progress the child
    signals to its parent (``SIGNAL_CHILD_PROGRESS``) at each change of state and after each
    model call. Usage counts the child's own children; ``pending_review`` is the review the
    child waits for, its own or one of its children's (``waiting_on`` says whose)."""

    run_id: str
    agent: str
    tool: str
    handoff: bool = False
    version: str | None = None
    state: RunState = RunState.INIT
    step: int = 0
    usage: Usage = Usage()
    pending_review: PendingReview | None = None
    waiting_on: str | None = None
    failure: Failure | None = None
    confidence: float | None = None
    private_data_seen: bool = False
    untrusted_seen: bool = False


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
    # Calls made before those in ``tool_calls`` (a run that continued as new carries only its
    # latest calls; all of them are in its record in the store).
    tool_calls_earlier: int = 0
    pending_review: PendingReview | None = None
    reviews: list[ReviewRecord] = Field(default_factory=list)
    rejected_reviews: list[RejectedReview] = Field(default_factory=list)
    # Policy decisions and refused review decisions, each an audit event.
    governance: list[GovernanceEvent] = Field(default_factory=list)
    governance_earlier: int = 0  # likewise: events before those in ``governance``
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

    # A team: the run that called this one as a tool, the run at the top, and the runs this one
    # called (docs/teams.md).
    parent_run_id: str | None = None
    root_run_id: str | None = None
    children: list[ChildRun] = Field(default_factory=list)
    # Model calls that left old turns out to fit the model's context window, in order (the
    # agent's model.context; docs/models.md). The stored conversation keeps every message.
    compactions: list[Compaction] = Field(default_factory=list)
    # The call in flight, e.g. "model openai:gpt-4o" or "tool lookup_order" (None between).
    running: str | None = None

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
    confidence: float | None = None
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
