"""The provider interface every model backend implements."""

import contextlib
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from agentrun.contracts.agents import AgentSpec
from agentrun.contracts.model import (
    FinalAnswer,
    Message,
    ModelDecision,
    TokenUsage,
    ToolCallRequest,
)


@dataclass(frozen=True)
class ModelRequest:
    spec: AgentSpec
    messages: list[Message]
    turn: int
    # The model this run calls (a per-run override of the spec's); None: the spec's own.
    model: str | None = None
    # The whole stored conversation when ``messages`` leaves some of it out (compaction, see
    # logic.compaction). Only the scripted model reads it: its script plays on as if the model
    # remembered every turn, as a real one does through the summary.
    conversation: list[Message] | None = None
    # A request for a summary of earlier turns (compaction), not for the run's next step: its
    # spec has no tools and the summariser's instructions for a system prompt.
    summarizing: bool = False

    @property
    def model_name(self) -> str:
        return self.model or self.spec.model.model


@dataclass(frozen=True)
class ModelResponse:
    decision: ModelDecision
    usage: TokenUsage
    model: str
    content: str = ""


class ModelProviderError(Exception):
    """A failed model call, classified once, here, for Temporal's retry policy: the provider
    SDKs' own retries are off, so one place decides.

    ``retry_after``: seconds the provider asked to wait (HTTP ``Retry-After``); the activity's
    next attempt waits that long. ``context_overflow``: the conversation does not fit the
    model's context window, its own failure category (no retry can help).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        context_overflow: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable and not context_overflow
        self.retry_after = retry_after
        self.context_overflow = context_overflow


class ModelProvider(Protocol):
    name: str

    async def complete(self, request: ModelRequest) -> ModelResponse: ...


async def close_providers(providers: Iterable[ModelProvider]) -> None:
    """Close what providers hold open (HTTP connection pools), for those that hold any."""
    for provider in providers:
        close: Callable[[], Awaitable[None]] | None = getattr(provider, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):  # shutting down: nothing left to tell
                await close()


def estimate_tokens(text: str) -> int:
    """~4 characters per token, the usual rule of thumb for English text and JSON."""
    return tokens_for_length(len(text))


def tokens_for_length(chars: int) -> int:
    """``estimate_tokens`` of a text this long."""
    return max(1, math.ceil(chars / 4))


def fixed_prompt_text(spec: AgentSpec) -> str:
    """The part of every request that depends only on the spec: system prompt and tool schemas."""
    tools = [
        {"name": t.name, "description": t.description, "parameters": t.input_schema}
        for t in spec.tools
    ]
    return spec.system_prompt + json.dumps(tools)


def messages_text(messages: list[Message]) -> str:
    return json.dumps([m.model_dump(mode="json", exclude_defaults=True) for m in messages])


@dataclass(frozen=True)
class ToolSchema:
    """A tool as a model sees it: its contract's name, description and params JSON Schema."""

    name: str
    description: str
    parameters: dict[str, Any]


def tool_schemas(spec: AgentSpec) -> list[ToolSchema]:
    """From the tool contracts, i.e. the tools' pydantic params models: what the model is told
    is exactly what the arguments are checked against when it answers."""
    return [ToolSchema(t.name, t.description, t.input_schema) for t in spec.tools]


_FENCED = re.compile(r"```(?:json)?[ \t]*\n?(.*?)```", re.DOTALL)


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def answer_from_text(text: str) -> FinalAnswer:
    """A model's final answer as the run's output: the JSON object the model wrote (as agents
    are usually told to): the whole reply, or else its last fenced block that holds one, prose
    around it allowed. Otherwise the text itself, as ``{"answer": text}``."""
    found = _object(text.strip())
    for block in reversed(_FENCED.findall(text)):
        if found is not None:
            break
        found = _object(block.strip())
    return FinalAnswer(output=found if found is not None else {"answer": text})


def parse_arguments(raw: str | None) -> tuple[dict[str, Any], str | None]:
    """A tool call's arguments as the model sent them (a JSON text): the object, or ``{}`` and
    why not, which goes back to the model as the tool's answer instead of into the tool."""
    if raw is None or not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError as err:
        return {}, f"arguments are not valid JSON ({err})"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, not {type(value).__name__}"
    return value, None


def tool_call(call_id: str, tool: str, args: dict[str, Any], error: str | None) -> ToolCallRequest:
    """A call as history keeps it: ``error`` only when there is one, since payloads leave out
    unset fields and a ``null`` on every call of every run would be bytes for nothing."""
    if error is None:
        return ToolCallRequest(call_id=call_id, tool=tool, args=args)
    return ToolCallRequest(call_id=call_id, tool=tool, args=args, error=error)


def token_usage(input_tokens: int, output_tokens: int, cached_input_tokens: int) -> TokenUsage:
    """Usage as history keeps it: cached tokens only when the provider served any."""
    if not cached_input_tokens:
        return TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    return TokenUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached_input_tokens,
    )
