"""Agent specs: the snapshot of prompt, model, tools and policies a run executes.

See docs/agents.md.
"""

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentrun.contracts.model_ref import split_model
from agentrun.contracts.policy import PolicyDocument
from agentrun.contracts.tools import ToolContract, ToolPolicy


class AgentRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


class ScriptCall(BaseModel):
    """One of several tool calls a scripted step asks for at once (``ScriptStep.calls``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class ScriptStep(BaseModel):
    """One decision of the scripted (offline, deterministic) model: one tool call (``tool``),
    several at once (``calls``, as real models ask for parallel tool calls), or the final answer.

    Values may hold ``{{input.x}}`` or ``{{tools.<tool>.<field>}}`` templates; a value that is a
    single template keeps the referenced value's type.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    # Left out of dumps when empty, so versions published before it keep their digest.
    calls: tuple[ScriptCall, ...] = Field(default=(), exclude_if=lambda calls: not calls)
    final: dict[str, Any] | None = None
    confidence: float = Field(default=0.95, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_kind(self) -> "ScriptStep":
        kinds = (self.tool is not None) + bool(self.calls) + (self.final is not None)
        if kinds != 1:
            raise ValueError(
                "a script step is one tool call (tool), several (calls) or a final answer (final)"
            )
        return self

    def tools(self) -> tuple[str, ...]:
        """The tool names this step calls, in order."""
        if self.tool is not None:
            return (self.tool,)
        return tuple(call.tool for call in self.calls)


class ScriptedOptions(BaseModel):
    """The scripted provider's own options: what the offline, deterministic model answers. An
    agent with a real model may keep a script too, to run offline (``--model scripted:...``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    script: tuple[ScriptStep, ...] = ()


class CompactionStrategy(StrEnum):
    """What a model call does when the conversation nears the model's context window."""

    FAIL = "fail"  # send it all; the provider refuses it (context_overflow), as before
    DROP_OLDEST = "drop_oldest"  # leave the oldest turns out, with a marker saying so
    SUMMARIZE = "summarize"  # replace them with the model's own summary of them


class ContextPolicy(BaseModel):
    """How an agent's conversation is kept within its model's context window (docs/models.md,
    "Long conversations"). The default, ``fail``, is the behaviour agents had before there was
    a choice: a version that declares nothing keeps its digest and means what it meant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: CompactionStrategy = CompactionStrategy.FAIL
    # The model's context window in tokens; None: the window agentrun knows for the model
    # (logic.compaction.KNOWN_WINDOWS), or, for a model it does not know, compaction only once
    # the provider has refused a prompt as too long.
    window_tokens: int | None = Field(default=None, ge=1)
    # Compact when the estimated prompt exceeds this share of the window.
    compact_at: float = Field(default=0.8, gt=0.0, le=1.0)
    # The latest turns (a model reply with its tool results) are always sent, whatever it takes.
    keep_last_turns: int = Field(default=4, ge=1)


def _is_default_context(policy: ContextPolicy) -> bool:
    return policy == ContextPolicy()


class ModelSettings(BaseModel):
    """Which model an agent calls, as ``provider:model`` text or these fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = "scripted"
    model: str = "scripted-1"
    temperature: float = 0.0
    max_output_tokens: int = Field(default=1024, ge=1)
    scripted: ScriptedOptions = ScriptedOptions()
    # Left out of dumps when it is the default, so versions published before it existed keep
    # their snapshot and digest (logic.versions): the default changes nothing they do.
    context: ContextPolicy = Field(default=ContextPolicy(), exclude_if=_is_default_context)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str):
            provider, model = split_model(value)
            return {"provider": provider, "model": model}
        return value

    @model_validator(mode="after")
    def _known_provider(self) -> "ModelSettings":
        split_model(self.ref)
        return self

    @property
    def ref(self) -> str:
        """``provider:model``, as agents, run requests and the CLI name a model."""
        return f"{self.provider}:{self.model}"


class ReviewMode(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    LOW_CONFIDENCE = "low_confidence"


class ReviewPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: ReviewMode = ReviewMode.ALWAYS
    confidence_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    # Share of runs routed to review for quality auditing even when not otherwise required.
    sample_rate: float = Field(default=0.01, ge=0.0, le=1.0)


class EscalationAction(StrEnum):
    AUTO_REJECT = "auto_reject"
    AUTO_APPROVE = "auto_approve"
    ESCALATE = "escalate"


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: EscalationAction = EscalationAction.AUTO_REJECT
    escalation_reviewers: tuple[str, ...] = ()
    escalation_deadline: timedelta = timedelta(minutes=5)

    @model_validator(mode="after")
    def _escalation_has_group(self) -> "EscalationPolicy":
        if self.action is EscalationAction.ESCALATE and not self.escalation_reviewers:
            raise ValueError("escalation_reviewers: required when action is 'escalate'")
        return self


class BudgetAction(StrEnum):
    FAIL = "fail"
    REVIEW = "review"


class Budget(BaseModel):
    """Limits on what a run may spend; None means no limit on that measure.

    ``on_exceeded``: fail the run (``budget_exceeded``) or ask a reviewer, whose approval grants
    the same budget once more.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_steps: int | None = Field(default=None, ge=1)
    on_exceeded: BudgetAction = BudgetAction.FAIL


class StateDeadlines(BaseModel):
    """Per-state deadlines (docs/lifecycle.md), overridable per agent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    init: timedelta = timedelta(seconds=30)
    preparing: timedelta = timedelta(seconds=60)
    executing: timedelta = timedelta(minutes=30)
    reviewing: timedelta = timedelta(minutes=5)


class RunPlan(BaseModel):
    """What the workflow needs of a spec to run it; enters history once, in PREPARING.

    Prompts, tool descriptions and schemas and the model script stay on the worker side: the
    activities look them up by ``ref``, so they never travel through history.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    provider: str
    model: str
    tools: tuple[ToolPolicy, ...]
    max_steps: int
    loop_threshold: int
    budget: Budget = Budget()
    review: ReviewPolicy
    deadlines: StateDeadlines
    escalation: EscalationPolicy
    reviewers: tuple[str, ...]
    # The guardrail policies in force (docs/governance.md), evaluated in the workflow at each
    # checkpoint.
    policies: tuple[PolicyDocument, ...] = ()

    @property
    def ref(self) -> AgentRef:
        return AgentRef(name=self.name, version=self.version)

    def tool(self, name: str) -> ToolPolicy | None:
        return next((t for t in self.tools if t.name == name), None)


class AgentSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    version: str = Field(min_length=1, max_length=64)
    description: str = ""
    system_prompt: str
    model: ModelSettings = ModelSettings()
    tools: tuple[ToolContract, ...] = ()
    max_steps: int = Field(default=20, ge=1, le=10_000)
    loop_threshold: int = Field(default=3, ge=2)
    budget: Budget = Budget()
    review: ReviewPolicy = ReviewPolicy()
    deadlines: StateDeadlines = StateDeadlines()
    escalation: EscalationPolicy = EscalationPolicy()
    reviewers: tuple[str, ...] = ()
    # Guardrail policies that apply to this agent (policy files, loaded and validated).
    policies: tuple[PolicyDocument, ...] = ()

    @property
    def ref(self) -> AgentRef:
        return AgentRef(name=self.name, version=self.version)

    def tool(self, name: str) -> ToolContract | None:
        return next((t for t in self.tools if t.name == name), None)

    def plan(self) -> RunPlan:
        return RunPlan(
            name=self.name,
            version=self.version,
            provider=self.model.provider,
            model=self.model.model,
            tools=tuple(t.policy() for t in self.tools),
            max_steps=self.max_steps,
            loop_threshold=self.loop_threshold,
            budget=self.budget,
            review=self.review,
            deadlines=self.deadlines,
            escalation=self.escalation,
            reviewers=self.reviewers,
            policies=self.policies,
        )

    @model_validator(mode="after")
    def _tools_consistent(self) -> "AgentSpec":
        names = [t.name for t in self.tools]
        if len(names) != len(set(names)):
            raise ValueError(f"tools: duplicate tool names in {names}")
        for t in self.tools:
            if t.fallback is not None and t.fallback not in names:
                raise ValueError(f"tools: {t.name}.fallback {t.fallback!r} is not one of {names}")
        return self
