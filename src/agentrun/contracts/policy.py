"""Policy documents and the decisions the policy engine takes at a run's checkpoints.

See docs/governance.md.

A policy is data an operator writes (YAML or JSON), so every field is validated strictly: a
quoted number, a boolean where a number belongs or a misspelt key is an error rather than a
silently different policy. The engine that evaluates these lives in ``agentrun.logic.policy``.
"""

import hashlib
import json
import math
import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)


class Checkpoint(StrEnum):
    INPUT = "input"
    BEFORE_MODEL = "before_model"
    BEFORE_TOOL = "before_tool"
    AFTER_TOOL = "after_tool"
    OUTPUT = "output"


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ESCALATE = "escalate"
    REDACT = "redact"


# How restrictive each verdict is: the most restrictive one firing decides.
VERDICT_RANK: dict[Verdict, int] = {
    Verdict.ALLOW: 0,
    Verdict.REDACT: 1,
    Verdict.ESCALATE: 2,
    Verdict.DENY: 3,
}

# Rule ids the engine itself decides with; documents may not use the prefix.
BUILTIN_PREFIX = "builtin."
UNKNOWN_TOOL_RULE = "builtin.unknown_tool"
ERROR_RULE = "builtin.error"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _number(value: object) -> object:
    """YAML turns ``yes`` into True and True is 1 to Python: neither is a number here."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")  # noqa: TRY004 -- pydantic reports only ValueError
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("is too large") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return value


def _scalar(value: object) -> object:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ValueError(f"must be a string, number, true/false or null, got {type(value).__name__}")


def _duration(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a duration like 30s, 10m, 1h or 7d")  # noqa: TRY004 -- as above
    try:
        if isinstance(value, int):
            return timedelta(seconds=value)
        if isinstance(value, str) and (match := _DURATION.match(value)):
            return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    except OverflowError:
        raise ValueError("is too long") from None
    if isinstance(value, str) and value.startswith(("P", "p")):
        return value  # ISO 8601, parsed by pydantic
    raise ValueError("must be a duration like 30s, 10m, 1h or 7d")


def _version(value: object) -> object:
    """``version: 2`` in YAML is an int; ``version: 1.10`` is the float 1.1, so it is refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError('must be a string: quote it, e.g. version: "1.10"')  # noqa: TRY004
    return value


Number = Annotated[float, BeforeValidator(_number)]
ToolName = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Scalar = Annotated[str | int | float | bool | None, BeforeValidator(_scalar)]
RuleId = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")]
ArgPath = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
Version = Annotated[StrictStr, BeforeValidator(_version), Field(min_length=1, max_length=64)]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Verdicts a rule of this kind may give, and the checkpoints it is evaluated at.
    verdicts: ClassVar[tuple[Verdict, ...]] = (Verdict.DENY, Verdict.ESCALATE)
    checkpoints_of_kind: ClassVar[tuple[Checkpoint, ...]] = (Checkpoint.BEFORE_TOOL,)

    id: RuleId
    description: StrictStr | None = None
    verdict: Verdict = Verdict.DENY

    @field_validator("id")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value.startswith(BUILTIN_PREFIX):
            raise ValueError(f"must not start with {BUILTIN_PREFIX!r}: reserved for the engine")
        return value

    @field_validator("verdict", mode="before")
    @classmethod
    def _allowed_verdict(cls, value: object) -> object:
        allowed = [v.value for v in cls.verdicts]
        if value not in allowed:
            raise ValueError(f"must be {' or '.join(allowed)}, got {value!r}")
        return value

    @property
    def checkpoints(self) -> tuple[Checkpoint, ...]:
        return self.checkpoints_of_kind


class ToolAllowlistRule(_Rule):
    """The tools the agent may call; any other call gets this rule's verdict."""

    kind: Literal["tool_allowlist"]
    tools: tuple[ToolName, ...]


class ArgConstraintRule(_Rule):
    """A limit on one argument of one tool; a missing or mistyped argument violates it."""

    kind: Literal["arg_constraint"]
    tool: ToolName
    path: ArgPath
    max: Number | None = None
    min: Number | None = None
    one_of: tuple[Scalar, ...] | None = None
    not_one_of: tuple[Scalar, ...] | None = None
    pattern: StrictStr | None = None
    max_length: Annotated[StrictInt, Field(ge=0)] | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except (re.error, OverflowError) as err:
                raise ValueError(f"invalid regex: {err}") from None
            except RecursionError:
                raise ValueError("invalid regex: nested too deeply") from None
        return value

    @model_validator(mode="after")
    def _constrains_something(self) -> "ArgConstraintRule":
        if all(
            v is None
            for v in (
                self.max,
                self.min,
                self.one_of,
                self.not_one_of,
                self.pattern,
                self.max_length,
            )
        ):
            raise ValueError(
                "needs at least one of max, min, one_of, not_one_of, pattern, max_length"
            )
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min: {self.min:g} is above max {self.max:g}")
        return self


class BudgetRule(_Rule):
    """Steps, tokens and cost a run may use, checked before each model and tool call."""

    checkpoints_of_kind = (Checkpoint.BEFORE_MODEL, Checkpoint.BEFORE_TOOL)

    kind: Literal["budget"]
    max_steps: Annotated[StrictInt, Field(ge=1)] | None = None
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    max_cost_usd: Annotated[Number, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _limits_something(self) -> "BudgetRule":
        if self.max_steps is None and self.max_tokens is None and self.max_cost_usd is None:
            raise ValueError("needs at least one of max_steps, max_tokens, max_cost_usd")
        return self


class RateLimitRule(_Rule):
    """Runs a tenant may start within ``window``; the caller counts them for that window."""

    checkpoints_of_kind = (Checkpoint.INPUT,)

    kind: Literal["rate_limit"]
    max_runs: Annotated[StrictInt, Field(ge=1)]
    window: Duration

    @field_validator("window")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


class LoopRule(_Rule):
    """The same tool with the same arguments at most ``max_identical_calls`` times a run."""

    kind: Literal["loop"]
    max_identical_calls: Annotated[StrictInt, Field(ge=1)]
    tools: tuple[ToolName, ...] | None = None


class LethalTrifectaRule(_Rule):
    """Private data + untrusted content + a tool that can send data out: a human decides."""

    kind: Literal["lethal_trifecta"]
    verdict: Verdict = Verdict.ESCALATE


InjectionCheckpoint = Literal[Checkpoint.INPUT, Checkpoint.AFTER_TOOL]
OutputCheckpoint = Literal[Checkpoint.OUTPUT, Checkpoint.AFTER_TOOL]


class InjectionRule(_Rule):
    """Screens the run's input and tool output for prompt injection.

    ``untrusted_only``: at after_tool, screen only tools whose output is outside content.
    """

    verdicts = (Verdict.DENY, Verdict.ESCALATE, Verdict.REDACT)

    kind: Literal["injection"]
    verdict: Verdict = Verdict.ESCALATE
    at: tuple[InjectionCheckpoint, ...] = (Checkpoint.INPUT, Checkpoint.AFTER_TOOL)
    untrusted_only: StrictBool = False

    @property
    def checkpoints(self) -> tuple[Checkpoint, ...]:
        return tuple(dict.fromkeys(self.at))


class RedactOutputRule(_Rule):
    """Asks the caller to redact the run's output (and tool output) before it is kept or shown."""

    verdicts = (Verdict.REDACT,)

    kind: Literal["redact_output"]
    verdict: Verdict = Verdict.REDACT
    at: tuple[OutputCheckpoint, ...] = (Checkpoint.OUTPUT, Checkpoint.AFTER_TOOL)
    # At after_tool, only the output of these tools (all tools when unset).
    tools: tuple[ToolName, ...] | None = None

    @property
    def checkpoints(self) -> tuple[Checkpoint, ...]:
        return tuple(dict.fromkeys(self.at))


Rule = Annotated[
    ToolAllowlistRule
    | ArgConstraintRule
    | BudgetRule
    | RateLimitRule
    | LoopRule
    | LethalTrifectaRule
    | InjectionRule
    | RedactOutputRule,
    Field(discriminator="kind"),
]


def _kind(model: type[BaseModel]) -> str:
    (kind,) = get_args(model.model_fields["kind"].annotation)
    return str(kind)


# Derived from the union, so a new rule model is a new kind everywhere (loader, engine, CLI).
RULE_MODELS: dict[str, type[BaseModel]] = {
    _kind(model): model for model in get_args(get_args(Rule)[0])
}
RULE_KINDS: tuple[str, ...] = tuple(RULE_MODELS)


class AppliesTo(BaseModel):
    """Which runs a document governs; an empty list means every agent (or tenant)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agents: tuple[StrictStr, ...] = ()
    tenants: tuple[StrictStr, ...] = ()


class PolicyDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_id: RuleId
    version: Version
    description: StrictStr | None = None
    applies_to: AppliesTo = AppliesTo()
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> "PolicyDocument":
        first: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.id in first:
                raise ValueError(
                    f"rules[{index}] ({rule.id}): id: duplicate of rules[{first[rule.id]}]"
                )
            first[rule.id] = index
        return self

    def digest(self) -> str:
        """sha256 of the canonical JSON of the validated document: names the exact policy text.

        Canonical over the validated form, so reformatting the file or reordering its keys keeps
        the digest, while any change in meaning (a default included) changes it.
        """
        text = json.dumps(
            self.model_dump(mode="json"),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Rules whose holds (deny, escalate) are security events: a rollout rolls back on any of them,
# and they are counted apart from business rules (a refund cap) in metrics and alerts.
SECURITY_RULE_KINDS = frozenset({"injection", "lethal_trifecta", "tool_allowlist"})
REVIEW_REFUSED_EVENT = "review_refused"


class PolicyDecision(BaseModel):
    """What the engine decided at one checkpoint, and which rule of which policy text decided it.

    ``rule_id`` is None for an allow (no rule fired); the ``builtin.*`` ids are the engine's own.
    """

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    rule_id: str | None
    policy_id: str | None
    policy_version: str | None
    policy_digest: str | None
    checkpoint: Checkpoint
    reason: str

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW
