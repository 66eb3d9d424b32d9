"""Tool contracts and the envelopes a tool call travels in (docs/tools.md).

A contract is data: it crosses into the workflow (which derives retry policy, timeouts, approval
gates and fallbacks from it) and into history once per run, so it holds JSON Schemas rather than
Python classes. The classes live beside the tool implementation in the agent registry.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentrun.contracts.evaluation import RecordedResult, RunMode
from agentrun.contracts.names import TOOL_ACTIVITY_PREFIX


class SideEffect(StrEnum):
    NONE = "none"
    IDEMPOTENT = "idempotent"
    NON_IDEMPOTENT = "non_idempotent"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RetentionClass(StrEnum):
    BUSINESS_90D = "business_90d"
    LEGAL_7Y = "legal_7y"


class RetrySpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_interval: timedelta = timedelta(seconds=1)
    backoff: float = Field(default=2.0, ge=1.0, le=10.0)
    max_interval: timedelta = timedelta(seconds=30)


class ToolPolicy(BaseModel):
    """The part of a tool contract the workflow acts on: retries, timeouts, fallback, approval.

    It is what enters history for each run; descriptions and schemas stay with the worker.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    # The activity type the tool runs as, when it is not ``tool.<name>``: an MCP tool keeps its
    # server's names (``tool.<server>.<tool>``), which a tool name cannot hold.
    activity: str | None = Field(default=None, pattern=r"^tool\.\S{1,200}$")
    side_effect: SideEffect = SideEffect.NONE
    # A non-idempotent tool that deduplicates on the idempotency key may be retried; one that
    # does not is called at most once.
    accepts_idempotency_key: bool = False
    atomic: bool = True
    retention: RetentionClass = RetentionClass.BUSINESS_90D
    timeout: timedelta = timedelta(seconds=10)
    total_timeout: timedelta | None = None
    retry: RetrySpec = RetrySpec()
    fallback: str | None = None
    requires_approval: bool = False
    # Approval also required when a numeric param exceeds its threshold, e.g. {"amount": 100}.
    approval_above: dict[str, float] = Field(default_factory=dict)
    risk: RiskLevel = RiskLevel.LOW
    # Trust labels for the guardrails (docs/governance.md): what the tool's output is and what it
    # can do.
    # untrusted_output: its output is content from outside (web, email, documents) that may carry
    # injected instructions; private_data: it reads customer or other private data;
    # exfiltration: it can send data out of the system (email, HTTP, uploads). A run that has
    # seen both of the first two may not call an exfiltration tool without approval.
    untrusted_output: bool = False
    private_data: bool = False
    exfiltration: bool = False
    # An agent as a tool (docs/teams.md): a call starts a child run of this agent (its own run
    # id, state, record and reviews) whose answer is the tool's result; with ``handoff`` the
    # child's answer becomes the calling run's own.
    # All three left out of dumps when unset: versions published before teams keep their digest.
    agent: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_-]{0,63}$", exclude_if=lambda v: v is None
    )
    agent_version: str | None = Field(
        default=None, min_length=1, max_length=64, exclude_if=lambda v: v is None
    )
    handoff: bool = Field(default=False, exclude_if=lambda v: not v)

    @model_validator(mode="after")
    def _fallback_is_another_tool(self) -> "ToolPolicy":
        if self.fallback == self.name:
            raise ValueError(f"tool {self.name!r} cannot be its own fallback")
        if self.agent is None and (self.handoff or self.agent_version is not None):
            raise ValueError(f"tool {self.name!r}: handoff and agent_version need an agent")
        return self


def activity_type(policy: "ToolPolicy") -> str:
    """The Temporal activity type a tool is scheduled and registered as."""
    return policy.activity or f"{TOOL_ACTIVITY_PREFIX}{policy.name}"


class ToolContract(ToolPolicy):
    """Everything the platform needs to call a tool safely, declared once per tool."""

    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]

    def policy(self) -> ToolPolicy:
        """Only what the author set travels; the rest decodes to the same defaults."""
        return ToolPolicy.model_validate(
            self.model_dump(include=set(ToolPolicy.model_fields), exclude_defaults=True)
        )


class RequestContext(BaseModel):
    """Injected by the platform into every tool call; never produced by the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str
    tenant_id: str
    request_id: str
    run_id: str
    trace_id: str
    timestamp: datetime
    # The calling agent; defaulted so tool calls scheduled before this field existed decode.
    agent: str = ""
    # An evaluation or shadow run: a tool with side effects answers from its dry run.
    mode: RunMode = RunMode.LIVE
    # The calling agent's version (fault drills may target one version).
    version: str = ""


class ToolInput(BaseModel):
    """The ``{tool, params, context}`` envelope; ``idempotency_key`` is stable across retries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str
    params: dict[str, Any]
    context: RequestContext
    idempotency_key: str
    # An evaluation replaying a production run: the tool's recorded result, returned instead
    # of calling it (still checked against its output contract).
    recorded: RecordedResult | None = None


ToolStatus = Literal["success", "partial", "error"]


class ToolMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempt: int
    duration_ms: float
    cost_usd: float = 0.0


class ToolOutput(BaseModel):
    """The ``{status, data, metadata}`` envelope; ``data`` has passed the output schema."""

    model_config = ConfigDict(extra="forbid")

    status: ToolStatus
    data: dict[str, Any]
    metadata: ToolMetadata


class ToolErrorDetail(BaseModel):
    """Attached to a tool's ApplicationError so the workflow can record the error pattern."""

    tool: str
    error_class: str
    retryable: bool
    attempt: int
    status_code: int | None = None
    field: str | None = None


ToolCallStatus = Literal["success", "partial", "error", "rejected"]


class ToolCallRecord(BaseModel):
    """What the run remembers of one tool call (and its fallback, if one ran)."""

    call_id: str
    step: int
    tool: str
    status: ToolCallStatus
    attempts: int
    idempotency_key: str
    started_at: datetime
    finished_at: datetime
    error_class: str | None = None
    retryable: bool | None = None
    message: str | None = None
    fallback_for: str | None = None
    approved_by: str | None = None
