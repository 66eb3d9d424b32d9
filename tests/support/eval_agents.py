"""Refund versions for the evaluation tests: one that forgets to tell the customer, and one
whose content is the current version's under another name (so the two must compare the same).
"""

from dataclasses import replace

from agentrun.agents.refund import REFUND_SCRIPT, build_refund_agent
from agentrun.agents.refund.tools import SEND_EMAIL
from agentrun.agents.registry import AgentDefinition, AgentRegistry
from agentrun.contracts.agents import ModelSettings, ScriptedOptions

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


def register(registry: AgentRegistry) -> None:
    registry.register(worse())
    registry.register(build_refund_agent(SAME))
