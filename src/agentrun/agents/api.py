"""The short way to declare tools and agents: ``@tool`` on a typed function, then ``Agent(...)``.

Both build what the rest of agentrun already knows (``ToolDefinition``, ``AgentDefinition``), so
nothing downstream learns a second form and ``define_tool``/``AgentSpec`` stay the full-control
layer (docs/agents.md). Whatever cannot become a contract is refused when the module is imported,
in one line naming the function and parameter (or the agent and field), so a worker with it does
not start rather than a run failing later.
"""

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrun.agents.registry import AgentDefinition, ToolDefinition, ToolFn, define_tool
from agentrun.agents.signatures import DeclarationError, Signature, caller, read_signature
from agentrun.agents.team import agent_tool
from agentrun.contracts.agents import (
    AgentSpec,
    Budget,
    EscalationPolicy,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptStep,
    StateDeadlines,
)
from agentrun.contracts.policy import PolicyDocument
from agentrun.contracts.tools import RetentionClass, RetrySpec, RiskLevel, SideEffect
from agentrun.logic.evaluation.scorers import Scorer
from agentrun.logic.policy import load_policy_file

if TYPE_CHECKING:  # the annotation only: an agent without MCP servers never loads the MCP SDK
    from agentrun.agents.mcp import McpServer

P = ParamSpec("P")
R = TypeVar("R")
E = TypeVar("E", bound=StrEnum)

SideEffectName = Literal["none", "idempotent", "non_idempotent"]
RiskName = Literal["low", "medium", "high"]
RetentionName = Literal["business_90d", "legal_7y"]
ReviewName = Literal["always", "never", "low_confidence"]
Seconds = timedelta | float


@dataclass(frozen=True)
class Tool(ToolDefinition, Generic[P, R]):
    """A ``ToolDefinition`` made by ``@tool``: calling it calls the plain function, so a unit
    test needs no worker, and anything that takes a ToolDefinition takes it."""

    function: Callable[P, R]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)


@overload
def tool(fn: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    side_effect: SideEffect | SideEffectName = SideEffect.NONE,
    dedups_on_key: bool = False,
    timeout: Seconds = timedelta(seconds=10),
    total_timeout: Seconds | None = None,
    retry: RetrySpec | None = None,
    fallback: str | ToolDefinition | None = None,
    requires_approval: bool = False,
    approval_above: Mapping[str, float] | None = None,
    risk: RiskLevel | RiskName = RiskLevel.LOW,
    retention: RetentionClass | RetentionName = RetentionClass.BUSINESS_90D,
    untrusted_output: bool = False,
    private_data: bool = False,
    exfiltration: bool = False,
    dry_run: Callable[..., Any] | None = None,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    side_effect: SideEffect | SideEffectName = SideEffect.NONE,
    dedups_on_key: bool = False,
    timeout: Seconds = timedelta(seconds=10),
    total_timeout: Seconds | None = None,
    retry: RetrySpec | None = None,
    fallback: str | ToolDefinition | None = None,
    requires_approval: bool = False,
    approval_above: Mapping[str, float] | None = None,
    risk: RiskLevel | RiskName = RiskLevel.LOW,
    retention: RetentionClass | RetentionName = RetentionClass.BUSINESS_90D,
    untrusted_output: bool = False,
    private_data: bool = False,
    exfiltration: bool = False,
    dry_run: Callable[..., Any] | None = None,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Make a typed function a tool: its signature is the params, its return type the output,
    its docstring what the model reads. The options are ``define_tool``'s (docs/tools.md), with
    ``dedups_on_key`` for ``accepts_idempotency_key`` and timeouts in seconds or timedeltas.
    ``dry_run``: a function with the tool's own parameters, answering for it in evaluations."""

    def declare(function: Callable[P, R]) -> Tool[P, R]:
        where = f"tool {getattr(function, '__name__', repr(function))}"
        if not inspect.isfunction(function) and not inspect.ismethod(function):
            raise DeclarationError(f"{where}: only a function (async def or def) can be a tool")
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            raise DeclarationError(f"{where}: a generator cannot be a tool; return the result")
        signature = read_signature(function, where)
        told = description or signature.description
        if not told:
            raise DeclarationError(
                f"{where}: no description: give it a docstring (what the model reads to choose "
                "it) or description="
            )
        gated = dict(approval_above or {})
        unknown = sorted(set(gated) - set(signature.params.model_json_schema()["properties"]))
        if unknown:
            known = ", ".join(signature.param_names) or "none"
            raise DeclarationError(
                f"{where}: approval_above names {', '.join(map(repr, unknown))}, which is not "
                f"one of its parameters ({known})"
            )
        tool_name = name or function.__name__
        dry = _dry_run(dry_run, signature, where)
        try:
            definition = define_tool(
                caller(function, signature),
                name=tool_name,
                description=told,
                params=signature.params,
                output=signature.output,
                side_effect=_choice(SideEffect, side_effect, "side_effect", where),
                accepts_idempotency_key=dedups_on_key,
                timeout=_duration(timeout),
                total_timeout=None if total_timeout is None else _duration(total_timeout),
                retry=retry,
                fallback=fallback.contract.name
                if isinstance(fallback, ToolDefinition)
                else fallback,
                requires_approval=requires_approval,
                approval_above=gated,
                risk=_choice(RiskLevel, risk, "risk", where),
                retention=_choice(RetentionClass, retention, "retention", where),
                untrusted_output=untrusted_output,
                private_data=private_data,
                exfiltration=exfiltration,
                dry_run=dry,
            )
        except ValidationError as err:
            if err.errors()[0]["loc"] == ("name",):
                raise DeclarationError(
                    f"{where}: name {tool_name!r} must be lowercase letters, digits and _, "
                    "starting with a letter" + ("" if name else "; pass name=")
                ) from None
            raise DeclarationError(f"{where}: {_first_problem(err)}") from None
        except ValueError as err:  # define_tool's own checks
            raise DeclarationError(str(err)) from None
        return Tool(
            contract=definition.contract,
            params_model=signature.params,
            output_model=signature.output,
            fn=definition.fn,
            function=function,
            dry_run=definition.dry_run,
        )

    return declare if fn is None else declare(fn)


def _dry_run(
    function: Callable[..., Any] | None, signature: Signature, where: str
) -> ToolFn | None:
    """The dry run, called as the tool is: it must take the same parameters, in order."""
    if function is None:
        return None
    if not callable(function):
        raise DeclarationError(f"{where}: dry_run must be a function")
    own = [p.name for p in inspect.signature(function).parameters.values()]
    wanted = [arg.name for arg in signature.args]
    if own != wanted:
        raise DeclarationError(
            f"{where}: dry_run must take the tool's parameters ({', '.join(wanted) or 'none'}), "
            f"not ({', '.join(own) or 'none'})"
        )
    return caller(function, signature)


def _choice(kind: type[E], value: E | str, option: str, where: str) -> E:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise DeclarationError(f"{where}: {option} {value!r} is not one of {known}") from None


def _duration(value: Seconds) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def _first_problem(err: ValidationError) -> str:
    problem = err.errors(include_url=False)[0]
    path = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]
    ).lstrip(".")
    return f"{path}: {problem['msg']}" if path else str(problem["msg"])


# --------------------------------------------------------------------------------------- agents


class Message(BaseModel):
    """The default input of an ``Agent``: a task in free text, as a person would type it."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="What the agent is asked to do.")


# Spec fields an Agent names otherwise, so an error names what its author wrote.
_AGENT_FIELDS = {"system_prompt": "instructions", "model.scripted.script": "script"}


class Agent:
    """An agent in one call: the ``AgentSpec`` and ``AgentDefinition`` built from what matters
    to its author, every other field at the spec's defaults (docs/agents.md). Registering it
    (``registry.register(agent)``, or a module-level ``Agent`` in a module without ``register``)
    applies every registration check."""

    __slots__ = ("_definition",)

    def __init__(
        self,
        *,
        name: str,
        model: str | ModelSettings,
        instructions: str,
        tools: Sequence[ToolDefinition] = (),
        reviewers: Sequence[str] = (),
        version: str = "1",
        description: str = "",
        input_model: type[BaseModel] = Message,
        output_model: type[BaseModel] | None = None,
        example_input: Mapping[str, Any] | None = None,
        script: Sequence[ScriptStep | Mapping[str, Any]] = (),
        review: ReviewPolicy | ReviewMode | ReviewName | None = None,
        budget: Budget | None = None,
        deadlines: StateDeadlines | None = None,
        escalation: EscalationPolicy | None = None,
        max_steps: int | None = None,
        policies: Sequence[PolicyDocument | Path | str] = (),
        setup: Callable[[Path], None] | None = None,
        mcp_servers: Sequence["McpServer"] = (),
        scorers: Sequence[Scorer] = (),
    ) -> None:
        where = f"agent {name}"
        for index, item in enumerate(tools):
            if not isinstance(item, ToolDefinition):
                what = getattr(item, "__name__", type(item).__name__)
                raise DeclarationError(
                    f"{where}: tools[{index}]: {what} is not a tool; decorate it with @tool"
                )
        for given, option in ((input_model, "input_model"), (output_model, "output_model")):
            if given is not None and not (inspect.isclass(given) and issubclass(given, BaseModel)):
                raise DeclarationError(f"{where}: {option}: {given!r} is not a pydantic model")
        fields: dict[str, Any] = {
            "name": name,
            "version": version,
            "description": description,
            "system_prompt": instructions,
            "model": _with_script(model, script, where),
            "tools": tuple(item.contract for item in tools),
            "reviewers": tuple(reviewers),
            "policies": tuple(_policy(p) for p in policies),
        }
        optional = {
            "review": _review(review, where),
            "budget": budget,
            "deadlines": deadlines,
            "escalation": escalation,
            "max_steps": max_steps,
        }
        fields.update({key: value for key, value in optional.items() if value is not None})
        try:
            spec = AgentSpec.model_validate(fields)
        except ValidationError as err:
            problem = _first_problem(err)
            for spec_field, ours in _AGENT_FIELDS.items():
                problem = re.sub(rf"^{re.escape(spec_field)}\b", ours, problem)
            raise DeclarationError(f"{where}: {problem}") from None
        self._definition = AgentDefinition(
            spec=spec,
            input_model=input_model,
            tools=tuple(tools),
            setup=setup,
            example_input=None if example_input is None else dict(example_input),
            output_model=output_model,
            mcp_servers=tuple(mcp_servers),
            scorers=tuple(scorers),
        )

    @property
    def definition(self) -> AgentDefinition:
        """What the registry holds, as ``define_tool``/``AgentSpec`` would have built it."""
        return self._definition

    @property
    def spec(self) -> AgentSpec:
        return self._definition.spec

    def as_tool(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        requires_approval: bool = False,
        approval_above: Mapping[str, float] | None = None,
        risk: RiskLevel | RiskName = RiskLevel.LOW,
    ) -> ToolDefinition:
        """This agent as another's tool (``ask_<name>``): each call is a child run whose answer
        is the tool's result (docs/teams.md). Register this agent before the agents calling it."""
        return agent_tool(
            self,
            name=name,
            description=description,
            version=version,
            requires_approval=requires_approval,
            approval_above=approval_above,
            risk=_choice(RiskLevel, risk, "risk", f"agent {self.spec.name}"),
        )

    def as_handoff(
        self, *, name: str | None = None, description: str | None = None, version: str | None = None
    ) -> ToolDefinition:
        """This agent as a hand-off (``handoff_to_<name>``): the calling run's answer is the
        answer of the child run it hands the task to."""
        return agent_tool(self, name=name, description=description, version=version, handoff=True)

    def __repr__(self) -> str:
        return f"Agent({self.spec.ref}, model={self.spec.model.ref})"


def _with_script(
    model: str | ModelSettings, script: Sequence[ScriptStep | Mapping[str, Any]], where: str
) -> ModelSettings | str | dict[str, Any]:
    """The script rides in ``model.scripted``, where the scripted provider reads it, whatever
    model the agent names: a run with ``--model scripted:scripted-1`` plays it offline."""
    if not script:
        return model
    try:
        settings = (
            model if isinstance(model, ModelSettings) else ModelSettings.model_validate(model)
        )
    except ValidationError as err:
        raise DeclarationError(f"{where}: model: {_first_problem(err)}") from None
    if settings.scripted.script:
        raise DeclarationError(f"{where}: script: given twice, here and in model.scripted")
    return {**settings.model_dump(exclude={"scripted"}), "scripted": {"script": list(script)}}


def _review(value: ReviewPolicy | ReviewMode | str | None, where: str) -> ReviewPolicy | None:
    """A mode alone; ``"never"`` also stops the audit sample, since it means nobody reads."""
    if value is None or isinstance(value, ReviewPolicy):
        return value
    mode = _choice(ReviewMode, value, "review", where)
    if mode is ReviewMode.NEVER:
        return ReviewPolicy(mode=mode, sample_rate=0.0)
    return ReviewPolicy(mode=mode)


def _policy(value: PolicyDocument | Path | str) -> PolicyDocument:
    return value if isinstance(value, PolicyDocument) else load_policy_file(Path(value))
