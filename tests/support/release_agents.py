"""Agents for the release tests (issue 18).

- Refund versions for the evaluation tests: one that forgets to tell the customer, and one
  whose content is the current version's under another name (so the two must compare the same).
- ``release``: a small agent with a read-only tool, versions ``1`` (stable) and ``2``
  (candidate), for rollouts: its runs finish in a moment with nobody asked, so a test can send
  it traffic while a rollout routes it.
"""

from dataclasses import replace

from pydantic import BaseModel, ConfigDict

from agentrun.agents.refund import REFUND_SCRIPT, build_refund_agent
from agentrun.agents.refund.tools import SEND_EMAIL
from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.contracts.agents import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)

WORSE = "2-no-email"
SAME = "2-copy"


def worse() -> AgentDefinition:
    """Skips the email and says it notified nobody: its trajectory and fields both fail."""
    script = tuple(step for step in REFUND_SCRIPT if step.tool != SEND_EMAIL)
    final = script[-1]
    assert final.final is not None
    script = (
        *script[:-1],
        final.model_copy(update={"final": {**final.final, "customer_notified": False}}),
    )
    definition = build_refund_agent(WORSE)
    model = ModelSettings(
        provider="scripted", model="scripted-1", scripted=ScriptedOptions(script=script)
    )
    return replace(definition, spec=definition.spec.model_copy(update={"model": model}))


RELEASE = "release"
RELEASE_TOOL = "release_lookup"


class Key(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class Found(BaseModel):
    value: str


async def release_lookup(params: Key, ctx: ToolContext) -> Found:
    return Found(value=f"v-{params.key}")


LOOKUP = define_tool(
    release_lookup, name=RELEASE_TOOL, description="Look a key up.", params=Key, output=Found
)


def release(version: str) -> AgentDefinition:
    script = (
        ScriptStep(tool=RELEASE_TOOL, args={"key": "{{input.key}}"}),
        ScriptStep(final={"value": "{{tools.release_lookup.value}}", "version": version}),
    )
    spec = AgentSpec(
        name=RELEASE,
        version=version,
        system_prompt="Look the key up and answer.",
        model=ModelSettings(scripted=ScriptedOptions(script=script)),
        tools=(LOOKUP.contract,),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=Key, tools=(LOOKUP,))


def register(registry: AgentRegistry) -> None:
    registry.register(worse())
    registry.register(build_refund_agent(SAME))
    registry.register(release("1"), default=True)
    registry.register(release("2"))
