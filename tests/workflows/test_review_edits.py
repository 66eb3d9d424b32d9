"""What a review decision may carry: edits checked against what they replace, malformed payloads
refused in one line, and failures that read as what they are (no stack trace under a business
failure in the Web UI)."""

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts import Decision, FailureCategory, ReviewDecision, RunRequest, RunState
from agentrun.contracts.names import SIGNAL_REVIEW, UPDATE_SUBMIT_REVIEW, ErrorType
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker
from tests.support.waiting import eventually, wait_for_review

TEMPORAL = str(Path(sys.executable).parent / "temporal")


async def _waiting(runs: AgentRunClient, agent: str, kind: str = "final") -> str:
    run_id = await runs.start(RunRequest(agent=agent, input={"key": "e"}))
    await wait_for_review(runs, run_id, kind)
    return run_id


async def test_an_edit_of_gated_arguments_must_fit_the_tools_params(runs: AgentRunClient) -> None:
    run_id = await _waiting(runs, "gated", "tool_approval")
    with pytest.raises(AgentRunError) as refused:
        await runs.review(
            run_id, ReviewDecision(decision=Decision.EDIT, reviewer="alice", output={"key": 5})
        )
    message = str(refused.value)
    assert "output.key: Input should be a valid string" in message
    assert "the arguments of gated_write" in message
    status = await runs.status(run_id)
    assert status.state is RunState.REVIEWING  # refused: nothing happened

    await runs.review(
        run_id, ReviewDecision(decision=Decision.EDIT, reviewer="alice", output={"key": "fixed"})
    )
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED
    assert result.output == {"answer": "done", "key": "e"}
    [call] = (await runs.status(run_id)).tool_calls
    assert (call.tool, call.status, call.approved_by) == ("gated_write", "success", "alice")


async def test_an_edit_of_the_output_must_fit_the_agents_output_model(
    runs: AgentRunClient,
) -> None:
    run_id = await _waiting(runs, "typed-output")
    with pytest.raises(AgentRunError, match=r"output\.key: Field required"):
        await runs.review(
            run_id,
            ReviewDecision(decision=Decision.EDIT, reviewer="alice", output={"answer": "x"}),
        )
    edited = {"answer": "better", "key": "e"}
    await runs.review(
        run_id, ReviewDecision(decision=Decision.EDIT, reviewer="alice", output=edited)
    )
    result = await runs.result(run_id)
    assert (result.state, result.output, result.human_override) == (
        RunState.COMPLETED,
        edited,
        True,
    )


async def test_the_models_answer_must_fit_the_output_model_too(runs: AgentRunClient) -> None:
    """Not only a reviewer's edit: an answer that breaks the agent's declared output never
    reaches a caller or a reviewer."""
    run_id = await runs.start(RunRequest(agent="typed-output-broken", input={"key": "b"}))
    result = await runs.result(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.CONTRACT_VIOLATION
    assert "typed-output-broken@1's output schema at output.key: Field required" in (
        result.failure.message
    )
    assert result.output is None


async def test_a_malformed_decision_is_refused_in_one_line_and_not_retryable(
    runs: AgentRunClient,
) -> None:
    """What any client can send, untyped: the run decodes it, and refuses it cleanly."""
    run_id = await _waiting(runs, "reviewed")
    handle = runs.temporal.get_workflow_handle(run_id)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(
            UPDATE_SUBMIT_REVIEW, {"decision": "maybe", "reviewer": "alice", "extra": 1}
        )
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ErrorType.INVALID_PAYLOAD
    assert cause.non_retryable
    assert "\n" not in cause.message
    assert cause.message.startswith("invalid ReviewDecision: decision: Input should be 'approve'")
    assert cause.message.endswith("(and 1 more)")
    assert (await runs.status(run_id)).state is RunState.REVIEWING


async def test_a_malformed_signal_is_refused_on_the_record_not_dropped(
    runs: AgentRunClient,
) -> None:
    """A signal has no answer: what the run refused must show in its status (and audit)."""
    run_id = await _waiting(runs, "reviewed")
    handle = runs.temporal.get_workflow_handle(run_id)
    await handle.signal(SIGNAL_REVIEW, {"decision": "maybe", "reviewer": "mallory"})
    await handle.signal(SIGNAL_REVIEW, "approve")
    status = await eventually(lambda: runs.status(run_id), lambda s: len(s.rejected_reviews) == 2)
    first, second = status.rejected_reviews
    assert first.reviewer == "mallory"
    assert first.reason.startswith("invalid ReviewDecision: decision: Input should be 'approve'")
    assert (second.reviewer, second.reason.split(":")[0]) == ("unknown", "invalid ReviewDecision")
    assert status.state is RunState.REVIEWING
    await runs.signal_review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    assert (await runs.result(run_id)).state is RunState.COMPLETED


async def test_the_plain_temporal_cli_gets_the_same_one_line_refusal(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment
) -> None:
    run_id = await _waiting(runs, "reviewed")
    address = temporal_env.client.service_client.config.target_host
    sent = await asyncio.to_thread(
        subprocess.run,
        [
            TEMPORAL,
            "workflow",
            "update",
            "execute",
            "--address",
            address,
            "--workflow-id",
            run_id,
            "--name",
            UPDATE_SUBMIT_REVIEW,
            "--input",
            json.dumps({"decision": "approve"}),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode != 0
    shown = sent.stdout + sent.stderr
    assert "invalid ReviewDecision: reviewer: Field required" in shown
    assert "retryable: true" not in shown.lower()
    assert "pydantic" not in shown.lower()


async def test_business_failures_carry_no_stack_trace(runs: AgentRunClient) -> None:
    run_id = await _waiting(runs, "reviewed")
    await runs.review(
        run_id, ReviewDecision(decision=Decision.REJECT, reviewer="alice", comment="no")
    )
    result = await runs.result(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.REVIEW_REJECTED
    history = await runs.temporal.get_workflow_handle(run_id).fetch_history()
    [failed] = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    ]
    failure = failed.workflow_execution_failed_event_attributes.failure
    assert failure.application_failure_info.type == "review_rejected"
    assert failure.message.startswith("review_rejected: reject by alice")
    assert failure.stack_trace == ""


async def test_a_run_no_worker_took_up_within_init_deadline_fails_state_timeout(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    queue = f"late-{uuid.uuid4().hex[:8]}"
    late = AgentRunClient(temporal_env.client, task_queue=queue)
    run_id = await late.start(RunRequest(agent="init-deadline", input={"key": "late"}))
    await asyncio.sleep(1.5)  # nobody polls the queue: the run stays in INIT past its 1 s
    async with build_worker(temporal_env.client, settings.model_copy(update={"task_queue": queue})):
        result = await late.result(run_id)
        status = await late.status(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.STATE_TIMEOUT
    assert result.failure.message.startswith("INIT exceeded its deadline of 0:00:01")
    initial, preparing = status.transitions[:2]
    assert (preparing.at - initial.at).total_seconds() >= 1.5
