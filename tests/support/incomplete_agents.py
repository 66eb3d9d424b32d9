"""An agent module with the defaults a newcomer starts from: review always, nobody to review.

Loaded by name in CLI tests: registering it must fail, naming the fields to fix.
"""

from pydantic import BaseModel

from agentrun.agents.registry import AgentDefinition, AgentRegistry
from agentrun.contracts.agents import AgentSpec, ModelSettings, ScriptedOptions, ScriptStep


class Question(BaseModel):
    text: str


def register(registry: AgentRegistry) -> None:
    spec = AgentSpec(
        name="hello",
        version="1",
        system_prompt="Answer.",
        model=ModelSettings(scripted=ScriptedOptions(script=(ScriptStep(final={"answer": "hi"}),))),
    )
    registry.register(AgentDefinition(spec=spec, input_model=Question, tools=()))
