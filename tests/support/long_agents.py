"""Agents whose runs are long enough to continue as new (docs/lifecycle.md), given a worker with
a low ``continue_as_new_after_events``: tests.workflows.test_continue_as_new and the replay
corpus (tests.support.record_histories).
"""

from pydantic import BaseModel, ConfigDict

from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.contracts.agents import (
    AgentSpec,
    Budget,
    BudgetAction,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptCall,
    ScriptedOptions,
    ScriptStep,
)

LONG_HAUL = "long-haul"
LONG_BUDGET = "long-budget"
# long-haul: one gated call, then this many steps of this many reads each, then its answer.
HAUL_STEPS = 6
CALLS_PER_STEP = 10
HAUL_CALLS = 1 + HAUL_STEPS * CALLS_PER_STEP
BUDGET_STEPS = 4


class Key(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class Found(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    value: str


class NoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = "k"


async def _read(params: Key, ctx: ToolContext) -> Found:
    return Found(key=params.key, value=f"value-{params.key}")


# Reads private data: the run's trust label must survive a continue-as-new.
READ = define_tool(
    _read,
    name="read_record",
    description="Read one record (private).",
    params=Key,
    output=Found,
    private_data=True,
)
GATED = define_tool(
    _read,
    name="gated_read",
    description="A read a person approves first.",
    params=Key,
    output=Found,
    requires_approval=True,
)


def _reads(step: int, count: int) -> ScriptStep:
    """One step asking for ``count`` reads at once, each with its own key (no loop)."""
    return ScriptStep(
        calls=tuple(
            ScriptCall(tool="read_record", args={"key": f"s{step}-c{index}"})
            for index in range(count)
        )
    )


def long_haul() -> AgentDefinition:
    """A gated call (a review before continuing), 60 reads over six steps (several executions
    at a low threshold), then an answer that is always reviewed (a review after continuing)."""
    script = (
        ScriptStep(tool="gated_read", args={"key": "gate"}),
        *(_reads(step, CALLS_PER_STEP) for step in range(HAUL_STEPS)),
        ScriptStep(final={"last": "{{tools.read_record.value}}"}, confidence=0.9),
    )
    spec = AgentSpec(
        name=LONG_HAUL,
        version="1",
        system_prompt="Read every record, then say what the last one held.",
        model=ModelSettings(scripted=ScriptedOptions(script=script)),
        tools=(READ.contract, GATED.contract),
        max_steps=20,
        review=ReviewPolicy(mode=ReviewMode.ALWAYS),
        reviewers=("alice",),
    )
    return AgentDefinition(spec=spec, input_model=NoInput, tools=(READ, GATED))


def long_budget() -> AgentDefinition:
    """A step budget a reviewer extends once: the extension and the steps taken must both be
    carried for the run to stop where its budget says, whichever execution it is in."""
    script = (
        *(_reads(step, 5) for step in range(3 * BUDGET_STEPS)),
        ScriptStep(final={"done": True}),
    )
    spec = AgentSpec(
        name=LONG_BUDGET,
        version="1",
        system_prompt="Read until the budget runs out.",
        model=ModelSettings(scripted=ScriptedOptions(script=script)),
        tools=(READ.contract,),
        max_steps=30,
        budget=Budget(max_steps=BUDGET_STEPS, on_exceeded=BudgetAction.REVIEW),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
        reviewers=("alice",),
    )
    return AgentDefinition(spec=spec, input_model=NoInput, tools=(READ,))


def register(registry: AgentRegistry) -> None:
    for definition in (long_haul(), long_budget()):
        registry.register(definition)
