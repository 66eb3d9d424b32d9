"""The openai provider through the official SDK, against a local server speaking the wire
protocol: what is sent, how answers and usage are read, and how each failure is classified."""

import json
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agentrun.activities.providers.base import ModelProviderError, ModelRequest
from agentrun.activities.providers.openai import (
    NO_KEY,
    OpenAIProvider,
    from_environment,
    retry_after_seconds,
)
from agentrun.activities.providers.serve import ProviderUnavailable, serve_providers
from agentrun.agents.refund import build_refund_agent
from agentrun.contracts.model import Message, ModelDecision, TokenUsage, ToolCallRequest
from tests.support.fake_openai import (
    Canned,
    FakeOpenAI,
    completion,
    context_overflow,
    error_body,
    rate_limited,
)

KEY = "sk-test-0123456789abcdef"
MODEL = "gpt-4o-mini"
SPEC = build_refund_agent().spec
RUN_INPUT = {"order_id": "1001", "reason": "arrived broken", "amount": 250}
USER = Message(role="user", content=json.dumps(RUN_INPUT))
REQUEST = ModelRequest(spec=SPEC, messages=[USER], turn=1, model=MODEL)


@pytest.fixture
async def provider(server: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    provider = from_environment({"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": KEY})
    yield provider
    await provider.aclose()


async def _failure(
    server: FakeOpenAI, provider: OpenAIProvider, *canned: Canned
) -> ModelProviderError:
    server.queue(*canned)
    with pytest.raises(ModelProviderError) as caught:
        await provider.complete(REQUEST)
    message = str(caught.value)
    assert "\n" not in message
    assert KEY not in message
    assert "customer-support agent" not in message  # never the prompt
    assert "arrived broken" not in message
    return caught.value


# ----------------------------------------------------------------- requests and answers


async def test_a_tool_call_turn(server: FakeOpenAI, provider: OpenAIProvider) -> None:
    response = await provider.complete(REQUEST)

    [call] = response.decision.tool_calls
    assert (call.tool, call.args, call.error) == ("lookup_order", {"order_id": "1001"}, None)
    assert call.call_id.startswith("call_")
    assert response.decision.final is None
    assert response.model == "gpt-4o-mini-2024-07-18"  # what the server says it used
    [sent] = server.received
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == MODEL
    assert sent.body["messages"] == [
        {"role": "system", "content": SPEC.system_prompt},
        {"role": "user", "content": USER.content},
    ]
    assert sent.body["temperature"] == SPEC.model.temperature
    # A compatible server's output limit: the field every one of them knows.
    assert sent.body["max_tokens"] == SPEC.model.max_output_tokens
    assert "max_completion_tokens" not in sent.body


async def test_tool_schemas_sent_are_the_contracts(
    server: FakeOpenAI, provider: OpenAIProvider
) -> None:
    await provider.complete(REQUEST)

    assert server.received[0].body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": contract.name,
                "description": contract.description,
                "parameters": contract.input_schema,
            },
        }
        for contract in SPEC.tools
    ]


async def test_the_conversation_goes_out_in_chat_completions_form(
    server: FakeOpenAI, provider: OpenAIProvider
) -> None:
    call = ToolCallRequest(call_id="call_a", tool="lookup_order", args={"order_id": "1001"})
    messages = [
        USER,
        Message(role="assistant", tool_calls=(call,)),
        Message(role="tool", name="lookup_order", tool_call_id="call_a", content='{"total":1}'),
        Message(role="assistant", content="Done."),
        Message(role="user", content="be kinder"),
    ]

    await provider.complete(ModelRequest(spec=SPEC, messages=messages, turn=3, model=MODEL))

    assert server.received[0].body["messages"][1:] == [
        {"role": "user", "content": USER.content},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id":"1001"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"total":1}'},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "be kinder"},
    ]


@pytest.mark.parametrize(
    ("text", "output"),
    [
        ('{"refund_id": "rf_1", "amount": 250}', {"refund_id": "rf_1", "amount": 250}),
        ('```json\n{"refund_id": "rf_1"}\n```', {"refund_id": "rf_1"}),
        ("The refund is done.", {"answer": "The refund is done."}),
    ],
)
async def test_a_final_answer(
    server: FakeOpenAI, provider: OpenAIProvider, text: str, output: dict[str, object]
) -> None:
    server.queue(Canned(body=completion(content=text)))

    response = await provider.complete(REQUEST)

    assert response.decision.tool_calls == ()
    assert response.decision.final is not None
    assert response.decision.final.output == output
    assert response.content == text  # stored in the conversation as the model said it


@pytest.mark.parametrize(
    ("reported", "usage"),
    [((1200, 80, 1024), TokenUsage(input_tokens=1200, output_tokens=80, cached_input_tokens=1024)),
     (None, TokenUsage())],  # a server that does not count: nothing to price
    ids=["counted", "not-counted"],
)  # fmt: skip
async def test_usage_is_prompt_completion_and_cached_prompt_tokens(
    server: FakeOpenAI, provider: OpenAIProvider, reported: tuple[int, int, int] | None,
    usage: TokenUsage,
) -> None:  # fmt: skip
    server.queue(Canned(body=completion(content="ok", usage=reported)))

    assert (await provider.complete(REQUEST)).usage == usage


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        ('{"order_id": "1001"', "arguments are not valid JSON"),
        ('["1001"]', "arguments must be a JSON object, not list"),
        ('"1001"', "arguments must be a JSON object, not str"),
    ],
)
async def test_malformed_arguments_become_an_error_not_a_call(
    server: FakeOpenAI, provider: OpenAIProvider, arguments: str, why: str
) -> None:
    calls = (("lookup_order", arguments), ("get_shipping_status", '{"order_id":"1001"}'))
    server.queue(Canned(body=completion(tool_calls=calls)))

    response = await provider.complete(REQUEST)

    bad, good = response.decision.tool_calls
    assert (bad.tool, bad.args) == ("lookup_order", {})
    assert bad.error is not None
    assert bad.error.startswith(why)
    assert (good.args, good.error) == ({"order_id": "1001"}, None)


async def test_an_empty_answer_is_neither_calls_nor_an_answer(
    server: FakeOpenAI, provider: OpenAIProvider
) -> None:
    server.queue(Canned(body=completion(content="")))

    assert (await provider.complete(REQUEST)).decision == ModelDecision()


async def test_reasoning_models_get_no_temperature_and_a_completion_limit(
    server: FakeOpenAI, provider: OpenAIProvider
) -> None:
    await provider.complete(ModelRequest(spec=SPEC, messages=[USER], turn=1, model="o4-mini"))

    sent = server.received[0].body
    assert "temperature" not in sent
    assert "max_tokens" not in sent
    assert sent["max_completion_tokens"] == SPEC.model.max_output_tokens


# ----------------------------------------------------------------- failures


def _error(
    status: int,
    headers: dict[str, str] | None = None,
    *,
    code: str | int | None = None,
    message: str = f"Refused, key {KEY}.",  # a server that echoes the key it was sent
    type_: str = "invalid_request_error",
) -> Canned:
    return Canned(status, error_body(message, type_, code), headers or {})


_VLLM_OVERFLOW = {
    "object": "error",
    "message": "This model's maximum context length is 4096 tokens. However, you requested "
    "5120 tokens (4096 in the messages, 1024 in the completion).",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
_LLAMA_CPP_OVERFLOW = _error(
    400,
    message="request (5120 tokens) exceeds the available context size (4096 tokens), try "
    "increasing it",
    type_="exceed_context_size_error",
    code=400,
)
_HTML = "<html>\n<body>\n<h1>502 Bad Gateway</h1>\n</body>\n</html>\n"
OVERFLOW = "does not fit the model's context window"

_NOT_CHAT = "other than a chat completion"
_JSON = {"Content-Type": "application/json"}
_NO_MESSAGE = {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]}
Failure = tuple[Canned, bool, float | None, bool, str]
# canned response, retryable, retry_after, context overflow, what the message says
FAILURES: dict[str, Failure] = {
    "429-retry-after": (
        rate_limited("2"), True, 2.0, False, "HTTP 429 rate_limit_exceeded (retry after 2 s)"
    ),
    "429-retry-after-ms": (_error(429, {"retry-after-ms": "1500"}), True, 1.5, False, "1.5 s"),
    "429-no-retry-after": (_error(429), True, None, False, "HTTP 429: "),
    "429-out-of-quota": (
        _error(429, {"Retry-After": "1"}, code="insufficient_quota"), False, None, False,
        "OPENAI_API_KEY is out of quota",
    ),
    "400": (_error(400, code="invalid_value"), False, None, False, "HTTP 400 invalid_value"),
    "401": (_error(401), False, None, False, "check OPENAI_API_KEY"),
    "403": (_error(403), False, None, False, "OPENAI_API_KEY may not use"),
    "404": (_error(404), False, None, False, "is 'gpt-4o-mini' a model"),
    "422": (_error(422), False, None, False, "HTTP 422"),
    "408": (_error(408), True, None, False, "HTTP 408"),
    "409": (_error(409), True, None, False, "HTTP 409"),
    "500": (_error(500), True, None, False, "HTTP 500"),
    "503-retry-after": (_error(503, {"Retry-After": "1"}), True, 1.0, False, "HTTP 503"),
    "502-proxy-html": (
        Canned(502, _HTML, {"Content-Type": "text/html"}), True, None, False,
        "HTTP 502: <html> <body> <h1>502 Bad Gateway",
    ),
    "x-should-retry": (_error(500, {"x-should-retry": "false"}), False, None, False, "HTTP 500"),
    "overflow-openai": (context_overflow(), False, None, True, OVERFLOW),
    "overflow-vllm": (Canned(400, _VLLM_OVERFLOW), False, None, True, OVERFLOW),
    "overflow-llama.cpp": (_LLAMA_CPP_OVERFLOW, False, None, True, OVERFLOW),
    "200-text": (Canned(200, "hi", {"Content-Type": "text/plain"}), True, None, False, _NOT_CHAT),
    "200-broken-json": (Canned(200, "{not json", _JSON), True, None, False, _NOT_CHAT),
    "200-no-message": (Canned(200, _NO_MESSAGE), True, None, False, _NOT_CHAT),
    "200-no-choices": (Canned(200, {"choices": []}), True, None, False, "no choices"),
    "200-cut-off": (  # the output-token limit: a setting of the agent's to raise
        Canned(body=completion(content='{"refund_id": "rf', finish_reason="length")), False, None,
        False, "cut off at the output-token limit (model.max_output_tokens = 1024)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", FAILURES.values(), ids=FAILURES.keys())
async def test_failures_are_classified_for_temporal(
    server: FakeOpenAI, provider: OpenAIProvider, case: Failure
) -> None:
    canned, retryable, retry_after, overflow, says = case

    err = await _failure(server, provider, canned)

    assert (err.retryable, err.retry_after, err.context_overflow) == (
        retryable,
        retry_after,
        overflow,
    )
    assert says in str(err)
    # Exactly one HTTP request: the SDK retried nothing itself, Temporal decides.
    [sent] = server.received
    assert sent.headers.get("x-stainless-retry-count", "0") == "0"


def test_retry_after_values() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert retry_after_seconds({"retry-after": "0.5"}, now) == 0.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}, now) == 0.25
    assert retry_after_seconds({"retry-after": "Thu, 01 Jan 2026 00:00:07 GMT"}, now) == 7.0
    assert retry_after_seconds({"retry-after": "Wed, 31 Dec 2025 23:00:00 GMT"}, now) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    assert retry_after_seconds({"retry-after": "-3"}, now) is None
    assert retry_after_seconds({}, now) is None


async def test_a_retry_after_date_is_read_from_the_response(
    server: FakeOpenAI, provider: OpenAIProvider
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    err = await _failure(server, provider, rate_limited(when))

    assert err.retry_after is not None
    assert 27 <= err.retry_after <= 30


async def test_a_timeout_is_retryable_and_not_retried_by_the_sdk(server: FakeOpenAI) -> None:
    provider = from_environment(
        {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": KEY}, timeout_s=0.3
    )
    server.queue(Canned(delay_s=2.0))
    try:
        err = await _failure(server, provider)
    finally:
        await provider.aclose()

    assert err.retryable
    assert f"no answer from {server.url} within 0.3 s" in str(err)
    assert len(server.received) == 1


async def test_an_unreachable_server_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = from_environment(
        {"OPENAI_BASE_URL": f"http://user:pw@127.0.0.1:{port}/v1", "OPENAI_API_KEY": KEY}
    )
    try:
        with pytest.raises(ModelProviderError) as caught:
            await provider.complete(REQUEST)
    finally:
        await provider.aclose()

    assert caught.value.retryable
    assert f"cannot reach http://127.0.0.1:{port}/v1" in str(caught.value)
    assert "pw" not in str(caught.value)


# ----------------------------------------------------------------- configuration


def test_unconfigured_says_what_to_set() -> None:
    with pytest.raises(ProviderUnavailable, match=r"set OPENAI_API_KEY \(or OPENAI_BASE_URL"):
        from_environment({"OPENAI_API_KEY": "  "})
    served = serve_providers({})
    assert "openai" not in served.providers
    assert "OPENAI_API_KEY" in served.why_not("openai")


def test_a_base_url_that_is_not_http_names_the_variable() -> None:
    with pytest.raises(ProviderUnavailable, match="OPENAI_BASE_URL 'localhost:8000' is not an"):
        from_environment({"OPENAI_BASE_URL": "localhost:8000", "OPENAI_API_KEY": KEY})


async def test_the_given_environment_wins_over_the_process_one(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-process")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-the-process")
    served = serve_providers(
        {
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": server.url,
            "OPENAI_PROJECT_ID": "proj_given",
            "OPENAI_CUSTOM_HEADERS": "X-Gateway: team-a\nbroken line",
        }
    )
    provider = served.providers["openai"]
    assert isinstance(provider, OpenAIProvider)
    try:
        await provider.complete(REQUEST)
    finally:
        await provider.aclose()

    headers = server.received[0].headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["OpenAI-Project"] == "proj_given"
    assert "OpenAI-Organization" not in headers
    assert headers["X-Gateway"] == "team-a"


async def test_a_keyless_compatible_server(server: FakeOpenAI) -> None:
    provider = from_environment({"OPENAI_BASE_URL": server.url})
    try:
        response = await provider.complete(REQUEST)
    finally:
        await provider.aclose()

    assert response.decision.tool_calls[0].tool == "lookup_order"
    assert server.received[0].headers["Authorization"] == f"Bearer {NO_KEY}"


# ----------------------------------------------------------------- the real thing

LIVE = os.environ.get("AGENTRUN_LIVE_OPENAI") == "1" and bool(os.environ.get("OPENAI_API_KEY"))


@pytest.mark.skipif(
    not LIVE,
    reason="live OpenAI smoke test: set AGENTRUN_LIVE_OPENAI=1 and OPENAI_API_KEY to run it "
    "(AGENTRUN_LIVE_OPENAI_MODEL picks the model, gpt-4o-mini by default)",
)
async def test_live_openai_asks_for_the_first_tool() -> None:
    provider = from_environment(os.environ)
    model = os.environ.get("AGENTRUN_LIVE_OPENAI_MODEL", MODEL)
    try:
        response = await provider.complete(
            ModelRequest(spec=SPEC, messages=[USER], turn=1, model=model)
        )
    finally:
        await provider.aclose()

    assert [call.tool for call in response.decision.tool_calls] == ["lookup_order"]
    assert response.decision.tool_calls[0].args == {"order_id": "1001"}
    assert response.usage.input_tokens > 0
    assert response.model.startswith(model)
