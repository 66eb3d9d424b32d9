"""Agents as tools: ``Agent.as_tool()`` and ``Agent.as_handoff()`` (docs/teams.md).

The tool's contract is the called agent's: its input model is the tool's parameters, its output
model the result, its description what the model reads. What its own tools may do is the
tool's trust labels (a child that reads private data, or can send data out, makes its caller
one that does), so the caller's guardrails see the team as the sum of its members. Calling it
starts a child run; no activity runs for it.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agentrun.agents.registry import ToolContext, ToolDefinition
from agentrun.agents.signatures import DeclarationError
from agentrun.contracts.tools import RiskLevel, ToolContract

if TYPE_CHECKING:
    from agentrun.agents.api import Agent


class _AnyOutput(BaseModel):
    """An agent that declares no output model answers with any JSON object."""

    model_config = ConfigDict(extra="allow")


async def _child_run(params: Any, ctx: ToolContext) -> Any:  # noqa: ARG001 -- never called
    """The workflow starts a child run for an agent's tool; a worker never calls this."""
    message = "an agent called as a tool runs as a child workflow, not as an activity"
    raise RuntimeError(message)


def agent_tool(
    agent: "Agent",
    *,
    name: str | None = None,
    description: str | None = None,
    handoff: bool = False,
    version: str | None = None,
    requires_approval: bool = False,
    approval_above: Mapping[str, float] | None = None,
    risk: RiskLevel = RiskLevel.LOW,
) -> ToolDefinition:
    definition = agent.definition
    spec = definition.spec
    where = f"agent {spec.name}: as a tool"
    told = description or spec.description
    if not told:
        raise DeclarationError(
            f"{where}: no description: give the agent one (description=) or pass description= "
            "here; it is what the calling model reads to choose it"
        )
    tool_name = name or ("handoff_to_" if handoff else "ask_") + spec.name.replace("-", "_")
    output = definition.output_model or _AnyOutput
    members = spec.tools
    try:
        contract = ToolContract(
            name=tool_name,
            description=told,
            input_schema=definition.input_model.model_json_schema(),
            output_schema=output.model_json_schema(),
            requires_approval=requires_approval,
            approval_above=dict(approval_above or {}),
            risk=risk,
            untrusted_output=any(t.untrusted_output for t in members),
            private_data=any(t.private_data for t in members),
            exfiltration=any(t.exfiltration for t in members),
            agent=spec.name,
            agent_version=version,
            handoff=handoff,
        )
    except ValidationError as err:
        problem = err.errors(include_url=False)[0]
        field = ".".join(str(part) for part in problem["loc"]) or "tool"
        raise DeclarationError(f"{where}: {field}: {problem['msg']}") from None
    return ToolDefinition(
        contract=contract,
        params_model=definition.input_model,
        output_model=output,
        fn=_child_run,
    )
