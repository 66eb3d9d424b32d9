"""The sample refund agent run on the openai provider, end to end: a worker configured by its
environment (OPENAI_BASE_URL, OPENAI_API_KEY) calls a local server speaking the wire protocol
through the official SDK, and the run goes as the same run on the scripted model goes."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, FailureCategory, ReviewDecision, RunRequest, RunState
from agentrun.contracts.runs import RunResult, RunStatus
from agentrun.settings import Settings
from agentrun.store import queries
from agentrun.store.db import make_engine, session_factory
from agentrun.workers.worker import build_worker
from tests.support.fake_openai import (
    Canned,
    FakeOpenAI,
    completion,
    context_overflow,
    error_body,
    rate_limited,
)
from tests.support.waiting import eventually, wait_for_stored_state

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
async def openai_runs(
    temporal_env: WorkflowEnvironment, settings: Settings, fake: FakeOpenAI
) -> AsyncIterator[AgentRunClient]:
    """A worker of its own, on its own task queue, that serves openai from the environment it
    is given (and the scripted model, as every worker does)."""
    queue = f"openai-runs-{uuid.uuid4().hex[:8]}"
    environ = {"OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-test-runs"}
    worker_settings = settings.model_copy(update={"task_queue": queue})
    async with build_worker(temporal_env.client, worker_settings, environ=environ):
        yield AgentRunClient(temporal_env.client, task_queue=queue)


def _request(order_id: str, amount: float, model: str | None) -> RunRequest:
    return RunRequest(
        agent="refund",
        input={"order_id": order_id, "reason": "arrived broken", "amount": amount},
        tenant_id=f"openai-{uuid.uuid4().hex[:8]}",
        model=model,
    )


async def _approve_to_the_end(
    runs: AgentRunClient, request: RunRequest
) -> tuple[RunResult, RunStatus, list[str]]:
    """Run it, approving every gate it stops at (through the client, as a person would)."""
    run_id = await runs.start(request)
    gated: list[str] = []
    seen: set[str] = set()
    while True:
        status = await eventually(
            lambda: runs.status(run_id),
            lambda s: (
                s.state.terminal
                or (s.pending_review is not None and s.pending_review.review_id not in seen)
            ),
            timeout=40,
        )
        if status.state.terminal or status.pending_review is None:
            break
        seen.add(status.pending_review.review_id)
        gated.append(status.pending_review.tool or status.pending_review.kind)
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    return await runs.result(run_id), await runs.status(run_id), gated


def _calls(status: RunStatus) -> list[tuple[Any, ...]]:
    return [
        (c.step, c.tool, c.status, c.attempts, c.error_class, c.fallback_for, c.approved_by)
        for c in status.tool_calls
    ]


@dataclass(frozen=True)
class Case:
    order_id: str
    amount: float
    gates: tuple[str, ...]
    retried: str | None = None


@pytest.mark.parametrize(
    "case",
    [
        Case("1001", 250, ("issue_refund", "send_email")),  # refund above 100: approved
        Case("1002", 20, ("send_email",), "get_shipping_status"),  # flaky carrier: 503, retried
        Case("1003", 120, ("issue_refund", "send_email")),  # carrier down: the cached status
    ],
    ids=["refund-gate", "flaky-carrier", "fallback"],
)
async def test_refund_runs_on_openai_as_on_the_scripted_model(
    openai_runs: AgentRunClient, server: FakeOpenAI, settings: Settings, case: Case
) -> None:
    order_id, amount = case.order_id, case.amount
    (scripted, scripted_status, scripted_gates), (result, status, gated) = await asyncio.gather(
        _approve_to_the_end(openai_runs, _request(order_id, amount, None)),
        _approve_to_the_end(openai_runs, _request(order_id, amount, f"openai:{MODEL}")),
    )

    assert result.state is RunState.COMPLETED, result.failure
    assert scripted.state is RunState.COMPLETED
    assert gated == scripted_gates == list(case.gates)
    assert status.model == f"openai:{MODEL}"
    assert scripted_status.model == "scripted:scripted-1"
    assert _calls(status) == _calls(scripted_status)
    if case.retried is not None:
        assert any(c.tool == case.retried and c.attempts == 2 for c in status.tool_calls)
    assert [t.target for t in status.transitions] == [t.target for t in scripted_status.transitions]
    assert (status.step, status.usage.model_calls, status.usage.tool_calls) == (
        scripted_status.step,
        scripted_status.usage.model_calls,
        scripted_status.usage.tool_calls,
    )
    # The answer is the model's, read from its fenced JSON, worded as the script words it.
    assert result.output is not None
    assert scripted.output is not None
    assert result.output["refund_id"].startswith("rf_")
    assert {k: v for k, v in result.output.items() if k != "refund_id"} == {
        k: v for k, v in scripted.output.items() if k != "refund_id"
    }
    # Usage as the server reported it (its prompt cache included), priced as gpt-4o-mini.
    tokens = status.usage.tokens
    assert tokens.input_tokens > tokens.output_tokens > 0
    assert 0 < tokens.cached_input_tokens < tokens.input_tokens
    assert status.usage.model_cost_usd > 0
    assert len(server.received) >= status.usage.model_calls

    engine = make_engine(settings.effective_database_url())
    sessions = session_factory(engine)
    try:
        await wait_for_stored_state(sessions, status.run_id, "COMPLETED")
        with sessions() as session:
            model_calls = queries.list_model_calls(session, status.run_id)
            tool_rows = queries.list_tool_calls(session, status.run_id)
            scripted_rows = queries.list_tool_calls(session, scripted_status.run_id)
    finally:
        engine.dispose()
    assert {(m.provider, m.model) for m in model_calls} == {("openai", f"{MODEL}-2024-07-18")}
    assert [m.turn for m in model_calls] == list(range(1, status.step + 1))
    assert sum(m.input_tokens for m in model_calls) == tokens.input_tokens
    assert [(r.tool, r.attempt, r.status, r.error_class) for r in tool_rows] == [
        (r.tool, r.attempt, r.status, r.error_class) for r in scripted_rows
    ]


async def test_a_429_is_retried_after_its_retry_after(
    openai_runs: AgentRunClient, server: FakeOpenAI
) -> None:
    server.queue(rate_limited("2"))

    result, status, _ = await _approve_to_the_end(
        openai_runs, _request("1001", 60, f"openai:{MODEL}")
    )

    assert result.state is RunState.COMPLETED, result.failure
    first, second = server.received[:2]
    waited = second.at - first.at
    # Temporal's own first retry would come after 0.5 s (MODEL_RETRY): this is the server's 2 s.
    assert 2.0 <= waited < 3.5, waited
    assert second.body["messages"] == first.body["messages"]
    assert status.usage.model_calls == 6  # the refused attempt is not a call of the run


async def test_a_400_fails_the_run_without_a_retry(
    openai_runs: AgentRunClient, server: FakeOpenAI
) -> None:
    server.queue(
        Canned(
            400,
            error_body(
                "Invalid value for 'temperature': must be between 0 and 2.",
                "invalid_request_error",
                "invalid_value",
                "temperature",
            ),
        )
    )

    result, _, _ = await _approve_to_the_end(openai_runs, _request("1001", 60, f"openai:{MODEL}"))

    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.MODEL_ERROR
    assert "HTTP 400 invalid_value" in result.failure.message
    assert "'temperature'" in result.failure.message
    assert len(server.received) == 1


async def test_malformed_arguments_go_back_to_the_model_and_the_run_completes(
    openai_runs: AgentRunClient, server: FakeOpenAI
) -> None:
    server.queue(Canned(body=completion(tool_calls=(("lookup_order", '{"order_id": "1001"'),))))

    result, status, _ = await _approve_to_the_end(
        openai_runs, _request("1001", 60, f"openai:{MODEL}")
    )

    assert result.state is RunState.COMPLETED, result.failure
    # The next request tells the model what was wrong with its call, as that call's result.
    calls = server.received[1].messages[-2]["tool_calls"]
    answer = server.received[1].messages[-1]
    assert answer["role"] == "tool"
    assert answer["tool_call_id"] == calls[0]["id"]
    assert "invalid arguments: arguments are not valid JSON" in answer["content"]
    refused, *rest = status.tool_calls
    assert (refused.tool, refused.status, refused.attempts, refused.error_class) == (
        "lookup_order",
        "error",
        0,
        "invalid_arguments",
    )
    assert [c.tool for c in rest] == [
        "lookup_order",
        "get_shipping_status",
        "issue_refund",
        "send_email",
        "add_order_note",
    ]
    assert all(c.status == "success" for c in rest)


async def test_a_context_overflow_fails_the_run_as_such(
    openai_runs: AgentRunClient, server: FakeOpenAI
) -> None:
    server.queue(context_overflow())

    result, _, _ = await _approve_to_the_end(openai_runs, _request("1001", 60, f"openai:{MODEL}"))

    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.CONTEXT_OVERFLOW
    assert "maximum context length is 128000 tokens" in result.failure.message
    assert len(server.received) == 1
