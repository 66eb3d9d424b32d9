"""OpenAI's Chat Completions with tool calling, through the official ``openai`` SDK.

Chat Completions is the protocol every OpenAI-compatible server speaks (vLLM, Ollama, llama.cpp,
LM Studio, a LiteLLM proxy, OpenRouter, Azure OpenAI's v1 API), so one provider serves them all:
``OPENAI_BASE_URL`` says which.

Configured means, from the environment the worker is given (never read behind its back):

- ``OPENAI_API_KEY`` set: OpenAI itself, or the server at ``OPENAI_BASE_URL`` when that is set;
- only ``OPENAI_BASE_URL`` set: a compatible server that needs no key (a local vLLM or Ollama);
  the SDK still wants a bearer token, so a placeholder is sent, which such servers ignore;
- neither: not served, and the worker says so at start-up (``ProviderUnavailable``).

``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID`` and ``OPENAI_CUSTOM_HEADERS`` are honoured as the SDK
documents them (the SDK also merges the process's own ``OPENAI_CUSTOM_HEADERS``; these win).

The SDK's own retries are off: a failure is classified once, here, and Temporal retries the
activity (``Retry-After`` included), so no call is retried twice over. Its timeout is below the
model activity's start-to-close, so a slow server is a clean, retryable timeout
rather than an activity killed mid-call.
"""

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from openai import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncOpenAI,
    OpenAIError,
    omit,
)
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCallParam,
)

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

# Below the model activity's 2-minute start-to-close (workflows/options.py MODEL_TIMEOUT), with
# room for loading the conversation and storing the reply.
DEFAULT_TIMEOUT_S = 100.0
OPENAI_BASE_URL = "https://api.openai.com/v1"
# A keyless compatible server ignores the bearer token the SDK insists on sending.
NO_KEY = "no-key"

# Reasoning models refuse any temperature but the default, and count their output limit in
# max_completion_tokens (which OpenAI prefers for every model; many compatible servers know
# only max_tokens). A proxy may prefix the name ("openai/o3-mini").
_REASONING = re.compile(r"^(?:o\d|gpt-5)")
# How servers say the prompt does not fit: OpenAI, Azure and Groq by code; llama.cpp and Ollama by
# type; vLLM, OpenRouter, DeepSeek, Mistral, LiteLLM and Anthropic-behind-a-proxy by message.
_OVERFLOW_CODES = frozenset({"context_length_exceeded", "context_window_exceeded"})
_OVERFLOW_TYPES = frozenset({"exceed_context_size_error", "context_length_exceeded"})
_OVERFLOW_TEXT = re.compile(
    r"maximum context length|context[ _]?length[ _]exceeded|contextwindowexceeded"
    r"|exceeds? the (?:available )?context (?:size|window|limit)|maximum model length"
    r"|prompt is too long|exceeds? (?:the )?context limit|`inputs` tokens \+ `max_new_tokens`",
    re.IGNORECASE,
)
_SECRET = re.compile(r"\bsk-[A-Za-z0-9_*\-]{6,}")
_DETAIL_LIMIT = 300


def from_environment(
    environ: Mapping[str, str], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> "OpenAIProvider":
    key = environ.get("OPENAI_API_KEY", "").strip()
    base_url = environ.get("OPENAI_BASE_URL", "").strip()
    if not key and not base_url:
        raise ProviderUnavailable(HOSTED["openai"].unset)
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderUnavailable(
                f"openai: OPENAI_BASE_URL {_one_line(base_url, 100)!r} is not an http(s) URL"
            )
    # Every value is passed explicitly: the SDK would otherwise read the process environment,
    # and this one (a test's, an embedding application's) is the one that counts.
    client = AsyncOpenAI(
        api_key=key or NO_KEY,
        base_url=base_url or OPENAI_BASE_URL,
        timeout=timeout_s,
        max_retries=0,
        default_headers=_custom_headers(environ.get("OPENAI_CUSTOM_HEADERS", "")),
    )
    client.organization = environ.get("OPENAI_ORG_ID") or None
    client.project = environ.get("OPENAI_PROJECT_ID") or None
    return OpenAIProvider(client)


def _custom_headers(text: str) -> dict[str, str]:
    """``OPENAI_CUSTOM_HEADERS``: one ``Name: value`` a line, as the SDK reads it."""
    headers = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip()] = value.strip()
    return headers


class OpenAIProvider:
    name = "openai"

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client
        url = client.base_url
        # Userinfo and query left out: the address appears in error messages.
        port = f":{url.port}" if url.port else ""
        self._where = f"{url.scheme}://{url.host}{port}{url.path}".rstrip("/")
        self._official = url.host == "api.openai.com"

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        model = request.model_name
        settings = request.spec.model
        reasoning = bool(_REASONING.match(model.rsplit("/", 1)[-1]))
        completion_limit = self._official or reasoning
        tools: list[ChatCompletionFunctionToolParam] = [
            {"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters}}
            for t in tool_schemas(request.spec)
        ]  # fmt: skip
        try:
            completion = await self._client.chat.completions.create(
                model=model,
                messages=chat_messages(request.spec.system_prompt, request.messages),
                tools=tools or omit,
                temperature=omit if reasoning else settings.temperature,
                max_completion_tokens=settings.max_output_tokens if completion_limit else omit,
                max_tokens=omit if completion_limit else settings.max_output_tokens,
            )
        except OpenAIError as err:
            raise self._failure(err, model) from None
        except ValueError:  # a 200 whose body is not JSON
            raise self._unreadable(model) from None
        if not isinstance(completion, ChatCompletion):  # the SDK hands over non-JSON as text
            raise self._unreadable(model)
        try:
            return self._response(completion, request)
        except (AttributeError, TypeError, ValueError):  # JSON, but not a chat completion
            raise self._unreadable(model) from None

    def _unreadable(self, model: str) -> ModelProviderError:
        return ModelProviderError(
            f"openai {model}: {self._where} answered with something other than a chat completion",
            retryable=True,
        )

    # ----------------------------------------------------------------- answers

    def _response(self, completion: ChatCompletion, request: ModelRequest) -> ModelResponse:
        model = completion.model or request.model_name
        if not completion.choices:
            raise ModelProviderError(f"openai {model}: the answer has no choices", retryable=True)
        choice = completion.choices[0]
        message = choice.message
        text = message.content or message.refusal or ""
        calls = tuple(
            _call(call, request.turn, index) for index, call in enumerate(message.tool_calls or ())
        )
        if calls:
            decision = ModelDecision(tool_calls=calls)
        elif choice.finish_reason == "length":
            limit = request.spec.model.max_output_tokens
            raise ModelProviderError(
                f"openai {model}: the answer was cut off at the output-token limit "
                f"(model.max_output_tokens = {limit})",
                retryable=False,
            )
        elif choice.finish_reason == "content_filter":
            raise ModelProviderError(
                f"openai {model}: the server's content filter withheld the answer", retryable=False
            )
        elif text.strip():
            decision = ModelDecision(final=answer_from_text(text))
        else:
            decision = ModelDecision()  # neither calls nor text: the run says so and fails
        return ModelResponse(decision=decision, usage=_usage(completion), model=model, content=text)

    # ----------------------------------------------------------------- failures

    def _failure(self, err: OpenAIError, model: str) -> ModelProviderError:
        """One line for the run's failure and the activity's retry: status, the server's own
        words (trimmed, secrets masked) and what to change when it is the user's to change."""
        head = f"openai {model}"
        if isinstance(err, APITimeoutError):
            timeout = self._client.timeout
            seconds = f" within {timeout:g} s" if isinstance(timeout, float | int) else ""
            return ModelProviderError(
                f"{head}: no answer from {self._where}{seconds}", retryable=True
            )
        if isinstance(err, APIConnectionError):
            cause = err.__cause__ or err
            why = self._clean(str(cause) or type(cause).__name__)
            return ModelProviderError(f"{head}: cannot reach {self._where}: {why}", retryable=True)
        if isinstance(err, APIStatusError):
            return self._status_failure(err, head, model)
        if isinstance(err, APIResponseValidationError):
            return self._unreadable(model)
        return ModelProviderError(f"{head}: {self._clean(str(err))}", retryable=False)

    def _status_failure(self, err: APIStatusError, head: str, model: str) -> ModelProviderError:
        status = err.status_code
        code = err.code or ""
        detail = self._clean(_server_message(err))
        said = f"HTTP {status}" + (f" {code}" if code and code != str(status) else "")
        if status in (400, 413, 422) and (
            code in _OVERFLOW_CODES or (err.type or "") in _OVERFLOW_TYPES
            or _OVERFLOW_TEXT.search(detail)
        ):  # fmt: skip
            return ModelProviderError(
                f"{head}: the conversation does not fit the model's context window ({said}: "
                f"{detail})",
                retryable=False,
                context_overflow=True,
            )
        headers = err.response.headers
        retryable = status in (408, 409, 429) or status >= 500
        hint = _HINTS.get(status, "")
        if status == 429 and code == "insufficient_quota":
            retryable, hint = False, "the account of OPENAI_API_KEY is out of quota"
        elif status == 404:
            hint = f"is {model!r} a model {self._where} serves? (--model, or the agent's model)"
        should_retry = headers.get("x-should-retry")  # OpenAI's own say, as the SDK obeys it
        if should_retry in ("true", "false"):
            retryable = should_retry == "true"
        retry_after = retry_after_seconds(headers) if retryable else None
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        return ModelProviderError(
            f"{head}: {said}{wait}: {detail}" + (f"; {hint}" if hint else ""),
            retryable=retryable,
            retry_after=retry_after,
        )

    def _clean(self, text: str) -> str:
        key = self._client.api_key
        if key and key != NO_KEY:
            text = text.replace(key, "***")
        return _one_line(_SECRET.sub("***", text), _DETAIL_LIMIT)


_HINTS = {
    401: "check OPENAI_API_KEY",
    403: "OPENAI_API_KEY may not use this model or endpoint",
}


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a server asked for: ``retry-after-ms``, else ``Retry-After`` in seconds or as an
    HTTP date; None when absent or unreadable (Temporal's backoff applies)."""
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _server_message(err: APIStatusError) -> str:
    """The server's own message: OpenAI's ``{"error": {"message"}}`` (the SDK unwraps it), the
    top-level ``message`` of vLLM's, or the body as text."""
    body: Any = err.body
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body.strip():
        return body
    return err.response.reason_phrase or "no message"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ----------------------------------------------------------------- the wire format


def chat_messages(
    system_prompt: str, messages: Sequence[Message]
) -> list[ChatCompletionMessageParam]:
    """Our conversation as Chat Completions messages. The system prompt comes from the spec on
    every call (it is not stored with the conversation); a tool result names its call only by
    ``tool_call_id``, as the protocol has it (strict servers refuse other fields); an assistant
    turn that only called tools has ``null`` content, as OpenAI sends it."""
    out: list[ChatCompletionMessageParam] = []
    if system_prompt:
        out.append({"role": "system", "content": system_prompt})
    for message in messages:
        if message.role == "system":
            out.append({"role": "system", "content": message.content})
        elif message.role == "user":
            out.append({"role": "user", "content": message.content})
        elif message.role == "tool":
            call_id = message.tool_call_id or ""
            out.append({"role": "tool", "tool_call_id": call_id, "content": message.content})
        elif message.tool_calls:
            calls: list[ChatCompletionMessageToolCallParam] = [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {
                        "name": call.tool,
                        "arguments": json.dumps(call.args, separators=(",", ":")),
                    },
                }
                for call in message.tool_calls
            ]
            out.append(
                {"role": "assistant", "content": message.content or None, "tool_calls": calls}
            )
        else:
            out.append({"role": "assistant", "content": message.content})
    return out


def _call(call: object, turn: int, index: int) -> ToolCallRequest:
    """A tool call as the model sent it; arguments that are not a JSON object become ``{}`` with
    the reason, which goes back to the model and never into the tool."""
    call_id = getattr(call, "id", None) or f"call_{turn}_{index}"
    if not isinstance(call, ChatCompletionMessageFunctionToolCall):
        custom = getattr(call, "custom", None)
        return ToolCallRequest(
            call_id=call_id,
            tool=str(getattr(custom, "name", "") or "unknown"),
            error="only function tool calls are supported",
        )
    raw: object = call.function.arguments
    if isinstance(raw, dict):  # a lenient server's object instead of its JSON text
        return ToolCallRequest(call_id=call_id, tool=call.function.name, args=raw)
    args, error = parse_arguments(raw if isinstance(raw, str) else None)
    return tool_call(call_id, call.function.name, args, error)


def _usage(completion: ChatCompletion) -> TokenUsage:
    usage = completion.usage
    if usage is None:  # a server that does not count: nothing to price
        return TokenUsage()
    details = usage.prompt_tokens_details
    return token_usage(
        usage.prompt_tokens,
        usage.completion_tokens,
        (details.cached_tokens or 0) if details else 0,
    )
