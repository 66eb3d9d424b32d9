"""Compaction in the model activity (docs/models.md, "Long conversations"): what a call sends
once the conversation nears the declared window, what it records, what it costs, and that the
stored conversation keeps everything. The scripted model and the OpenAI SDK (against the local
fake server) take the calls; a provider here only records the requests it is given."""

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from agentrun.activities.conversation import ConversationStore
from agentrun.activities.model import ModelActivities
from agentrun.activities.providers.base import ModelProvider, ModelRequest, ModelResponse
from agentrun.activities.providers.openai import OpenAIProvider, from_environment
from agentrun.activities.providers.scripted import ScriptedProvider
from agentrun.agents.registry import AgentRegistry
from agentrun.contracts.agents import AgentRef, CompactionStrategy
from agentrun.contracts.model import (
    Message,
    ModelCallInput,
    ModelCallResult,
    ToolCallRequest,
)
from agentrun.contracts.names import ErrorType
from agentrun.contracts.pricing import DEFAULT_PRICES
from agentrun.logic.compaction import SUMMARY_HEADING, SUMMARY_INSTRUCTIONS
from agentrun.store.conversation import private_sessions
from tests.support.compaction_agents import (
    DROPPING,
    FAILING,
    KEEP,
    SUMMARIZING,
    WINDOW,
    Page,
    pages_agent,
    register,
)
from tests.support.fake_openai import FakeOpenAI, context_overflow
from tests.support.store import conversation_store

OPENAI_SUMMARY = "openai-summary"
OPENAI_UNKNOWN_WINDOW = "openai-no-window"
OPENAI_FAIL = "openai-fail"
TASK = Message(role="user", content='{"topic":"pages"}')


class Recording(ScriptedProvider):
    """The scripted model, keeping every request it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        return await super().complete(request)


def turns(count: int) -> list[Message]:
    """``count`` turns as a run writes them: a reply calling read_page, and the page."""
    messages = []
    for i in range(count):
        call = ToolCallRequest(call_id=f"call_{i + 1}_0", tool="read_page", args={"key": f"p{i}"})
        page = Page(key=f"p{i}", text=f"p{i}: " + "lorem ipsum " * 133)
        messages += [
            Message(role="assistant", content="", tool_calls=(call,)),
            Message(
                role="tool",
                content=page.model_dump_json(),
                tool_call_id=call.call_id,
                name="read_page",
            ),
        ]
    return messages


def call_of(agent: str, run_id: str, count: int) -> ModelCallInput:
    """The model call after ``count`` turns, with the whole conversation new to the store."""
    return ModelCallInput(
        run_id=run_id,
        agent=AgentRef(name=agent, version="1"),
        turn=count + 1,
        start_index=0,
        new_messages=(TASK, *turns(count)),
    )


@dataclasses.dataclass
class Harness:
    activities: ModelActivities
    scripted: Recording
    store: ConversationStore
    env: ActivityEnvironment

    async def call(self, call: ModelCallInput, attempt: int = 1) -> ModelCallResult:
        self.env.info = dataclasses.replace(self.env.info, attempt=attempt)
        result: ModelCallResult = await self.env.run(self.activities.model_call, call)
        return result


@pytest.fixture
async def openai(server: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    provider = from_environment({"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"})
    yield provider
    await provider.aclose()


@pytest.fixture
async def harness(tmp_path: Path, openai: OpenAIProvider) -> AsyncIterator[Harness]:
    registry = AgentRegistry()
    register(registry)
    for name, strategy, window in (
        (OPENAI_SUMMARY, CompactionStrategy.SUMMARIZE, WINDOW),
        (OPENAI_UNKNOWN_WINDOW, CompactionStrategy.DROP_OLDEST, None),
        (OPENAI_FAIL, CompactionStrategy.FAIL, WINDOW),
    ):
        registry.register(pages_agent(name, strategy, window=window, model="openai:local-llm"))
    scripted = Recording()
    async with conversation_store(private_sessions(tmp_path / "conversations.db")) as store:
        providers: dict[str, ModelProvider] = {"scripted": scripted, "openai": openai}
        activities = ModelActivities(registry, store, providers, DEFAULT_PRICES)
        yield Harness(activities, scripted, store, ActivityEnvironment())


async def test_drop_oldest_sends_the_task_a_marker_and_the_last_turns(harness: Harness) -> None:
    call = call_of(DROPPING, "run-drop", 6)  # 6 turns: past 80 % of the window

    result = await harness.call(call)

    [request] = harness.scripted.requests
    sent = request.messages
    assert sent[0] == TASK
    assert sent[1].role == "system"
    assert sent[1].content.startswith("[4 earlier turns (8 messages) after the task are left out")
    assert "read_page (4 calls)" in sent[1].content
    assert sent[2:] == list(call.new_messages[-2 * KEEP :])
    # The script plays on from the whole conversation: the 7th page is next.
    assert request.conversation == list(call.new_messages)
    assert [c.args for c in result.decision.tool_calls] == [{"key": "p6"}]
    compaction = result.compaction
    assert compaction is not None
    assert (compaction.step, compaction.strategy, compaction.reason) == (
        7,
        CompactionStrategy.DROP_OLDEST,
        "threshold",
    )
    assert (compaction.turns_left_out, compaction.messages_left_out) == (4, 8)
    assert compaction.window_tokens == WINDOW
    assert compaction.tokens_before > 0.8 * WINDOW
    assert compaction.tokens_after < 0.5 * 0.8 * WINDOW + 600  # at most the 2 kept turns over
    # What the model was charged for is what was sent.
    assert abs(result.usage.input_tokens - compaction.tokens_after) <= len(sent)

    # The stored conversation keeps every message, and the reply after them.
    stored = await harness.store.load("run-drop", len(call.new_messages) + 1)
    assert stored[:-1] == list(call.new_messages)
    assert result.conversation_length == len(stored)


async def test_a_retried_call_leaves_out_the_same_turns(harness: Harness) -> None:
    call = call_of(DROPPING, "run-retry", 6)

    first = await harness.call(call)
    again = await harness.call(call, attempt=2)

    one, two = harness.scripted.requests
    assert one.messages == two.messages
    assert first.compaction == again.compaction
    assert first.decision == again.decision


async def test_a_conversation_within_the_threshold_is_sent_whole(harness: Harness) -> None:
    result = await harness.call(call_of(DROPPING, "run-short", 5))

    [request] = harness.scripted.requests
    assert request.messages == [TASK, *turns(5)]
    assert request.conversation is None
    assert result.compaction is None


async def test_summarize_asks_the_model_once_and_counts_what_it_costs(harness: Harness) -> None:
    call = call_of(SUMMARIZING, "run-summary", 6)

    result = await harness.call(call)

    summary_request, request = harness.scripted.requests
    assert summary_request.summarizing
    assert summary_request.spec.tools == ()
    assert summary_request.spec.system_prompt == SUMMARY_INSTRUCTIONS.format(words=100)
    [prompt] = summary_request.messages
    assert prompt.content.startswith('The agent\'s task:\nuser: {"topic":"pages"}')
    assert prompt.content.count("tool read_page: ") == 4  # the 4 turns left out
    note = request.messages[1]
    assert note.role == "system"
    assert note.content.startswith(SUMMARY_HEADING + "(the scripted model's summary of ")
    assert request.messages[2:] == list(call.new_messages[-2 * KEEP :])
    compaction = result.compaction
    assert compaction is not None
    assert (compaction.strategy, compaction.turns_left_out, compaction.summary_calls) == (
        CompactionStrategy.SUMMARIZE,
        4,
        1,
    )
    # Both calls are the call's usage and cost.
    answer_only = await ScriptedProvider().complete(
        ModelRequest(
            spec=request.spec, messages=request.messages, turn=7, conversation=request.conversation
        )
    )
    assert result.usage.input_tokens > answer_only.usage.input_tokens
    assert result.usage.output_tokens > answer_only.usage.output_tokens
    price = DEFAULT_PRICES.model_cost("scripted-1", result.usage.input_tokens, 0)
    assert price is not None
    assert result.cost_usd > price

    # A retry sends the summary made before, without paying for it again.
    again = await harness.call(call, attempt=2)
    assert len(harness.scripted.requests) == 3
    assert harness.scripted.requests[2].messages == request.messages
    assert again.compaction == compaction.model_copy(update={"summary_calls": 0})


async def test_a_later_compaction_extends_the_summary(harness: Harness) -> None:
    """Turns a first compaction left out are summarised once; a later one folds its own turns
    into that summary (one summary call), and on a worker that never made the first, both."""
    await harness.call(call_of(SUMMARIZING, "run-later", 6))  # left out: 4 turns
    harness.scripted.requests.clear()

    # 12 turns: the 7th call cut, and a later one again.
    later = await harness.call(call_of(SUMMARIZING, "run-later", 12))

    summaries = [r for r in harness.scripted.requests if r.summarizing]
    assert later.compaction is not None
    assert later.compaction.turns_left_out > 4
    assert len(summaries) == later.compaction.summary_calls
    assert "Summary of the turns before these:" in summaries[-1].messages[0].content


async def test_summarize_over_the_openai_sdk(harness: Harness, server: FakeOpenAI) -> None:
    call = call_of(OPENAI_SUMMARY, "run-openai-summary", 6)

    result = await harness.call(call)

    summary_request, answer_request = server.received
    assert "tools" not in summary_request.body
    assert summary_request.messages[0] == {
        "role": "system",
        "content": SUMMARY_INSTRUCTIONS.format(words=100),
    }
    said = json.loads(answer_request.messages[2]["content"].removeprefix(SUMMARY_HEADING))
    assert said["answer"] == "nothing to do"  # the fake's answer when offered no tools
    assert [m["role"] for m in answer_request.messages] == [
        "system",  # the agent's system prompt
        "user",  # the task
        "system",  # the summary
        "assistant", "tool", "assistant", "tool",  # the last 2 turns
    ]  # fmt: skip
    sent_calls = [c["id"] for m in answer_request.messages for c in m.get("tool_calls", [])]
    assert sent_calls == ["call_5_0", "call_6_0"]
    compaction = result.compaction
    assert compaction is not None
    assert (compaction.summary_calls, compaction.turns_left_out) == (1, 4)
    # The fake counts each request's own tokens: the usage is the sum of both.
    assert result.usage.input_tokens > compaction.tokens_after


async def test_a_refused_prompt_is_compacted_and_sent_again(
    harness: Harness, server: FakeOpenAI
) -> None:
    """A model whose window agentrun does not know is never compacted ahead: when the server
    refuses the prompt, all but the last turns are left out, once, within the attempt."""
    server.queue(context_overflow())

    result = await harness.call(call_of(OPENAI_UNKNOWN_WINDOW, "run-refused", 5))

    refused, accepted = server.received
    assert len(refused.messages) == 1 + 1 + 2 * 5
    assert len(accepted.messages) == 1 + 1 + 1 + 2 * KEEP
    assert accepted.messages[2]["content"].startswith("[3 earlier turns (6 messages)")
    compaction = result.compaction
    assert compaction is not None
    assert compaction.model_dump(exclude={"tokens_before", "tokens_after"}) == {
        "step": 6,
        "strategy": CompactionStrategy.DROP_OLDEST,
        "reason": "context_overflow",
        "turns_left_out": 3,
        "messages_left_out": 6,
        "window_tokens": None,
        "summary_calls": 0,
    }
    assert compaction.tokens_after < compaction.tokens_before


async def test_fail_still_fails_context_overflow(harness: Harness, server: FakeOpenAI) -> None:
    server.queue(context_overflow())

    with pytest.raises(ApplicationError) as caught:
        await harness.call(call_of(OPENAI_FAIL, "run-fail", 7))

    assert caught.value.type == ErrorType.CONTEXT_OVERFLOW
    assert caught.value.non_retryable
    [received] = server.received
    assert len(received.messages) == 1 + 1 + 2 * 7  # all of it: fail never compacts


async def test_a_refused_prompt_with_nothing_more_to_leave_out_fails(
    harness: Harness, server: FakeOpenAI
) -> None:
    server.queue(context_overflow())

    with pytest.raises(ApplicationError) as caught:
        await harness.call(call_of(OPENAI_UNKNOWN_WINDOW, "run-short-refused", KEEP))

    assert caught.value.type == ErrorType.CONTEXT_OVERFLOW
    assert len(server.received) == 1


async def test_the_scripted_model_refuses_a_prompt_past_its_declared_window(
    harness: Harness,
) -> None:
    with pytest.raises(ApplicationError) as caught:
        await harness.call(call_of(FAILING, "run-scripted-fail", 7))

    assert caught.value.type == ErrorType.CONTEXT_OVERFLOW
    assert "exceeds the model's context window (3000 tokens" in caught.value.message
