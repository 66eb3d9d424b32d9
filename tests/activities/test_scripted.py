"""The scripted model: deterministic decisions, typed templates, feedback, token usage."""

import json

import pytest

from agentrun.activities.providers import ModelProviderError, ModelRequest, ScriptedProvider
from agentrun.activities.providers.scripted import render
from agentrun.contracts.agents import AgentSpec, ModelSettings, ScriptedOptions, ScriptStep
from agentrun.contracts.model import Message, ToolCallRequest

SPEC = AgentSpec(
    name="t",
    version="1",
    system_prompt="You are a test.",
    model=ModelSettings(
        scripted=ScriptedOptions(
            script=(
                ScriptStep(tool="lookup", args={"id": "{{input.id}}", "n": "{{input.n}}"}),
                ScriptStep(final={"email": "{{tools.lookup.email}}", "note": "id={{input.id}}"}),
            )
        )
    ),
)


def test_whole_templates_keep_their_type_and_partial_ones_format() -> None:
    scope = {"input": {"n": 250, "id": "7"}, "tools": {}}
    assert render("{{input.n}}", scope) == 250
    assert render("order {{input.id}} for {{input.n}}", scope) == "order 7 for 250"
    assert render({"a": ["{{input.id}}"]}, scope) == {"a": ["7"]}
    with pytest.raises(ModelProviderError, match="has no value"):
        render("{{input.missing}}", scope)


async def test_script_walks_tools_then_answers_then_revises() -> None:
    model = ScriptedProvider()
    user = Message(role="user", content=json.dumps({"id": "9", "n": 3}))
    first = await model.complete(ModelRequest(spec=SPEC, messages=[user], turn=1))
    [call] = first.decision.tool_calls
    assert (call.tool, call.args) == ("lookup", {"id": "9", "n": 3})
    assert first.usage.input_tokens > 0
    assert first.usage.output_tokens > 0

    history = [
        user,
        Message(role="assistant", tool_calls=(ToolCallRequest(call_id="c", tool="lookup"),)),
        Message(role="tool", name="lookup", tool_call_id="c", content='{"email": "x@y.z"}'),
    ]
    second = await model.complete(ModelRequest(spec=SPEC, messages=history, turn=2))
    assert second.decision.final is not None
    assert second.decision.final.output == {"email": "x@y.z", "note": "id=9"}
    assert second.usage.input_tokens > first.usage.input_tokens

    revised_history = [
        *history,
        Message(role="assistant", content="..."),
        Message(role="user", content="be kinder"),
    ]
    revised = await model.complete(ModelRequest(spec=SPEC, messages=revised_history, turn=3))
    assert revised.decision.final is not None
    assert revised.decision.final.output["revision_notes"] == "be kinder"
