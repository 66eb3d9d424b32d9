"""A deterministic model for offline runs and tests: it follows the agent spec's script.

Each assistant turn plays the next script step; ``{{input.x}}``, ``{{tools.<tool>.<field>}}`` and
``{{feedback}}`` templates are filled from the conversation, so the same conversation always
yields the same decision, and token usage is counted from the text a real call would carry.
"""

import json
import re
from typing import Any

from agentrun.activities.providers.base import (
    ModelProviderError,
    ModelRequest,
    ModelResponse,
    estimate_tokens,
    fixed_prompt_text,
    messages_text,
)
from agentrun.contracts.agents import ScriptStep
from agentrun.contracts.model import (
    FinalAnswer,
    Message,
    ModelDecision,
    TokenUsage,
    ToolCallRequest,
)

_WHOLE = re.compile(r"^\{\{\s*([\w.-]+)\s*\}\}$")
_PART = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")


def _lookup(path: str, scope: dict[str, Any]) -> Any:
    value: Any = scope
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise ModelProviderError(
                f"script template {{{{{path}}}}} has no value", retryable=False
            )
    return value


def render(value: Any, scope: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole:
            return _lookup(whole.group(1), scope)
        return _PART.sub(lambda m: str(_lookup(m.group(1), scope)), value)
    if isinstance(value, dict):
        return {k: render(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, scope) for v in value]
    return value


def _scope(messages: list[Message]) -> dict[str, Any]:
    run_input: dict[str, Any] = {}
    tools: dict[str, Any] = {}
    feedback = ""
    for i, message in enumerate(messages):
        if message.role == "user":
            if i == 0:
                run_input = json.loads(message.content or "{}")
            else:
                feedback = message.content
        elif message.role == "tool" and message.name:
            tools[message.name] = json.loads(message.content or "{}")
    return {"input": run_input, "tools": tools, "feedback": feedback}


class ScriptedProvider:
    name = "scripted"

    def __init__(self) -> None:
        # Token count of the spec-only part of the prompt, per agent version: computed once.
        self._fixed_tokens: dict[tuple[str, str], int] = {}

    def _prompt_tokens(self, request: ModelRequest) -> int:
        spec = request.spec
        key = (spec.name, spec.version)
        if key not in self._fixed_tokens:
            self._fixed_tokens[key] = estimate_tokens(fixed_prompt_text(spec))
        return self._fixed_tokens[key] + estimate_tokens(messages_text(request.messages))

    async def complete(self, request: ModelRequest) -> ModelResponse:
        script = request.spec.model.scripted.script
        if not script:
            raise ModelProviderError(f"agent {request.spec.ref} has no script", retryable=False)
        tool_turns = sum(1 for m in request.messages if m.role == "assistant" and m.tool_calls)
        scope = _scope(request.messages)
        last = request.messages[-1]
        if last.role == "user" and len(request.messages) > 1:
            # Feedback after a final answer: answer again, with the reviewer's notes applied.
            step = next((s for s in reversed(script) if s.final is not None), script[-1])
        else:
            step = script[min(tool_turns, len(script) - 1)]
        decision = self._decide(step, scope, request.turn)
        completion = decision.model_dump_json(exclude_defaults=True)
        usage = TokenUsage(
            input_tokens=self._prompt_tokens(request),
            output_tokens=estimate_tokens(completion),
        )
        return ModelResponse(
            decision=decision, usage=usage, model=request.spec.model.model, content=completion
        )

    @staticmethod
    def _decide(step: ScriptStep, scope: dict[str, Any], turn: int) -> ModelDecision:
        if step.final is not None:
            output = render(step.final, scope)
            if scope["feedback"]:
                output = {**output, "revision_notes": scope["feedback"]}
            return ModelDecision(final=FinalAnswer(output=output, confidence=step.confidence))
        assert step.tool is not None  # noqa: S101 -- ScriptStep's validator guarantees it
        # The tool name may be a template too (``{{input.tool}}``): how a script stands in for a
        # model that asks for a tool of its own choosing, one the agent may not have.
        call = ToolCallRequest(
            call_id=f"call_{turn}_0",
            tool=str(render(step.tool, scope)),
            args=render(step.args, scope),
        )
        return ModelDecision(tool_calls=(call,))
