"""Refund runs on Claude: a worker of its own, configured like any other (ANTHROPIC_BASE_URL and
ANTHROPIC_API_KEY), calling a local Messages API through the official SDK.

Each test's ticket carries a marker of its own, so the requests of its run (and the canned
responses meant for them) are told apart from the other tests' at the fake server.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, FailureCategory, ReviewDecision, RunRequest, RunState
from agentrun.contracts.runs import RunStatus
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.queries import list_model_calls
from agentrun.workers.worker import build_worker
from tests.support.fake_anthropic import Canned, FakeAnthropic, error, tool_use
from tests.support.waiting import wait_for_approval, wait_for_stored_state

MODEL = "claude-sonnet-4-5"
SNAPSHOT = "claude-sonnet-4-5-20250929"
TOOLS = ["lookup_order", "get_shipping_status", "issue_refund", "send_email", "add_order_note"]


@dataclass
class Claude:
    runs: AgentRunClient
    fake: FakeAnthropic
    settings: Settings


@pytest.fixture(scope="module")
async def claude(temporal_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Claude]:
    own = settings.model_copy(update={"task_queue": "agentrun-anthropic-tests"})
    async with (
        FakeAnthropic() as fake,
        build_worker(temporal_env.client, own, environ=fake.environ),
    ):
        yield Claude(AgentRunClient(temporal_env.client, task_queue=own.task_queue), fake, own)


def ticket(amount: float = 60, order_id: str = "1001") -> tuple[dict[str, Any], str]:
    marker = f"arrived broken, ref {uuid.uuid4().hex[:10]}"
    return {"order_id": order_id, "reason": marker, "amount": amount}, marker


async def start(claude: Claude, run_input: dict[str, Any]) -> str:
    request = RunRequest(agent="refund", input=run_input, model=f"anthropic:{MODEL}")
    return await claude.runs.start(request)


async def approve(runs: AgentRunClient, run_id: str, tool: str, reviewer: str) -> RunStatus:
    status = await wait_for_approval(runs, run_id, tool)
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer=reviewer))
    return status


async def test_a_refund_run_on_claude_completes_like_a_scripted_one(
    claude: Claude, runs: AgentRunClient
) -> None:
    run_input, marker = ticket(amount=250)
    run_id = await start(claude, run_input)

    gate = await approve(claude.runs, run_id, "issue_refund", "alice")
    assert gate.pending_review is not None
    assert gate.pending_review.tool_args == {"order_id": "1001", "amount": 250, "reason": marker}
    await approve(claude.runs, run_id, "send_email", "bob")
    result = await claude.runs.result(run_id)

    assert result.state is RunState.COMPLETED, result.failure
    assert result.output is not None
    assert result.output["refund_id"].startswith("rf_")
    assert (result.output["order_id"], result.output["customer_notified"]) == ("1001", True)
    assert result.output["shipping_status"] == "delivered"
    status = await claude.runs.status(run_id)
    assert status.model == f"anthropic:{MODEL}"
    assert [c.tool for c in status.tool_calls] == TOOLS
    assert [c.approved_by for c in status.tool_calls if c.approved_by] == ["alice", "bob"]

    # Usage is what Claude billed, the prompt cache included, and it is priced.
    sent = claude.fake.received(marker)
    assert [r.status for r in sent] == [200] * 6
    tokens = status.usage.tokens
    assert status.usage.model_calls == 6
    assert tokens.input_tokens == sum(
        r.usage["input_tokens"]
        + r.usage["cache_creation_input_tokens"]
        + r.usage["cache_read_input_tokens"]
        for r in sent
    )
    assert tokens.output_tokens == sum(r.usage["output_tokens"] for r in sent)
    assert tokens.cached_input_tokens == sum(r.usage["cache_read_input_tokens"] for r in sent) > 0
    assert status.usage.model_cost_usd > 0

    # The same ticket on the scripted model moves through the same states and tools.
    scripted_id = await runs.start(RunRequest(agent="refund", input=run_input))
    await approve(runs, scripted_id, "issue_refund", "alice")
    await approve(runs, scripted_id, "send_email", "bob")
    assert (await runs.result(scripted_id)).state is RunState.COMPLETED
    scripted = await runs.status(scripted_id)
    assert [t.target for t in status.transitions] == [t.target for t in scripted.transitions]
    assert [(c.tool, c.status, c.attempts) for c in status.tool_calls] == [
        (c.tool, c.status, c.attempts) for c in scripted.tool_calls
    ]

    sessions = session_factory(make_engine(claude.settings.effective_database_url()))
    await wait_for_stored_state(sessions, run_id, "COMPLETED")
    with sessions() as session:
        calls = list_model_calls(session, run_id)
    assert {(c.provider, c.model) for c in calls} == {("anthropic", SNAPSHOT)}
    assert sum(c.input_tokens for c in calls) == tokens.input_tokens


@pytest.mark.parametrize(
    ("order_id", "attempts", "source"),
    [("1002", [2], "live"), ("1003", [3, 1], "cache")],  # 503 once; down, then the fallback
)
async def test_the_carrier_is_retried_or_replaced_by_its_fallback(
    claude: Claude, order_id: str, attempts: list[int], source: str
) -> None:
    run_input, marker = ticket(order_id=order_id)
    run_id = await start(claude, run_input)
    await approve(claude.runs, run_id, "send_email", "alice")

    assert (await claude.runs.result(run_id)).state is RunState.COMPLETED
    status = await claude.runs.status(run_id)
    shipping = [c for c in status.tool_calls if c.tool.startswith("get_shipping_status")]
    assert [c.attempts for c in shipping] == attempts
    # Claude was told what the tool (or its fallback) answered.
    answered = claude.fake.received(marker)[2].body["messages"][-1]["content"][0]
    assert f'"source":"{source}"' in answered["content"]
    assert "is_error" not in answered


async def test_a_rate_limit_is_retried_after_the_wait_anthropic_asked_for(claude: Claude) -> None:
    run_input, marker = ticket()
    claude.fake.queue(error(429, "rate_limit_error", "slow down", {"retry-after": "2"}, marker))
    run_id = await start(claude, run_input)
    await approve(claude.runs, run_id, "send_email", "alice")
    assert (await claude.runs.result(run_id)).state is RunState.COMPLETED

    limited, retried = claude.fake.received(marker)[:2]
    assert (limited.status, retried.status) == (429, 200)
    waited = retried.at - limited.at
    # Temporal's own first retry would come after 0.5 s (MODEL_RETRY); this one waits 2 s.
    assert 1.95 <= waited < 4.0, waited


async def test_a_bad_request_fails_the_run_without_a_retry(claude: Claude) -> None:
    run_input, marker = ticket()
    claude.fake.queue(error(400, "invalid_request_error", "messages: bad", match=marker))
    run_id = await start(claude, run_input)

    result = await claude.runs.result(run_id)

    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.MODEL_ERROR
    assert "HTTP 400 invalid_request_error: messages: bad" in result.failure.message
    assert [r.status for r in claude.fake.received(marker)] == [400]


@pytest.mark.parametrize(
    ("tool_input", "why"),
    [({"order_id": "A-1001"}, "arguments.order_id"), ("order 1001", "not valid JSON")],
)
async def test_malformed_tool_input_goes_back_to_claude(
    claude: Claude, tool_input: Any, why: str
) -> None:
    run_input, marker = ticket()
    bad = tool_use("lookup_order", tool_input, "toolu_bad1")
    claude.fake.queue(Canned(content=[bad], match=marker))
    run_id = await start(claude, run_input)
    await approve(claude.runs, run_id, "send_email", "alice")
    result = await claude.runs.result(run_id)

    assert result.state is RunState.COMPLETED, result.failure
    second = claude.fake.received(marker)[1].body["messages"]
    assert second[1]["content"] == [
        {"type": "tool_use", "id": "toolu_bad1", "name": "lookup_order",
         "input": tool_input if isinstance(tool_input, dict) else {}},
    ]  # fmt: skip
    [answer] = second[2]["content"]
    assert (answer["type"], answer["tool_use_id"], answer["is_error"]) == (
        "tool_result",
        "toolu_bad1",
        True,
    )
    assert "invalid arguments" in answer["content"]
    assert why in answer["content"]
    status = await claude.runs.status(run_id)
    refused = status.tool_calls[0]
    assert (refused.tool, refused.status, refused.attempts) == ("lookup_order", "error", 0)
    assert [c.tool for c in status.tool_calls[1:]] == TOOLS


async def test_a_prompt_too_long_fails_the_run_as_context_overflow(claude: Claude) -> None:
    run_input, marker = ticket()
    too_long = "prompt is too long: 210417 tokens > 200000 maximum"
    claude.fake.queue(error(400, "invalid_request_error", too_long, match=marker))
    run_id = await start(claude, run_input)

    result = await claude.runs.result(run_id)

    assert result.failure is not None
    assert result.failure.category is FailureCategory.CONTEXT_OVERFLOW
    assert too_long in result.failure.message
    assert len(claude.fake.received(marker)) == 1
