"""The agent registry: specs plus the Python pieces (models, tool code) that cannot travel as data.

Agent modules are named in the ``AGENTRUN_AGENT_MODULES`` setting; loading one calls its
``register(registry)`` function or, when it has none, registers the ``Agent``s it defines at module
level. Either way importing a module never mutates global state: only loading it registers.
"""

import importlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from agentrun.contracts.agents import (
    AgentSpec,
    BudgetAction,
    EscalationAction,
    ReviewMode,
)
from agentrun.contracts.policy import (
    ArgConstraintRule,
    LethalTrifectaRule,
    ToolAllowlistRule,
    Verdict,
)
from agentrun.contracts.tools import (
    RequestContext,
    RetentionClass,
    RetrySpec,
    RiskLevel,
    SideEffect,
    ToolContract,
)
from agentrun.errors import UserError
from agentrun.logic.evaluation.scorers import Scorer

if TYPE_CHECKING:  # the annotation only: api builds on this module
    from agentrun.agents.api import Agent
    from agentrun.agents.mcp import McpServer  # mcp builds ToolDefinitions, so imports this


@dataclass(frozen=True)
class ToolContext:
    """What a tool implementation gets besides its params."""

    request: RequestContext
    idempotency_key: str
    attempt: int
    data_dir: Path


ToolFn = Callable[[Any, ToolContext], Awaitable[Any]]


@dataclass(frozen=True)
class ToolDefinition:
    contract: ToolContract
    params_model: type[BaseModel]
    output_model: type[BaseModel]
    fn: ToolFn
    # What the tool answers in an evaluation or a shadow run instead of acting: a tool with
    # side effects is never called for real there, and without a dry run it fails the case.
    dry_run: ToolFn | None = field(default=None, kw_only=True)


def define_tool(
    fn: ToolFn,
    *,
    name: str,
    description: str,
    params: type[BaseModel],
    output: type[BaseModel],
    side_effect: SideEffect = SideEffect.NONE,
    accepts_idempotency_key: bool = False,
    timeout: timedelta = timedelta(seconds=10),
    total_timeout: timedelta | None = None,
    retry: RetrySpec | None = None,
    fallback: str | None = None,
    requires_approval: bool = False,
    approval_above: dict[str, float] | None = None,
    risk: RiskLevel = RiskLevel.LOW,
    retention: RetentionClass = RetentionClass.BUSINESS_90D,
    untrusted_output: bool = False,
    private_data: bool = False,
    exfiltration: bool = False,
    dry_run: ToolFn | None = None,
) -> ToolDefinition:
    """Declare a tool once: its contract is derived from the pydantic models and options."""
    if dry_run is not None and side_effect is SideEffect.NONE:
        raise ValueError(f"tool {name}: dry_run is for a tool with side effects; this has none")
    contract = ToolContract(
        name=name,
        description=description,
        input_schema=params.model_json_schema(),
        output_schema=output.model_json_schema(),
        side_effect=side_effect,
        accepts_idempotency_key=accepts_idempotency_key,
        timeout=timeout,
        total_timeout=total_timeout,
        retry=retry or RetrySpec(),
        fallback=fallback,
        requires_approval=requires_approval,
        approval_above=approval_above or {},
        risk=risk,
        retention=retention,
        untrusted_output=untrusted_output,
        private_data=private_data,
        exfiltration=exfiltration,
    )
    return ToolDefinition(
        contract=contract, params_model=params, output_model=output, fn=fn, dry_run=dry_run
    )


@dataclass(frozen=True)
class AgentDefinition:
    spec: AgentSpec
    input_model: type[BaseModel]
    tools: tuple[ToolDefinition, ...]
    # Prepares the agent's own resources (e.g. its sample database) when a worker starts.
    setup: Callable[[Path], None] | None = None
    # A valid input, shown by `agentrun agents` so a newcomer can start a run by copying it;
    # checked against input_model at registration.
    example_input: dict[str, Any] | None = None
    # The final answer's schema, when the agent declares one: a reviewer's edit of the output
    # must validate against it (the review is refused otherwise, naming the field).
    output_model: type[BaseModel] | None = None
    # MCP servers whose tools the agent also uses (agents/mcp.py): the worker lists them when
    # it starts and adds them with `AgentRegistry.add_mcp_tools`.
    mcp_servers: tuple["McpServer", ...] = ()
    # The agent's own scorers, run after the built-in ones on every case of its evaluations:
    # ``fn(case, outcome) -> Score | None``, named by the function (docs/evaluation.md).
    scorers: tuple[Scorer, ...] = ()


class RegistryError(UserError, ValueError):
    pass


@dataclass
class AgentRegistry:
    _agents: dict[str, dict[str, AgentDefinition]] = field(default_factory=dict)
    _default_version: dict[str, str] = field(default_factory=dict)
    _tools: dict[str, ToolDefinition] = field(default_factory=dict)

    def register(self, agent: "AgentDefinition | Agent", *, default: bool = False) -> None:
        definition = agent if isinstance(agent, AgentDefinition) else agent.definition
        spec = definition.spec
        if definition.input_model is BaseModel or not issubclass(definition.input_model, BaseModel):
            raise RegistryError(f"{spec.ref}: input_model must be a pydantic model subclass")
        contracts = tuple(t.contract for t in definition.tools)
        if spec.tools != contracts:
            raise RegistryError(f"{spec.ref}: spec.tools must be the contracts of its tools")
        problems = _example_problems(definition)
        # Scripts and policies may name MCP tools, known only once the worker has listed them:
        # such an agent is checked when they are added (add_mcp_tools).
        if not definition.mcp_servers:
            problems = completion_problems(spec) + problems
        if problems:
            raise RegistryError(f"agent {spec.ref} cannot complete a run: {'; '.join(problems)}")
        for tool in definition.tools:
            known = self._tools.get(tool.contract.name)
            if known is not None and known.fn is not tool.fn:
                raise RegistryError(f"tool {tool.contract.name!r} is registered twice")
        self._check_members(spec)
        versions = self._agents.setdefault(spec.name, {})
        if spec.version in versions:
            raise RegistryError(f"agent {spec.ref} is registered twice")
        versions[spec.version] = definition
        for tool in definition.tools:
            self._tools[tool.contract.name] = tool
        if default or spec.name not in self._default_version:
            self._default_version[spec.name] = spec.version

    def _check_members(self, spec: AgentSpec) -> None:
        """Every agent it calls as a tool is registered already (children before parents), so
        a run never starts a child no worker knows."""
        for tool in spec.tools:
            if tool.agent is None:
                continue
            try:
                self.resolve(tool.agent, tool.agent_version)
            except RegistryError as err:
                raise RegistryError(
                    f"agent {spec.ref}: tools: {tool.name}: {err}; register the agents it "
                    "calls before it"
                ) from None

    def add_mcp_tools(
        self, definition: AgentDefinition, tools: tuple[ToolDefinition, ...]
    ) -> AgentDefinition:
        """The registered agent with the tools its MCP servers listed, checked as `register`
        checks an agent (now it can be)."""
        spec = definition.spec
        try:
            spec = AgentSpec.model_validate(
                {**dict(spec), "tools": spec.tools + tuple(t.contract for t in tools)}
            )
        except ValidationError as err:
            problem = err.errors(include_url=False)[0]
            raise RegistryError(f"agent {spec.ref}: {problem['msg']}") from None
        problems = completion_problems(spec)
        if problems:
            raise RegistryError(f"agent {spec.ref} cannot complete a run: {'; '.join(problems)}")
        for tool in tools:
            known = self._tools.get(tool.contract.name)
            if known is not None and known.fn is not tool.fn:
                raise RegistryError(f"tool {tool.contract.name!r} is registered twice")
        completed = replace(definition, spec=spec, tools=definition.tools + tools)
        self._agents[spec.name][spec.version] = completed
        for tool in tools:
            self._tools[tool.contract.name] = tool
        return completed

    def agent_names(self) -> list[str]:
        return sorted(self._agents)

    def versions(self, name: str) -> list[str]:
        return sorted(self._agents.get(name, {}))

    def resolve(self, name: str, version: str | None = None) -> AgentDefinition:
        versions = self._agents.get(name)
        if versions is None:
            known = ", ".join(self.agent_names()) or "none"
            raise RegistryError(f"unknown agent {name!r}; known agents: {known}")
        chosen = version or self._default_version[name]
        definition = versions.get(chosen)
        if definition is None:
            raise RegistryError(
                f"agent {name!r} has no version {chosen!r}; known: {', '.join(sorted(versions))}"
            )
        return definition

    def tool(self, name: str) -> ToolDefinition:
        try:
            return self._tools[name]
        except KeyError:
            raise RegistryError(f"unknown tool {name!r}") from None

    def tools(self) -> Iterable[ToolDefinition]:
        return self._tools.values()

    def definitions(self) -> Iterable[AgentDefinition]:
        for versions in self._agents.values():
            yield from versions.values()


def completion_problems(spec: AgentSpec) -> list[str]:
    """Why runs of this spec could never finish, each naming the field to fix; [] if none.

    Caught here, at registration, a misconfiguration fails the worker's start with its reason,
    instead of every run waiting out a deadline and failing later for a reason nobody reads.
    """
    tools = {t.name for t in spec.tools}
    known = ", ".join(sorted(tools)) or "none"
    problems = [
        f"model.scripted.script[{index}].tool: {name!r} is not one of its tools ({known})"
        for index, step in enumerate(spec.model.scripted.script)
        for name in step.tools()
        if not is_template(name) and name not in tools
    ]
    problems += [
        f"{where}: tool {name!r} is not one of its tools ({known})"
        for where, name in _policy_tools(spec)
        if name not in tools
    ]
    asks = review_demands(spec)
    if asks and not spec.reviewers and not _escalation_decides(spec):
        problems.append(
            f"reviewers: none, but {' and '.join(asks)}: nobody could decide such a review, so "
            "the run would fail at its deadline; name reviewers (or set the review mode to "
            "'never' and sample_rate to 0, and drop the approvals)"
        )
    return problems


def unguarded_senders(spec: AgentSpec) -> list[str]:
    """The tools of ``spec`` that can send data out while no ``lethal_trifecta`` rule guards
    them: a hijacked run could mail out what it read with nobody asked. Said when a worker
    starts (not refused: the author may have reasons), so it is seen before a run needs it."""
    guarded = any(
        isinstance(rule, LethalTrifectaRule)
        for document in spec.policies
        for rule in document.rules
    )
    return [] if guarded else sorted(t.name for t in spec.tools if t.exfiltration)


def _policy_tools(spec: AgentSpec) -> Iterator[tuple[str, str]]:
    """(where, tool) for every tool an allow-list or argument constraint names."""
    for p_index, document in enumerate(spec.policies):
        for r_index, rule in enumerate(document.rules):
            where = f"policies[{p_index}] ({document.policy_id}) rules[{r_index}] ({rule.id})"
            if isinstance(rule, ToolAllowlistRule):
                yield from ((where, name) for name in rule.tools)
            elif isinstance(rule, ArgConstraintRule):
                yield where, rule.tool


def review_demands(spec: AgentSpec) -> list[str]:
    """What in the spec can send a run to a person."""
    asks = []
    if spec.review.mode is not ReviewMode.NEVER:
        asks.append(f"review.mode is {spec.review.mode.value!r}")
    if spec.review.sample_rate > 0:
        asks.append(f"review.sample_rate is {spec.review.sample_rate:g}")
    gated = [t.name for t in spec.tools if t.requires_approval or t.approval_above]
    if gated:
        asks.append(f"tools {', '.join(gated)} need approval")
    if spec.budget.on_exceeded is BudgetAction.REVIEW:
        asks.append("budget.on_exceeded is 'review'")
    escalating = [
        rule.id
        for document in spec.policies
        for rule in document.rules
        if getattr(rule, "verdict", None) is Verdict.ESCALATE
    ]
    if escalating:
        asks.append(f"policy rules {', '.join(escalating)} escalate to a person")
    return asks


def _escalation_decides(spec: AgentSpec) -> bool:
    """A review nobody can decide still ends well if its deadline approves or hands it on."""
    action = spec.escalation.action
    return action is EscalationAction.AUTO_APPROVE or (
        action is EscalationAction.ESCALATE and bool(spec.escalation.escalation_reviewers)
    )


def is_template(value: str) -> bool:
    """A scripted tool name filled in at run time (``{{input.tool}}``): not checkable here."""
    return "{{" in value


def _example_problems(definition: AgentDefinition) -> list[str]:
    if definition.example_input is None:
        return []
    try:
        definition.input_model.model_validate(definition.example_input)
    except ValidationError as err:
        problem = err.errors(include_url=False)[0]
        path = ".".join(str(part) for part in problem["loc"])
        return [f"example_input.{path}: {problem['msg']}"]
    return []


def load_agent_modules(registry: AgentRegistry, modules: Iterable[str]) -> AgentRegistry:
    from agentrun.agents.api import Agent  # noqa: PLC0415 -- api builds on this module

    registered: set[int] = set()  # an Agent one module imports from another registers once
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise RegistryError(f"agent module {module_name!r} cannot be imported: {err}") from err
        # A @tool is callable too, and a tool may well be named register.
        register = getattr(module, "register", None)
        if callable(register) and not isinstance(register, ToolDefinition):
            register(registry)
            continue
        agents = [value for value in vars(module).values() if isinstance(value, Agent)]
        if not agents:
            raise RegistryError(
                f"agent module {module_name!r} has no register(registry) function and no Agent "
                "at module level"
            )
        for agent in agents:
            if id(agent) not in registered:
                registry.register(agent)
                registered.add(id(agent))
    return registry
