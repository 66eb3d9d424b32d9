"""Registration refuses an agent whose runs could never finish, naming the field to fix."""

import pytest
from pydantic import BaseModel, ConfigDict

from agentrun.agents.registry import AgentDefinition, AgentRegistry, RegistryError
from agentrun.contracts.agents import (
    AgentSpec,
    Budget,
    BudgetAction,
    EscalationAction,
    EscalationPolicy,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)
from agentrun.contracts.policy import PolicyDocument
from tests.support.agents import TOOLS


class Ask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


ECHO = TOOLS["echo"]
GATED = TOOLS["gated_write"]
NO_REVIEW = ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0)


def agent(**spec_fields: object) -> AgentDefinition:
    tools = spec_fields.pop("tool_definitions", (ECHO,))
    assert isinstance(tools, tuple)
    example = spec_fields.pop("example_input", None)
    assert example is None or isinstance(example, dict)
    fields: dict[str, object] = {
        "name": "minimal",
        "version": "1",
        "system_prompt": "x",
        "model": ModelSettings(
            scripted=ScriptedOptions(
                script=(ScriptStep(tool="echo", args={"key": "k"}), ScriptStep(final={"ok": True}))
            )
        ),
        "tools": tuple(t.contract for t in tools),
        **spec_fields,
    }
    return AgentDefinition(
        spec=AgentSpec.model_validate(fields), input_model=Ask, tools=tools, example_input=example
    )


def refusal(definition: AgentDefinition) -> str:
    with pytest.raises(RegistryError) as refused:
        AgentRegistry().register(definition)
    message = str(refused.value)
    assert message.startswith("agent minimal@1 cannot complete a run: "), message
    return message


def test_the_defaults_without_reviewers_are_refused_naming_the_fields() -> None:
    message = refusal(agent())
    assert "reviewers: none" in message
    assert "review.mode is 'always'" in message
    assert "review.sample_rate is 0.01" in message


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"review": ReviewPolicy(mode=ReviewMode.NEVER)}, "review.sample_rate is 0.01"),
        (
            {"review": ReviewPolicy(mode=ReviewMode.LOW_CONFIDENCE, sample_rate=0)},
            "review.mode is 'low_confidence'",
        ),
        ({"review": NO_REVIEW, "tool_definitions": (ECHO, GATED)}, "gated_write need approval"),
        (
            {"review": NO_REVIEW, "budget": Budget(max_steps=3, on_exceeded=BudgetAction.REVIEW)},
            "budget.on_exceeded is 'review'",
        ),
    ],
)
def test_anything_that_asks_a_person_needs_someone_to_ask(
    fields: dict[str, object], named: str
) -> None:
    assert named in refusal(agent(**fields))


def test_a_policy_escalation_needs_a_reviewer_too() -> None:
    policy = PolicyDocument.model_validate(
        {
            "policy_id": "screen",
            "version": "1",
            "rules": [{"id": "inj", "kind": "injection", "verdict": "escalate"}],
        }
    )
    assert "policy rules inj escalate" in refusal(agent(review=NO_REVIEW, policies=(policy,)))


@pytest.mark.parametrize(
    "fields",
    [
        {"reviewers": ("alice",)},
        {"review": NO_REVIEW},
        {"escalation": EscalationPolicy(action=EscalationAction.AUTO_APPROVE)},
        {
            "escalation": EscalationPolicy(
                action=EscalationAction.ESCALATE, escalation_reviewers=("oncall",)
            )
        },
    ],
)
def test_an_agent_that_can_finish_registers(fields: dict[str, object]) -> None:
    registry = AgentRegistry()
    registry.register(agent(**fields))
    assert registry.agent_names() == ["minimal"]


def test_a_scripted_tool_the_agent_does_not_have_is_named() -> None:
    script = ModelSettings(
        scripted=ScriptedOptions(
            script=(ScriptStep(tool="send_mail"), ScriptStep(final={"ok": True}))
        )
    )
    message = refusal(agent(model=script, review=NO_REVIEW))
    assert "model.scripted.script[0].tool: 'send_mail' is not one of its tools (echo)" in message


def test_a_templated_tool_name_is_left_to_the_run() -> None:
    script = ModelSettings(
        scripted=ScriptedOptions(script=(ScriptStep(tool="{{input.key}}"), ScriptStep(final={})))
    )
    AgentRegistry().register(agent(model=script, review=NO_REVIEW))


def test_an_allow_list_or_constraint_naming_an_unknown_tool_is_named() -> None:
    policy = PolicyDocument.model_validate(
        {
            "policy_id": "tools",
            "version": "2",
            "rules": [
                {"id": "allow", "kind": "tool_allowlist", "tools": ["echo", "send_mail"]},
                {"id": "cap", "kind": "arg_constraint", "tool": "refund", "path": "x", "max": 1},
            ],
        }
    )
    message = refusal(agent(review=NO_REVIEW, policies=(policy,)))
    assert (
        "policies[0] (tools) rules[0] (allow): tool 'send_mail' is not one of its tools" in message
    )
    assert "policies[0] (tools) rules[1] (cap): tool 'refund' is not one of its tools" in message


def test_an_example_input_must_be_valid() -> None:
    message = refusal(agent(review=NO_REVIEW, example_input={"key": 3}))
    assert "example_input.key: Input should be a valid string" in message
    AgentRegistry().register(agent(review=NO_REVIEW, example_input={"key": "k"}))
