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
    tokens_for_length,
)
from agentrun.contracts.agents import ScriptCall, ScriptStep
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


# Messages whose dumped length the provider keeps (see ``ScriptedProvider._prompt_tokens``).
KEPT_LENGTHS = 50_000


def _scope(messages: list[Message]) -> dict[str, Any]:
    """The input, each tool's latest result and the latest feedback. Read from the end, decoding
    only what counts: a long run's conversation costs a pass over roles, not a decode of every
    tool result it ever got."""
    run_input: dict[str, Any] = {}
    tools: dict[str, Any] = {}
    feedback: str | None = None
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.role == "user":
            if i == 0:
                run_input = json.loads(message.content or "{}")
            elif feedback is None:
                feedback = message.content
        elif message.role == "tool" and message.name and message.name not in tools:
            tools[message.name] = json.loads(message.content or "{}")
    return {"input": run_input, "tools": tools, "feedback": feedback or ""}


def _fitting(request: ModelRequest, prompt_tokens: int) -> int:
    """``prompt_tokens``, if the prompt fits the context window the agent declares
    (``model.context.window_tokens``): offline, the scripted model refuses a longer one as a
    hosted model would, ``context_overflow``. Without a declared window any prompt fits."""
    window = request.spec.model.context.window_tokens
    if window is not None and prompt_tokens > window:
        raise ModelProviderError(
            f"scripted: the prompt ({prompt_tokens} tokens) exceeds the model's context window "
            f"({window} tokens, model.context.window_tokens)",
            retryable=False,
            context_overflow=True,
        )
    return prompt_tokens


class ScriptedProvider:
    name = "scripted"

    def __init__(self) -> None:
        # Token count of the spec-only part of the prompt, per agent version: computed once.
        self._fixed_tokens: dict[tuple[str, str], int] = {}
        # Each message's length in ``messages_text``, by the message (kept alive with it): the
        # conversation store hands a run's model calls the same message objects each time.
        self._lengths: dict[int, tuple[Message, int]] = {}

    def _prompt_tokens(self, request: ModelRequest) -> int:
        spec = request.spec
        key = (spec.name, spec.version)
        if key not in self._fixed_tokens:
            self._fixed_tokens[key] = estimate_tokens(fixed_prompt_text(spec))
        return self._fixed_tokens[key] + tokens_for_length(self._text_length(request.messages))

    def _text_length(self, messages: list[Message]) -> int:
        """``len(messages_text(messages))``, dumping only the messages not seen before: the
        list's JSON is each message's, with ``[``, ``]`` and a ``, `` between them."""
        if len(self._lengths) > KEPT_LENGTHS:
            self._lengths.clear()
        total = 0
        for message in messages:
            kept = self._lengths.get(id(message))
            if kept is None or kept[0] is not message:
                kept = (message, len(messages_text([message])) - 2)
                self._lengths[id(message)] = kept
            total += kept[1]
        return total + 2 * len(messages) if messages else 2

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.summarizing:
            return self._summary(request)
        script = request.spec.model.scripted.script
        if not script:
            raise ModelProviderError(f"agent {request.spec.ref} has no script", retryable=False)
        prompt_tokens = _fitting(request, self._prompt_tokens(request))
        # The script plays on the whole conversation, turns left out by compaction included.
        conversation = request.conversation or request.messages
        tool_turns = sum(1 for m in conversation if m.role == "assistant" and m.tool_calls)
        scope = _scope(conversation)
        last = conversation[-1]
        if last.role == "user" and len(conversation) > 1:
            # Feedback after a final answer: answer again, with the reviewer's notes applied.
            step = next((s for s in reversed(script) if s.final is not None), script[-1])
        else:
            step = script[min(tool_turns, len(script) - 1)]
        decision = self._decide(step, scope, request.turn)
        completion = decision.model_dump_json(exclude_defaults=True)
        usage = TokenUsage(input_tokens=prompt_tokens, output_tokens=estimate_tokens(completion))
        return ModelResponse(
            decision=decision, usage=usage, model=request.spec.model.model, content=completion
        )

    def _summary(self, request: ModelRequest) -> ModelResponse:
        """A summary request (compaction) answered deterministically: a placeholder text that
        says how much it stands for, its tokens counted as a real summary's would be."""
        prompt = estimate_tokens(request.spec.system_prompt) + tokens_for_length(
            self._text_length(request.messages)
        )
        _fitting(request, prompt)
        text = f"(the scripted model's summary of {prompt} tokens of earlier conversation)"
        return ModelResponse(
            decision=ModelDecision(final=FinalAnswer(output={"answer": text})),
            usage=TokenUsage(input_tokens=prompt, output_tokens=estimate_tokens(text)),
            model=request.spec.model.model,
            content=text,
        )

    @staticmethod
    def _decide(step: ScriptStep, scope: dict[str, Any], turn: int) -> ModelDecision:
        if step.final is not None:
            output = render(step.final, scope)
            if scope["feedback"]:
                output = {**output, "revision_notes": scope["feedback"]}
            return ModelDecision(final=FinalAnswer(output=output, confidence=step.confidence))
        # The tool name may be a template too (``{{input.tool}}``): how a script stands in for a
        # model that asks for a tool of its own choosing, one the agent may not have.
        wanted = step.calls or (ScriptCall(tool=step.tool or "", args=step.args),)
        calls = tuple(
            ToolCallRequest(
                call_id=f"call_{turn}_{index}",
                tool=str(render(call.tool, scope)),
                args=render(call.args, scope),
            )
            for index, call in enumerate(wanted)
        )
        return ModelDecision(tool_calls=calls)
