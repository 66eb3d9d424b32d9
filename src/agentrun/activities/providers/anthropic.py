"""Claude through Anthropic's official SDK: the Messages API with tool use.

The SDK is configured the way it documents (``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``), read
from the environment the worker hands over, so a worker built for a test or a tenant never picks
up a key from the process around it. The SDK's own retries are off: every failure is classified
here, once, and Temporal retries the activity (``retry-after`` included), so a run's history
shows each attempt and no call hides a second one.

Prompt caching is on: one cache breakpoint after the system prompt (tools and instructions, the
same on every call of an agent) and one on the newest block of the conversation, so each turn of
the agent loop reads the turns before it from the cache instead of paying for them again.

An agent's ``model.temperature`` is not sent: SDK 2.x speaks API version 2026-10-21, which
refuses sampling parameters (``temperature``, ``top_p``, ``top_k``) whatever their value, and
the SDK no longer offers them. ``model.max_output_tokens`` is ``max_tokens``.
"""

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeAlias

import anthropic
from anthropic.types import (
    AssistantMessageParam,
    CacheControlEphemeralParam,
    MessageParam,
    TextBlockParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
    UserMessageParam,
)
from anthropic.types import Message as ApiMessage

from agentrun.activities.providers.base import (
    ModelProviderError,
    ModelRequest,
    ModelResponse,
    answer_from_text,
    parse_arguments,
    token_usage,
    tool_call,
    tool_schemas,
)
from agentrun.activities.providers.serve import HOSTED, ProviderUnavailable
from agentrun.contracts.model import Message, ModelDecision, TokenUsage, ToolCallRequest

# Below the model activity's 2-minute start-to-close (workflows/options.py MODEL_TIMEOUT): a slow
# answer ends as the SDK's timeout, a retryable failure with a clear message, rather than as
# Temporal's, which would say nothing about the model.
SDK_TIMEOUT_S = 100.0
CONNECT_TIMEOUT_S = 10.0
DEFAULT_BASE_URL = "https://api.anthropic.com"
# Anthropic's wording for a conversation that does not fit: "prompt is too long: 210000 tokens >
# 200000 maximum", or "input length and `max_tokens` exceed context limit: ...".
_OVERFLOW = re.compile(r"prompt is too long|exceeds? (the )?context (limit|window)", re.IGNORECASE)
# Statuses worth another attempt (the SDK's own policy): timeouts, lock conflicts, rate limits.
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_API_MESSAGE_CHARS = 200
_EPHEMERAL: CacheControlEphemeralParam = {"type": "ephemeral"}

Block: TypeAlias = TextBlockParam | ToolUseBlockParam | ToolResultBlockParam
Role: TypeAlias = Literal["user", "assistant"]


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self, *, api_key: str, base_url: str = DEFAULT_BASE_URL, timeout: float = SDK_TIMEOUT_S
    ) -> None:
        self._timeout = timeout
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=anthropic.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
        )

    @property
    def timeout(self) -> float:
        return self._timeout

    async def aclose(self) -> None:
        """Close the SDK's connection pool (the worker does, once it has stopped)."""
        await self._client.close()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        spec, model = request.spec, request.model_name
        system, messages = to_wire(request.messages, spec.system_prompt)
        tools = [
            ToolParam(name=t.name, description=t.description, input_schema=t.parameters)
            for t in tool_schemas(spec)
        ]
        try:
            reply = await self._client.messages.create(
                model=model,
                max_tokens=spec.model.max_output_tokens,
                system=system or anthropic.omit,
                messages=messages,
                tools=tools or anthropic.omit,
            )
        except anthropic.APIError as err:
            raise classify(err, model=model, timeout=self._timeout) from None
        return from_reply(reply, spec.model.max_output_tokens)


def from_environment(environ: Mapping[str, str]) -> AnthropicProvider:
    """The provider as the SDK documents its configuration; without a key, the reason why not."""
    api_key = environ.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        raise ProviderUnavailable(HOSTED["anthropic"].unset)
    base_url = environ.get("ANTHROPIC_BASE_URL", "").strip() or DEFAULT_BASE_URL
    if not base_url.startswith(("https://", "http://")):
        raise ProviderUnavailable(
            f"anthropic: ANTHROPIC_BASE_URL must be an http(s) URL, not {base_url[:80]!r}"
        )
    return AnthropicProvider(api_key=api_key, base_url=base_url)


# ----------------------------------------------------------------- request


def to_wire(
    messages: list[Message], system_prompt: str
) -> tuple[list[TextBlockParam], list[MessageParam]]:
    """Our conversation as the Messages API takes it.

    The API wants strictly alternating user and assistant turns, starting with the user, and
    every ``tool_use`` answered by a ``tool_result`` in the very next user turn (results first).
    Tool answers are ``tool`` messages here, one per call: consecutive ones become one user turn.
    Empty text is left out (the API refuses empty text blocks), and turns of one role that end
    up adjacent are joined.
    """
    parts = [system_prompt, *(m.content for m in messages if m.role == "system")]
    system_text = "\n\n".join(part for part in parts if part.strip())
    turns: list[tuple[Role, list[Block]]] = []
    for message in messages:
        if message.role == "system":
            continue
        role: Role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    wire: list[MessageParam] = []
    for role, blocks in turns:
        if role == "user":  # tool results first, as the API requires
            blocks.sort(key=lambda b: b["type"] != "tool_result")
            wire.append(UserMessageParam(role="user", content=blocks))
        else:
            wire.append(AssistantMessageParam(role="assistant", content=blocks))
    if turns:
        turns[-1][1][-1]["cache_control"] = _EPHEMERAL
    system: list[TextBlockParam] = (
        [{"type": "text", "text": system_text, "cache_control": _EPHEMERAL}] if system_text else []
    )
    return system, wire


def _blocks(message: Message) -> list[Block]:
    blocks: list[Block] = []
    if message.role == "tool":
        if message.tool_call_id is None:
            raise ModelProviderError(
                f"anthropic: tool message for {message.name or 'a tool'} has no tool_call_id",
                retryable=False,
            )
        result: ToolResultBlockParam = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id,
            "content": message.content,
        }
        if _is_error(message.content):
            result["is_error"] = True
        return [result]
    if message.content.strip():
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(
        {"type": "tool_use", "id": call.call_id, "name": call.tool, "input": dict(call.args)}
        for call in message.tool_calls
    )
    return blocks


def _is_error(content: str) -> bool:
    """A tool's answer that is only ``{"error": ...}``: how the run reports a failed call, a
    refused one or one a person did not approve (the model should see it as a failure)."""
    try:
        value = json.loads(content)
    except ValueError:
        return False
    return isinstance(value, dict) and set(value) == {"error"}


# ----------------------------------------------------------------- response


def from_reply(reply: ApiMessage, max_tokens: int) -> ModelResponse:
    stop = reply.stop_reason
    if stop == "max_tokens":
        raise ModelProviderError(
            f"anthropic: the reply was cut off at max_tokens={max_tokens}: raise the agent's "
            "model.max_output_tokens",
            retryable=False,
        )
    if stop == "model_context_window_exceeded":
        raise ModelProviderError(
            "anthropic: the reply ran out of the model's context window",
            retryable=False,
            context_overflow=True,
        )
    if stop == "refusal":
        raise ModelProviderError("anthropic: the model declined to answer", retryable=False)
    texts: list[str] = []
    calls: list[ToolCallRequest] = []
    for block in reply.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            args, error = _arguments(block.input)
            calls.append(tool_call(block.id, block.name, args, error))
    text = "".join(texts)
    if calls:
        decision = ModelDecision(tool_calls=tuple(calls))
    elif text.strip():
        decision = ModelDecision(final=answer_from_text(text))
    else:  # neither: the run fails it as a model error
        decision = ModelDecision()
    return ModelResponse(decision=decision, usage=usage_of(reply), model=reply.model, content=text)


def _arguments(raw: object) -> tuple[dict[str, Any], str | None]:
    """``input`` as the SDK decoded it: an object, or (from a proxy) a JSON text of one."""
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}, None
    if isinstance(raw, str):
        return parse_arguments(raw)
    return {}, f"arguments must be a JSON object, not {type(raw).__name__}"


def usage_of(reply: ApiMessage) -> TokenUsage:
    """Anthropic counts input in three parts: ``input_tokens`` (after the last cache
    breakpoint), ``cache_creation_input_tokens`` (written to the cache) and
    ``cache_read_input_tokens`` (read from it). All three are the prompt, so all count as input;
    the read ones are also ``cached_input_tokens`` (priced as such). Written ones are priced as
    ordinary input: Anthropic bills them at 1.25x, a premium the price table does not model."""
    usage = reply.usage
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    return token_usage(usage.input_tokens + written + read, usage.output_tokens, read)


# ----------------------------------------------------------------- failures


def classify(err: anthropic.APIError, *, model: str, timeout: float) -> ModelProviderError:
    """One SDK failure as a retry class, in one line without the prompt or the key."""
    if isinstance(err, anthropic.APITimeoutError):
        return ModelProviderError(
            f"anthropic: {model} did not answer within {timeout:g} s", retryable=True
        )
    if isinstance(err, anthropic.APIConnectionError):
        cause = type(err.__cause__).__name__ if err.__cause__ else "connection error"
        return ModelProviderError(
            f"anthropic: cannot reach {err.request.url.host} ({cause})", retryable=True
        )
    if isinstance(err, anthropic.APIResponseValidationError):
        return ModelProviderError(
            f"anthropic: unreadable answer (HTTP {err.status_code})", retryable=True
        )
    if not isinstance(err, anthropic.APIStatusError):
        return ModelProviderError(f"anthropic: {type(err).__name__}", retryable=False)
    status, kind = err.status_code, err.type or "error"
    said = _one_line(err.api_message or "")
    message = f"anthropic: HTTP {status} {kind}" + (f": {said}" if said else "")
    if status == 413 or (status == 400 and _OVERFLOW.search(said)):
        return ModelProviderError(message, retryable=False, context_overflow=True)
    hint = {
        401: " (check ANTHROPIC_API_KEY)",
        404: f" (check the model, {model!r}, and ANTHROPIC_BASE_URL)",
    }.get(status, "")
    should = err.response.headers.get("x-should-retry")
    retryable = (
        should == "true"
        if should in ("true", "false")
        else status in _RETRYABLE_STATUS or status >= 500
    )
    return ModelProviderError(
        message + hint,
        retryable=retryable,
        retry_after=retry_after(err.response.headers) if retryable else None,
    )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return _positive(float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return _positive(float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _positive((when - datetime.now(UTC)).total_seconds())


def _positive(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _API_MESSAGE_CHARS else flat[: _API_MESSAGE_CHARS - 1] + "…"
