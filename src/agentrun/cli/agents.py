"""``agentrun agents``: what this installation can run, and an input to start each with.

The registry is built the way a worker builds it (``AGENTRUN_AGENT_MODULES``), so what this lists
is what a worker started here would accept; nothing is asked of Temporal.
"""

import json
import shlex
from typing import TYPE_CHECKING, Any

from rich.text import Text

from agentrun.cli.common import JsonOpt, build_settings, emit_json, guarded, out

if TYPE_CHECKING:  # the registry (and the agent API behind it) only for `agentrun agents`
    from agentrun.agents.registry import AgentDefinition, AgentRegistry


def describe(registry: "AgentRegistry") -> list[dict[str, Any]]:
    agents = []
    for name in registry.agent_names():
        default = registry.resolve(name)
        versions = []
        for version in registry.versions(name):
            definition = registry.resolve(name, version)
            spec = definition.spec
            versions.append(
                {
                    "version": version,
                    "default": version == default.spec.version,
                    "description": spec.description,
                    "model": f"{spec.model.provider}:{spec.model.model}",
                    "tools": [tool.name for tool in spec.tools],
                    "reviewers": list(spec.reviewers),
                    "review_mode": spec.review.mode.value,
                    "input_schema": definition.input_model.model_json_schema(),
                    "example_input": definition.example_input,
                }
            )
        agents.append({"name": name, "default_version": default.spec.version, "versions": versions})
    return agents


def input_fields(definition: "AgentDefinition") -> str:
    """One line per input field: name, type, required, and its constraints."""
    schema = definition.input_model.model_json_schema()
    required = set(schema.get("required", ()))
    lines = []
    for field, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or "/".join(
            str(option.get("type", "?")) for option in prop.get("anyOf", ())
        )
        limits = [
            f"{label} {prop[key]}"
            for key, label in (
                ("minimum", ">="),
                ("exclusiveMinimum", ">"),
                ("maximum", "<="),
                ("exclusiveMaximum", "<"),
                ("minLength", "min length"),
                ("maxLength", "max length"),
                ("pattern", "pattern"),
            )
            if key in prop
        ]
        need = "required" if field in required else "optional"
        lines.append(
            f"{field}: {kind or 'any'}, {need}" + (f" ({', '.join(limits)})" if limits else "")
        )
    return "\n".join(lines) or "(no fields)"


def example_command(name: str, version: str | None, example: dict[str, Any] | None) -> str:
    """``version`` None: the default version, which a run gets without asking."""
    if example is None:
        return "-"
    pinned = f" --version {shlex.quote(version)}" if version is not None else ""
    return f"agentrun run {name}{pinned} --input {shlex.quote(json.dumps(example))}"


@guarded
def agents(*, json_output: JsonOpt = False) -> None:
    """List the agents this installation registers (AGENTRUN_AGENT_MODULES): their versions,
    model, tools, reviewers, input fields and a command that starts a run with a valid input."""
    from agentrun.agents.registry import AgentRegistry, load_agent_modules  # noqa: PLC0415

    settings = build_settings()
    registry = load_agent_modules(AgentRegistry(), settings.agent_modules)
    if json_output:
        emit_json(describe(registry))
        return
    # Blocks, not a table: the command under "try it" must stay on one line to be copied.
    for name in registry.agent_names():
        default = registry.resolve(name).spec.version
        for version in registry.versions(name):
            definition = registry.resolve(name, version)
            spec = definition.spec
            heading = f"{name}@{version}" + (" (default)" if version == default else "")
            out.print(Text(heading, style="bold"), Text(f"  {spec.description}"), sep="")
            fields = input_fields(definition).replace("\n", "\n" + " " * 12)
            rows = (
                ("model", f"{spec.model.provider}:{spec.model.model}"),
                ("tools", ", ".join(t.name for t in spec.tools) or "none"),
                ("review", f"{spec.review.mode.value}, by {', '.join(spec.reviewers) or 'nobody'}"),
                ("input", fields),
                (
                    "try it",
                    example_command(
                        name, None if version == default else version, definition.example_input
                    ),
                ),
            )
            for label, value in rows:
                out.print(f"  {label:<9} {value}", markup=False, highlight=False, soft_wrap=True)
            out.print()
