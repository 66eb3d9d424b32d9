"""Agents for the hostile-input property tests: a tool whose output the test chooses.

A test stores what the tool must return under a fresh key in :data:`OUTPUTS`, then starts a run
whose input names that key. The session worker runs in the test's process, so the tool hands
back that exact object, however broken: wrong types, missing fields, huge strings, values that
are not JSON at all. The contract wrapper, not the tool, must turn it into a clean failure.
"""

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.contracts.agents import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)
from agentrun.contracts.tools import RetrySpec, SideEffect

# key -> what ``hostile_read`` returns for the run whose input names that key.
OUTPUTS: dict[str, Any] = {}
TOOL = "hostile_read"
AGENT = "hostile"
# A misclassified failure retries: quickly, and not for long, so a wrong category shows up as a
# failed assertion rather than a slow test.
QUICK_RETRY = RetrySpec(
    max_attempts=2, initial_interval=timedelta(milliseconds=50), max_interval=timedelta(seconds=1)
)


class HostileParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class Report(BaseModel):
    """The declared output: a few types, so there are many ways to break it."""

    model_config = ConfigDict(extra="forbid")

    value: str
    count: int = Field(ge=0)
    tags: list[str] = Field(default_factory=list)


class HostileInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


async def _hostile_read(params: HostileParams, ctx: ToolContext) -> Any:
    # A key the test never stored is a test bug: say so through the contract, not a KeyError.
    return OUTPUTS.get(params.key, {"missing": params.key})


HOSTILE_READ = define_tool(
    _hostile_read,
    name=TOOL,
    description="Returns whatever the test put under its key.",
    params=HostileParams,
    output=Report,
    side_effect=SideEffect.IDEMPOTENT,
    timeout=timedelta(seconds=10),
    retry=QUICK_RETRY,
)


def hostile_agent() -> AgentDefinition:
    tools = (HOSTILE_READ,)
    spec = AgentSpec(
        name=AGENT,
        version="1",
        system_prompt="Read one report and pass it on.",
        model=ModelSettings(
            scripted=ScriptedOptions(
                script=(
                    ScriptStep(tool=TOOL, args={"key": "{{input.key}}"}),
                    ScriptStep(
                        final={
                            "value": "{{tools.hostile_read.value}}",
                            "count": "{{tools.hostile_read.count}}",
                            "tags": "{{tools.hostile_read.tags}}",
                        }
                    ),
                )
            )
        ),
        tools=tuple(t.contract for t in tools),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=HostileInput, tools=tools)


def register(registry: AgentRegistry) -> None:
    registry.register(hostile_agent())
