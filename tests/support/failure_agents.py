"""Agents for failure paths no other test agent reaches: each ends its run one particular way.

They exist for the replay corpus (``tests/histories``) and the status-query checks of
``tests/workflows/test_failure_paths.py``: a run that fails must replay like one that succeeds.
"""

import asyncio
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, field_validator

from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.contracts.agents import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
    StateDeadlines,
)
from agentrun.contracts.tools import RetrySpec
from tests.support.agents import DONE, KeyParams, ProbeInput, Value, call, probe_agent

# How long ``pause_read`` takes: long enough for a test to stop the worker while it runs.
PAUSE = timedelta(seconds=1.5)
# The EXECUTING deadline of ``executing-deadline``: longer than PAUSE (the tool's activity is
# capped by the time left, and must finish), shorter than PAUSE plus the time no worker runs it.
EXECUTING_DEADLINE = timedelta(seconds=3)
PAUSE_TOOL = "pause_read"
DEFINITION_BUG = "the agent's input model is broken"


class BrokenInput(BaseModel):
    """An input model whose validator raises what pydantic does not turn into a
    ValidationError: a bug in the agent's definition, met only when a run is prepared."""

    model_config = ConfigDict(extra="forbid")

    key: str

    @field_validator("key")
    @classmethod
    def _explode(cls, value: str) -> str:  # noqa: ARG003 -- pydantic passes it
        raise RuntimeError(DEFINITION_BUG)


async def _pause(params: KeyParams, ctx: ToolContext) -> Value:
    await asyncio.sleep(PAUSE.total_seconds())
    return Value(value=params.key)


PAUSE_READ = define_tool(
    _pause,
    name=PAUSE_TOOL,
    description="Answers after a pause.",
    params=KeyParams,
    output=Value,
    timeout=timedelta(seconds=10),
    retry=RetrySpec(max_attempts=1),
)


def broken_input_agent() -> AgentDefinition:
    spec = AgentSpec(
        name="broken-input",
        version="1",
        system_prompt="Never gets a prepared run.",
        model=ModelSettings(scripted=ScriptedOptions(script=(DONE,))),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=BrokenInput, tools=())


def executing_deadline_agent() -> AgentDefinition:
    """One slow tool call, then an answer; EXECUTING's deadline passes while no worker runs the
    run between the two (the test stops its worker while the tool runs)."""
    spec = AgentSpec(
        name="executing-deadline",
        version="1",
        system_prompt="Reads slowly.",
        model=ModelSettings(scripted=ScriptedOptions(script=(call(PAUSE_TOOL), DONE))),
        tools=(PAUSE_READ.contract,),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
        deadlines=StateDeadlines(executing=EXECUTING_DEADLINE),
    )
    return AgentDefinition(spec=spec, input_model=ProbeInput, tools=(PAUSE_READ,))


def register(registry: AgentRegistry) -> None:
    registry.register(broken_input_agent())
    registry.register(executing_deadline_agent())
    # The script's answer names a tool result the run never had: the model call fails for good.
    registry.register(
        probe_agent("model-error", [ScriptStep(final={"value": "{{tools.never_called.value}}"})])
    )
