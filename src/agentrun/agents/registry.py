"""The agent registry: specs plus the Python pieces (models, tool code) that cannot travel as data.

Agents are registered explicitly by a module-level ``register(registry)`` function, named in the
``AGENTRUN_AGENT_MODULES`` setting, so importing a module never mutates global state.
"""

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentrun.contracts.agents import AgentSpec
from agentrun.contracts.tools import (
    RequestContext,
    RetentionClass,
    RetrySpec,
    RiskLevel,
    SideEffect,
    ToolContract,
)
from agentrun.errors import UserError


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
) -> ToolDefinition:
    """Declare a tool once: its contract is derived from the pydantic models and options."""
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
    return ToolDefinition(contract=contract, params_model=params, output_model=output, fn=fn)


@dataclass(frozen=True)
class AgentDefinition:
    spec: AgentSpec
    input_model: type[BaseModel]
    tools: tuple[ToolDefinition, ...]
    # Prepares the agent's own resources (e.g. its sample database) when a worker starts.
    setup: Callable[[Path], None] | None = None


class RegistryError(UserError, ValueError):
    pass


@dataclass
class AgentRegistry:
    _agents: dict[str, dict[str, AgentDefinition]] = field(default_factory=dict)
    _default_version: dict[str, str] = field(default_factory=dict)
    _tools: dict[str, ToolDefinition] = field(default_factory=dict)

    def register(self, definition: AgentDefinition, *, default: bool = False) -> None:
        spec = definition.spec
        if definition.input_model is BaseModel or not issubclass(definition.input_model, BaseModel):
            raise RegistryError(f"{spec.ref}: input_model must be a pydantic model subclass")
        contracts = tuple(t.contract for t in definition.tools)
        if spec.tools != contracts:
            raise RegistryError(f"{spec.ref}: spec.tools must be the contracts of its tools")
        for tool in definition.tools:
            known = self._tools.get(tool.contract.name)
            if known is not None and known.fn is not tool.fn:
                raise RegistryError(f"tool {tool.contract.name!r} is registered twice")
        versions = self._agents.setdefault(spec.name, {})
        if spec.version in versions:
            raise RegistryError(f"agent {spec.ref} is registered twice")
        versions[spec.version] = definition
        for tool in definition.tools:
            self._tools[tool.contract.name] = tool
        if default or spec.name not in self._default_version:
            self._default_version[spec.name] = spec.version

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


def load_agent_modules(registry: AgentRegistry, modules: Iterable[str]) -> AgentRegistry:
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise RegistryError(f"agent module {module_name!r} cannot be imported: {err}") from err
        register = getattr(module, "register", None)
        if not callable(register):
            raise RegistryError(f"agent module {module_name!r} has no register(registry) function")
        register(registry)
    return registry
