"""The run lifecycle against a real Temporal dev server: states, transitions, visibility."""

import re

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, FailureCategory, ReviewDecision, RunRequest, RunState
from agentrun.contracts.names import AGENT_RUN_WORKFLOW
from agentrun.contracts.states import ALLOWED_TRANSITIONS
from agentrun.settings import Settings
from tests.support.waiting import eventually, wait_for_review

SAMPLE = {"order_id": "1001", "reason": "arrived broken", "amount": 60}


async def test_happy_path_goes_through_all_five_states(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="refund", input=SAMPLE, tenant_id="acme"))
    # The refund (60, under the policy's 100) went out; the customer email waits for a person.
    waiting = await wait_for_review(runs, run_id, "tool_approval")
    assert waiting.state is RunState.REVIEWING
    assert waiting.pending_review is not None
    assert waiting.pending_review.tool == "send_email"
    assert "alice" in waiting.pending_review.reviewers
    assert [c.tool for c in waiting.tool_calls] == [
        "lookup_order",
        "get_shipping_status",
        "issue_refund",
    ]

    ack = await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    assert ack.next_state == "EXECUTING"
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED
    assert result.output is not None
    assert result.output["order_id"] == "1001"
    assert result.output["refund_id"].startswith("rf_")

    status = await runs.status(run_id)
    states = [t.target for t in status.transitions]
    assert states == [
        RunState.INIT,
        RunState.PREPARING,
        RunState.EXECUTING,
        RunState.REVIEWING,
        RunState.EXECUTING,
        RunState.COMPLETED,
    ]
    for before, after in zip(status.transitions, status.transitions[1:], strict=False):
        assert after.source is before.target
        assert after.target in ALLOWED_TRANSITIONS[before.target]
        assert after.at >= before.at
    spent = status.time_in_states()
    assert set(spent) == {RunState.INIT, RunState.PREPARING, RunState.EXECUTING, RunState.REVIEWING}
    assert status.version == "2"
    assert status.step == 6
    assert [c.tool for c in status.tool_calls] == [
        "lookup_order",
        "get_shipping_status",
        "issue_refund",
        "send_email",
        "add_order_note",
    ]
    assert status.usage.model_calls == 6
    assert status.usage.tool_calls == 5
    assert status.usage.tokens.input_tokens > status.usage.tokens.output_tokens > 0
    assert status.reviews[0].reviewer == "alice"
    assert status.tool_calls[3].approved_by == "alice"
    assert len(status.trace_id) == 32


async def test_state_is_visible_to_operators(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment
) -> None:
    run_id = await runs.start(RunRequest(agent="refund", input=SAMPLE, tenant_id="visible-co"))
    await wait_for_review(runs, run_id, "tool_approval")

    listed = await eventually(
        lambda: runs.list_runs(states=[RunState.REVIEWING], tenant_id="visible-co"),
        lambda rows: any(r.run_id == run_id for r in rows),
    )
    row = next(r for r in listed if r.run_id == run_id)
    assert (row.agent, row.version, row.state) == ("refund", "2", "REVIEWING")

    handle = temporal_env.client.get_workflow_handle(run_id)
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = metadata.current_details
    assert "REVIEWING" in details
    assert re.search(r"waiting for review tool_approval-1-[0-9a-f]{16} by alice, bob", details)
    history = await handle.fetch_history()
    summaries = {
        e.user_metadata.summary.data.decode()
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert any("lookup_order" in s for s in summaries)
    assert any("scripted:scripted-1 step 4" in s for s in summaries)
    await runs.cancel(run_id)


async def test_same_request_id_starts_one_run(runs: AgentRunClient) -> None:
    request = RunRequest(agent="echo", input={"key": "idem"}, request_id="req-idempotent-1")
    first = await runs.start(request)
    await runs.result(first)
    second = await runs.start(request)
    assert first == second == "req-idempotent-1"
    assert len(await runs.list_runs(agent="echo")) >= 1


async def test_cancel_moves_run_to_cancelled(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "c"}))
    await wait_for_review(runs, run_id)
    await runs.cancel(run_id)
    result = await runs.result(run_id)
    assert result.state is RunState.CANCELLED
    status = await eventually(lambda: runs.status(run_id), lambda s: s.state.terminal)
    assert status.state is RunState.CANCELLED
    assert status.transitions[-1].source is RunState.REVIEWING


async def test_malformed_request_envelope_fails_the_run_instead_of_sticking(
    temporal_env: WorkflowEnvironment, settings: Settings, worker: object
) -> None:
    handle = await temporal_env.client.start_workflow(
        AGENT_RUN_WORKFLOW,
        {"agent": "refund", "tenant_id": "", "surprise": True},
        id="malformed-envelope",
        task_queue=settings.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "tenant_id" in str(failed.value.cause)


async def test_a_request_that_does_not_decode_reads_as_invalid_input(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Another client's start with a broken envelope: one line naming the field, and the typed
    client reports it as bad input, not as agentrun's internal error."""
    await temporal_env.client.start_workflow(
        AGENT_RUN_WORKFLOW,
        {"agent": "refund", "input": {}, "budget": {"max_tokens": -1}},
        id="malformed-budget",
        task_queue=settings.task_queue,
    )
    result = await runs.result("malformed-budget")
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.INVALID_INPUT
    assert result.failure.message.startswith(
        "invalid RunRequest: budget.max_tokens: Input should be greater than or equal to 1"
    )
