"""The Anthropic provider through the official SDK, over real HTTP to a local Messages API.

Each failure class is checked with the status and headers Anthropic sends, and each call is
checked to have made exactly one request: retrying is Temporal's job, never the SDK's.
"""

import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentrun.activities.model import checked_calls
from agentrun.activities.providers.anthropic import (
    AnthropicProvider,
    from_environment,
    to_wire,
)
from agentrun.activities.providers.base import ModelProviderError, ModelRequest, ModelResponse
from agentrun.activities.providers.serve import ProviderUnavailable, serve_providers
from agentrun.agents.refund import REFUND_SAMPLE_INPUT, build_refund_agent
from agentrun.contracts.model import Message, ToolCallRequest
from agentrun.workflows.options import MODEL_TIMEOUT
from tests.support.fake_anthropic import API_KEY, Canned, FakeAnthropic, error, text, tool_use

REFUND = build_refund_agent()
SPEC = REFUND.spec
MODEL = "claude-sonnet-4-5"
TICKET = Message(role="user", content=json.dumps(REFUND_SAMPLE_INPUT))


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


def provider(fake: FakeAnthropic) -> AnthropicProvider:
    return from_environment(fake.environ)


async def complete(fake: FakeAnthropic, *messages: Message) -> ModelResponse:
    request = ModelRequest(spec=SPEC, messages=list(messages or (TICKET,)), turn=1, model=MODEL)
    return await provider(fake).complete(request)


async def failure(fake: FakeAnthropic, *canned: Canned) -> ModelProviderError:
    fake.queue(*canned)
    with pytest.raises(ModelProviderError) as caught:
        await complete(fake)
    assert len(fake.received()) == 1  # no hidden retry in the SDK
    message = str(caught.value)
    assert "\n" not in message
    assert API_KEY not in message
    assert "arrived broken" not in message  # nothing of the prompt
    return caught.value


# ----------------------------------------------------------------- turns


async def test_a_tool_use_turn_becomes_a_tool_call(fake: FakeAnthropic) -> None:
    response = await complete(fake)

    [call] = response.decision.tool_calls
    assert (call.tool, call.args, call.error) == ("lookup_order", {"order_id": "1001"}, None)
    assert call.call_id.startswith("toolu_")
    assert response.decision.final is None
    assert response.content == "Next: lookup_order."
    assert response.model == "claude-sonnet-4-5-20250929"  # the model the response names
    [sent] = fake.received()
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    body = sent.body
    assert body["model"] == MODEL
    assert body["max_tokens"] == SPEC.model.max_output_tokens
    assert "temperature" not in body  # API 2026-10-21 refuses sampling parameters
    assert [block["text"] for block in body["system"]] == [SPEC.system_prompt]
    assert body["messages"][0]["content"][0]["text"] == TICKET.content


async def test_tool_schemas_sent_are_the_contracts(fake: FakeAnthropic) -> None:
    await complete(fake)

    [sent] = fake.received()
    assert sent.body["tools"] == [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema}
        for t in SPEC.tools
    ]
    schemas = {t["name"]: t["input_schema"] for t in sent.body["tools"]}
    params = {t.contract.name: t.params_model for t in REFUND.tools}
    assert schemas["issue_refund"] == params["issue_refund"].model_json_schema()


@pytest.mark.parametrize(
    ("said", "output"),
    [
        ('{"refund_id": "rf_1", "amount": 250}', {"refund_id": "rf_1", "amount": 250}),
        ('```json\n{"refund_id": "rf_2"}\n```', {"refund_id": "rf_2"}),
        ("I could not find that order.", {"answer": "I could not find that order."}),
    ],
)
async def test_a_text_reply_is_the_final_answer(
    fake: FakeAnthropic, said: str, output: dict[str, Any]
) -> None:
    fake.queue(Canned(content=[text(said)]))

    response = await complete(fake)

    assert response.decision.tool_calls == ()
    assert response.decision.final is not None
    assert response.decision.final.output == output
    assert response.content == said


async def test_ids_round_trip_and_results_come_back_as_one_user_turn(fake: FakeAnthropic) -> None:
    fake.queue(
        Canned(
            content=[
                text("Checking both."),
                tool_use("lookup_order", {"order_id": "1001"}, "toolu_a1"),
                tool_use("get_shipping_status", {"order_id": "1001"}, "toolu_b2"),
            ]
        )
    )
    first = await complete(fake)
    calls = first.decision.tool_calls
    assert [c.call_id for c in calls] == ["toolu_a1", "toolu_b2"]
    conversation = [
        TICKET,
        Message(role="assistant", content=first.content, tool_calls=calls),
        Message(role="tool", name="lookup_order", tool_call_id="toolu_a1", content='{"x": 1}'),
        Message(
            role="tool",
            name="get_shipping_status",
            tool_call_id="toolu_b2",
            content='{"error": "carrier API unavailable"}',
        ),
    ]

    await complete(fake, *conversation)

    sent = fake.received()[-1]
    assert sent.status == 200  # the fake checks alternation and tool_use/tool_result pairing
    user, assistant, results = sent.body["messages"]
    assert [m["role"] for m in (user, assistant, results)] == ["user", "assistant", "user"]
    order = {"order_id": "1001"}
    assert assistant["content"] == [
        {"type": "text", "text": "Checking both."},
        {"type": "tool_use", "id": "toolu_a1", "name": "lookup_order", "input": order},
        {"type": "tool_use", "id": "toolu_b2", "name": "get_shipping_status", "input": order},
    ]
    ok, failed = results["content"]
    assert (ok["type"], ok["tool_use_id"], ok["content"]) == ("tool_result", "toolu_a1", '{"x": 1}')
    assert "is_error" not in ok
    assert (failed["tool_use_id"], failed["is_error"]) == ("toolu_b2", True)


def test_roles_alternate_whatever_the_conversation_holds() -> None:
    call = ToolCallRequest(call_id="toolu_1", tool="lookup_order", args={"order_id": "1"})
    conversation = [
        TICKET,
        Message(role="assistant", tool_calls=(call,)),
        Message(role="tool", name="lookup_order", tool_call_id="toolu_1", content="{}"),
        Message(role="assistant", content=""),  # an empty answer: nothing to send
        Message(role="user", content="Please add the tracking number."),
        Message(role="system", content="Answer in English."),
    ]

    system, sent = to_wire(conversation, "Be brief.")
    wire: Any = json.loads(json.dumps(sent))

    assert [m["role"] for m in wire] == ["user", "assistant", "user"]
    kinds = [block["type"] for block in wire[2]["content"]]
    assert kinds == ["tool_result", "text"]  # results first, then the feedback
    assert system[0]["text"] == "Be brief.\n\nAnswer in English."
    # Cache breakpoints: after the system prompt and on the newest block only.
    marked = [b for m in wire for b in m["content"] if "cache_control" in b]
    assert marked == [wire[-1]["content"][-1]]
    assert system[0].get("cache_control") == {"type": "ephemeral"}


async def test_usage_counts_cache_reads_and_writes_as_input() -> None:
    async with FakeAnthropic(min_cache_tokens=1) as fake:
        first = await complete(fake)
        [call] = first.decision.tool_calls
        second = await complete(
            fake,
            TICKET,
            Message(role="assistant", content=first.content, tool_calls=(call,)),
            Message(role="tool", name=call.tool, tool_call_id=call.call_id, content='{"a": 1}'),
        )
        billed = [r.usage for r in fake.received()]

    assert billed[0]["cache_creation_input_tokens"] > 0
    assert billed[1]["cache_read_input_tokens"] > 0  # the first call's prompt, from the cache
    for response, usage in zip((first, second), billed, strict=True):
        assert response.usage.input_tokens == (
            usage["input_tokens"]
            + usage["cache_creation_input_tokens"]
            + usage["cache_read_input_tokens"]
        )
        assert response.usage.cached_input_tokens == usage["cache_read_input_tokens"]
        assert response.usage.output_tokens == usage["output_tokens"]


@pytest.mark.parametrize(
    ("tool_input", "error_text"),
    [
        ("order 1001 please", "arguments are not valid JSON"),
        ('{"order_id": "1001"}', None),
        ([1, 2], "arguments must be a JSON object, not list"),
    ],
)
async def test_tool_input_that_is_not_an_object_goes_back_as_an_error(
    fake: FakeAnthropic, tool_input: Any, error_text: str | None
) -> None:
    fake.queue(Canned(content=[tool_use("lookup_order", tool_input)]))

    [call] = (await complete(fake)).decision.tool_calls

    if error_text is None:
        assert (call.args, call.error) == ({"order_id": "1001"}, None)
    else:
        assert call.args == {}
        assert call.error is not None
        assert call.error.startswith(error_text)


async def test_tool_input_that_does_not_fit_the_tool_is_found_by_the_activity(
    fake: FakeAnthropic,
) -> None:
    fake.queue(Canned(content=[tool_use("issue_refund", {"order_id": "1001", "amount": "lots"})]))

    decision = (await complete(fake)).decision

    [call] = checked_calls(REFUND, decision).tool_calls
    assert call.args == {"order_id": "1001", "amount": "lots"}
    assert call.error is not None
    assert call.error.startswith("arguments.amount:")


# ----------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("canned", "wait"),
    [
        (
            error(429, "rate_limit_error", "Number of requests exceeded", {"retry-after": "2"}),
            2.0,
        ),
        (error(429, "rate_limit_error", "slow down", {"retry-after-ms": "1500"}), 1.5),
        (error(429, "rate_limit_error", "slow down"), None),
        (error(529, "overloaded_error", "Overloaded", {"retry-after": "3"}), 3.0),
        (error(529, "overloaded_error", "Overloaded"), None),
        (error(500, "api_error", "Internal server error"), None),
        (error(503, "api_error", "unavailable"), None),
        (Canned(status=502, body="<html>bad gateway</html>"), None),
    ],
)
async def test_retryable_failures(fake: FakeAnthropic, canned: Canned, wait: float | None) -> None:
    err = await failure(fake, canned)

    assert err.retryable is True
    assert err.context_overflow is False
    assert err.retry_after == wait
    assert f"HTTP {canned.status}" in str(err)


@pytest.mark.parametrize(
    ("canned", "overflow"),
    [
        (error(400, "invalid_request_error", "messages: bad", {"retry-after": "5"}), False),
        (error(403, "permission_error", "not allowed"), False),
        (error(404, "not_found_error", "model: claude-x"), False),
        (error(422, "invalid_request_error", "unprocessable"), False),
        (error(500, "api_error", "boom", {"x-should-retry": "false"}), False),  # the API says no
        (error(400, "invalid_request_error", "prompt is too long: 210417 tokens > 200000 maximum"),
         True),
        (error(400, "invalid_request_error",
               "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000"), True),
        (error(413, "request_too_large", "Request exceeds the maximum allowed size"), True),
    ],
)  # fmt: skip
async def test_permanent_failures(fake: FakeAnthropic, canned: Canned, overflow: bool) -> None:
    err = await failure(fake, canned)

    assert (err.retryable, err.context_overflow, err.retry_after) == (False, overflow, None)
    said = canned.body["error"]
    assert str(err).startswith(f"anthropic: HTTP {canned.status} {said['type']}: {said['message']}")


async def test_a_wrong_key_is_permanent_and_not_shown() -> None:
    async with FakeAnthropic() as fake:
        env = {**fake.environ, "ANTHROPIC_API_KEY": "sk-ant-wrong-secret"}
        with pytest.raises(ModelProviderError) as caught:
            await from_environment(env).complete(
                ModelRequest(spec=SPEC, messages=[TICKET], turn=1, model=MODEL)
            )

    assert caught.value.retryable is False
    assert "HTTP 401 authentication_error" in str(caught.value)
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert "sk-ant-wrong-secret" not in str(caught.value)


async def test_an_unknown_model_names_it(fake: FakeAnthropic) -> None:
    request = ModelRequest(spec=SPEC, messages=[TICKET], turn=1, model="gpt-4o")
    with pytest.raises(ModelProviderError) as caught:
        await provider(fake).complete(request)

    assert caught.value.retryable is False
    assert "HTTP 404 not_found_error" in str(caught.value)
    assert "'gpt-4o'" in str(caught.value)


async def test_a_prompt_too_long_is_a_context_overflow() -> None:
    async with FakeAnthropic(context_window=100) as fake:
        err = await failure(fake)

    assert (err.context_overflow, err.retryable) == (True, False)
    assert "prompt is too long" in str(err)


async def test_a_reply_cut_off_at_max_tokens_names_the_setting(fake: FakeAnthropic) -> None:
    body = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
        "content": [text('{"refund_id": "rf_')], "stop_reason": "max_tokens",
        "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1024},
    }  # fmt: skip
    err = await failure(fake, Canned(body=body))

    assert err.retryable is False
    assert "model.max_output_tokens" in str(err)


async def test_a_timeout_is_retryable_and_not_retried_by_the_sdk(fake: FakeAnthropic) -> None:
    fake.queue(Canned(content=[text("late")], delay_s=5))
    slow = AnthropicProvider(api_key=API_KEY, base_url=fake.base_url, timeout=0.5)

    with pytest.raises(ModelProviderError) as caught:
        await slow.complete(ModelRequest(spec=SPEC, messages=[TICKET], turn=1, model=MODEL))

    assert caught.value.retryable is True
    assert str(caught.value) == f"anthropic: {MODEL} did not answer within 0.5 s"
    assert len(fake.received()) == 1


async def test_no_server_is_a_retryable_connection_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the test calls it: nothing listens
    down = AnthropicProvider(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(ModelProviderError) as caught:
        await down.complete(ModelRequest(spec=SPEC, messages=[TICKET], turn=1, model=MODEL))

    assert caught.value.retryable is True
    assert str(caught.value).startswith("anthropic: cannot reach 127.0.0.1")


# ----------------------------------------------------------------- configuration


def test_the_environment_given_configures_it_not_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-process")
    with pytest.raises(ProviderUnavailable, match="ANTHROPIC_API_KEY is not set"):
        from_environment({})
    with pytest.raises(ProviderUnavailable, match="ANTHROPIC_BASE_URL must be an http"):
        from_environment({"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "api.anthropic.com"})
    served = serve_providers({})
    assert "anthropic" not in served.providers
    assert "ANTHROPIC_API_KEY" in served.why_not("anthropic")
    assert isinstance(serve_providers({"ANTHROPIC_API_KEY": "k"}).providers["anthropic"],
                      AnthropicProvider)  # fmt: skip


async def test_base_url_comes_from_the_environment_given(
    fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # the process's: ignored
    await complete(fake)
    assert len(fake.received()) == 1


def test_the_sdk_gives_up_before_the_activity_does() -> None:
    configured = from_environment({"ANTHROPIC_API_KEY": "k"})
    assert configured.timeout < MODEL_TIMEOUT.total_seconds()


# ----------------------------------------------------------------- live


@pytest.mark.skipif(
    not (os.environ.get("AGENTRUN_LIVE_ANTHROPIC") == "1" and os.environ.get("ANTHROPIC_API_KEY")),
    reason="live Anthropic smoke test: set AGENTRUN_LIVE_ANTHROPIC=1 and ANTHROPIC_API_KEY",
)
async def test_live_claude_walks_the_first_two_steps() -> None:
    live = from_environment(os.environ)
    model = os.environ.get("AGENTRUN_LIVE_ANTHROPIC_MODEL", "claude-haiku-4-5")

    def request(*messages: Message) -> ModelRequest:
        return ModelRequest(spec=SPEC, messages=list(messages), turn=1, model=model)

    first = await live.complete(request(TICKET))
    [call] = first.decision.tool_calls[:1]
    assert (call.tool, call.args) == ("lookup_order", {"order_id": "1001"})
    assert first.usage.input_tokens > 0
    assert first.model.startswith(model)
    order = '{"order_id":"1001","customer_email":"alice.buyer@example.com","customer_name":'
    order += '"Alice Buyer","total":320.0,"currency":"EUR","status":"delivered"}'
    # The second turn checks the conversation mapping against the real API's rules.
    second = await live.complete(
        request(
            TICKET,
            Message(role="assistant", content=first.content, tool_calls=(call,)),
            Message(role="tool", name=call.tool, tool_call_id=call.call_id, content=order),
        )
    )
    assert second.decision.tool_calls or second.decision.final is not None
