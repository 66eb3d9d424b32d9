"""MCP servers as a source of tools: how an agent declares them, and what their tools promise.

An agent lists servers in ``AgentDefinition.mcp_servers``; the worker lists each server's tools
when it starts (``agentrun.activities.mcp``) and adds them to the agent as ordinary tools, each
with a contract derived here from the tool's MCP annotations and schemas (docs/tools.md). The
annotations are the server's own hints, so the agent may override anything they imply.

Names: the MCP tool ``<tool>`` of server ``<server>`` becomes the tool ``<server>_<tool>``,
lower-cased, every character outside ``[a-z0-9_]`` made ``_`` (``Get-Item`` of ``shop`` is
``shop_get_item``), so policies, scripts and allow-lists can name it; an override's ``name``
replaces that when two tools would collide or a name grows past 64 characters.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Self, cast
from urllib.parse import urlsplit

from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for
from mcp.types import Tool, ToolAnnotations
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from agentrun.agents.registry import ToolDefinition, ToolFn
from agentrun.contracts.tools import (
    RetentionClass,
    RetrySpec,
    RiskLevel,
    SideEffect,
    ToolContract,
)
from agentrun.errors import UserError

SERVER_NAME = r"^[a-z][a-z0-9_]{0,31}$"
_NOT_IN_NAME = re.compile(r"[^a-z0-9_]")
# As ToolPolicy.name and the policies' ToolName require.
_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# A tool without an output schema answers in content blocks; its output is their text.
TEXT_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}


class McpContractError(UserError, ValueError):
    """An MCP tool that cannot become an agentrun tool as declared (its name, schema or an
    override); the worker's start-up error names the agent and server around it."""


class McpToolOverride(BaseModel):
    """What the agent says about one MCP tool, over what its annotations imply.

    Every field left unset keeps the derived value. ``retry_error_results`` is not part of the
    contract: it says an ``isError`` result is transient (worth the contract's retries), which
    MCP cannot say (docs/tools.md).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    description: str | None = None
    side_effect: SideEffect | None = None
    accepts_idempotency_key: bool | None = None
    atomic: bool | None = None
    retention: RetentionClass | None = None
    timeout: timedelta | None = None
    total_timeout: timedelta | None = None
    retry: RetrySpec | None = None
    fallback: str | None = None
    requires_approval: bool | None = None
    approval_above: dict[str, float] | None = None
    risk: RiskLevel | None = None
    untrusted_output: bool | None = None
    private_data: bool | None = None
    exfiltration: bool | None = None
    retry_error_results: bool = False

    def contract_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"retry_error_results"})


class McpServer(BaseModel):
    """One MCP server an agent takes tools from: all it lists, or only ``tools``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=SERVER_NAME)
    tools: tuple[str, ...] | None = None
    # By MCP tool name, as the server lists it.
    overrides: dict[str, McpToolOverride] = Field(default_factory=dict)
    # Bounds connecting and listing tools at start-up: a server that never answers fails the
    # worker's start instead of hanging it.
    connect_timeout: timedelta = timedelta(seconds=30)

    @model_validator(mode="after")
    def _overrides_are_taken(self) -> Self:
        if type(self) is McpServer:
            raise ValueError("declare an McpStdioServer or an McpHttpServer")
        if self.tools is not None:
            stray = sorted(set(self.overrides) - set(self.tools))
            if stray:
                raise ValueError(
                    f"overrides: {', '.join(stray)} not among tools ({', '.join(self.tools)})"
                )
        return self

    def describe(self) -> str:
        """How to find the server, for error messages: never its secrets. Each transport says
        where it connects; this is what any declaration can say."""
        return f"{type(self).__name__} {self.name}"

    def identity(self) -> tuple[object, ...]:
        """What makes two declarations one connection (agents may share a server). Each
        transport adds what it connects to; by default a name is one server."""
        return (type(self).__name__, self.name)

    def wanted(self) -> tuple[str, ...]:
        """The tools this declaration names, which the server must list."""
        return tuple(dict.fromkeys([*(self.tools or ()), *self.overrides]))


class McpStdioServer(McpServer):
    """A server the worker runs as a child process, speaking MCP over its stdin and stdout."""

    command: str = Field(min_length=1)
    args: tuple[str, ...] = ()
    # Added to a minimal inherited environment (PATH, HOME, ...): pass secrets here.
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None

    def describe(self) -> str:
        return f"stdio: {self.command}"

    def identity(self) -> tuple[object, ...]:
        return (
            "stdio",
            self.name,
            self.command,
            self.args,
            tuple(sorted(self.env.items())),
            self.cwd,
        )


class McpHttpServer(McpServer):
    """A server reached over streamable HTTP."""

    url: str = Field(pattern=r"^https?://\S+$")
    headers: dict[str, str] = Field(default_factory=dict)

    def describe(self) -> str:
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"

    def identity(self) -> tuple[object, ...]:
        return ("http", self.name, self.url, tuple(sorted(self.headers.items())))


@dataclass(frozen=True)
class Hints:
    """A tool's annotations with the MCP spec's defaults filled in: a server that says nothing
    may write, destroy, repeat effects and reach the outside world."""

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool

    @classmethod
    def of(cls, annotations: ToolAnnotations | None) -> "Hints":
        hints = annotations or ToolAnnotations()
        read_only = hints.read_only_hint is True
        return cls(
            read_only=read_only,
            # Meaningful only for a tool that writes.
            destructive=not read_only and hints.destructive_hint is not False,
            idempotent=read_only or hints.idempotent_hint is True,
            open_world=hints.open_world_hint is not False,
        )


def contract_name(server: str, tool: str) -> str:
    return f"{server}_{_NOT_IN_NAME.sub('_', tool.lower())}"


_WHITESPACE = re.compile(r"\s+")


def activity_name(server: str, tool: str) -> str:
    """``tool.<server>.<tool>``: the Temporal UI shows which server's tool ran, under the names
    the server uses (whitespace, which activity types should not hold, made ``_``)."""
    return f"tool.{server}.{_WHITESPACE.sub('_', tool.strip())}"


def derive_contract(server: McpServer, tool: Tool) -> ToolContract:
    """The contract the annotations imply, with the agent's overrides on top.

    readOnly: no side effect, retried. Otherwise idempotent: retried; not: called at most once.
    destructive: needs approval. openWorld: untrusted output, and a tool that also writes can
    send data out (exfiltration).
    """
    hints = Hints.of(tool.annotations)
    if hints.read_only:
        side_effect, risk = SideEffect.NONE, RiskLevel.LOW
    else:
        side_effect = SideEffect.IDEMPOTENT if hints.idempotent else SideEffect.NON_IDEMPOTENT
        risk = RiskLevel.HIGH if hints.destructive else RiskLevel.MEDIUM
    title = tool.title or (tool.annotations.title if tool.annotations else None)
    fields: dict[str, Any] = {
        "name": contract_name(server.name, tool.name),
        "activity": activity_name(server.name, tool.name),
        "description": tool.description or title or f"{tool.name} (MCP server {server.name})",
        "input_schema": tool.input_schema,
        "output_schema": output_schema(tool),
        "side_effect": side_effect,
        "requires_approval": hints.destructive,
        "risk": risk,
        "untrusted_output": hints.open_world,
        "exfiltration": hints.open_world and not hints.read_only,
    }
    override = server.overrides.get(tool.name)
    if override is not None:
        fields.update(override.contract_fields())
    if not _TOOL_NAME.fullmatch(fields["name"]):
        raise McpContractError(
            f"tool {tool.name!r} would be named {fields['name']!r}, which is not "
            f"{_TOOL_NAME.pattern}: give it overrides[{tool.name!r}].name"
        )
    try:
        return ToolContract.model_validate(fields)
    except ValidationError as err:
        problem = err.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "contract"
        raise McpContractError(f"tool {tool.name!r}: {where}: {problem['msg']}") from None


def output_schema(tool: Tool) -> dict[str, Any]:
    """Tool outputs are JSON objects: a tool with an output schema answers with its structured
    content (wrapped as ``{"result": ...}`` when the schema is not an object's); one without
    answers ``{"text": ...}``."""
    schema = tool.output_schema
    if schema is None:
        return TEXT_OUTPUT
    if not wraps_output(tool):
        return schema
    definitions = {k: v for k, v in schema.items() if k in ("$defs", "definitions")}
    inner = {k: v for k, v in schema.items() if k not in definitions}
    return {
        "type": "object",
        "properties": {"result": inner},
        "required": ["result"],
        "additionalProperties": False,
        **definitions,
    }


def wraps_output(tool: Tool) -> bool:
    return tool.output_schema is not None and tool.output_schema.get("type") != "object"


class SchemaModel(RootModel[dict[str, Any]]):
    """A JSON object checked against a JSON Schema, where agentrun expects a pydantic model.

    MCP tools describe their params and output in JSON Schema, and every place that checks
    params (the model activity, the tool wrapper, a reviewer's edit) calls ``model_validate``:
    a failure here is the ValidationError they already handle, at the offending field, and
    its message never quotes the value (it may be private).
    """

    schema_validator: ClassVar[Any]

    @model_validator(mode="after")
    def _fits_schema(self) -> Self:
        error = best_match(self.schema_validator.iter_errors(self.root))
        if error is None:
            return self
        loc, message = _problem(error)
        detail = InitErrorDetails(
            type=PydanticCustomError("json_schema", "{message}", {"message": message}),
            loc=loc,
            input=None,
        )
        raise ValidationError.from_exception_data(type(self).__name__, [detail])


def schema_model(title: str, schema: dict[str, Any]) -> type[SchemaModel]:
    """A SchemaModel class for one schema; an invalid schema is refused here, at start-up."""
    validator_class = validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except SchemaError as err:
        raise McpContractError(f"{title} is not a valid JSON Schema: {err.message}") from None
    name = _NOT_IN_NAME.sub("_", title.lower())
    return cast(
        type[SchemaModel],
        type(name, (SchemaModel,), {"schema_validator": validator_class(schema)}),
    )


def _problem(error: Any) -> tuple[tuple[str | int, ...], str]:
    """Where and how an object breaks its schema, in pydantic's words where they fit."""
    path = tuple(error.absolute_path)
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required" and isinstance(instance, dict):
        missing = next((name for name in expected if name not in instance), None)
        if missing is not None:
            return (*path, missing), "Field required"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        extra = next((name for name in instance if name not in known), None)
        if extra is not None:
            return (*path, extra), "Extra inputs are not permitted"
    if keyword == "type":
        return path, f"should be of type {json.dumps(expected)}"
    if keyword in ("enum", "const"):
        return path, f"should be {'one of ' if keyword == 'enum' else ''}{json.dumps(expected)}"
    if isinstance(expected, str | int | float | bool):
        return path, f"breaks {keyword} {json.dumps(expected)}"
    return path, f"does not match the schema ({keyword})"


def mcp_tool(server: McpServer, tool: Tool, fn: Callable[[ToolContract], ToolFn]) -> ToolDefinition:
    """The agentrun tool for one listed MCP tool; ``fn`` makes the call, given the contract."""
    contract = derive_contract(server, tool)
    params = schema_model(f"{contract.name} inputSchema", contract.input_schema)
    output = schema_model(f"{contract.name} outputSchema", contract.output_schema)
    return ToolDefinition(
        contract=contract, params_model=params, output_model=output, fn=fn(contract)
    )
