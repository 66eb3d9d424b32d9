"""Human review against a real server: decisions, authorisation, gates, deadlines, escalation."""

import pytest

from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts import Decision, FailureCategory, ReviewDecision, RunRequest, RunState
from agentrun.settings import Settings
from tests.support.waiting import (
    eventually,
    wait_for_approval,
    wait_for_review,
    wait_for_state,
)


async def _waiting(runs: AgentRunClient, agent: str = "reviewed") -> str:
    run_id = await runs.start(RunRequest(agent=agent, input={"key": "r"}))
    await wait_for_review(runs, run_id)
    return run_id


async def test_approve_completes(runs: AgentRunClient) -> None:
    run_id = await _waiting(runs)
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="bob"))
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED
    assert result.human_override is False


async def test_reject_fails_with_review_rejected(runs: AgentRunClient) -> None:
    run_id = await _waiting(runs)
    ack = await runs.review(
        run_id, ReviewDecision(decision=Decision.REJECT, reviewer="alice", comment="wrong customer")
    )
    assert ack.next_state == "FAILED"
    result = await runs.result(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.REVIEW_REJECTED
    assert "wrong customer" in result.failure.message


async def test_request_changes_sends_work_back_with_feedback(runs: AgentRunClient) -> None:
    run_id = await _waiting(runs)
    ack = await runs.review(
        run_id,
        ReviewDecision(decision=Decision.REQUEST_CHANGES, reviewer="alice", comment="add a note"),
    )
    assert ack.next_state == "EXECUTING"
    status = await eventually(
        lambda: runs.status(run_id),
        lambda s: (
            s.pending_review is not None and s.pending_review.review_id.startswith("final-2-")
        ),
    )
    assert status.output is not None
    assert status.output["revision_notes"] == "add a note"
    states = [t.target for t in status.transitions]
    assert states[-3:] == [RunState.REVIEWING, RunState.EXECUTING, RunState.REVIEWING]
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    assert (await runs.result(run_id)).state is RunState.COMPLETED


async def test_edit_replaces_output_and_counts_as_override(runs: AgentRunClient) -> None:
    run_id = await _waiting(runs)
    edited = {"answer": "edited by a human"}
    await runs.review(
        run_id, ReviewDecision(decision=Decision.EDIT, reviewer="alice", output=edited)
    )
    result = await runs.result(run_id)
    assert result.output == edited
    assert result.human_override is True
    status = await runs.status(run_id)
    assert status.reviews[-1].human_override is True


async def test_unauthorised_reviewer_is_refused_and_run_still_waits(runs: AgentRunClient) -> None:
    run_id = await _waiting(runs)
    with pytest.raises(AgentRunError, match="'mallory' is not authorised"):
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="mallory"))
    with pytest.raises(AgentRunError, match="does not match"):
        await runs.review(
            run_id,
            ReviewDecision(decision=Decision.APPROVE, reviewer="alice", review_id="final-9"),
        )
    # The same forgery by signal is recorded, not obeyed.
    await runs.signal_review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="mallory"))
    status = await eventually(lambda: runs.status(run_id), lambda s: len(s.rejected_reviews) == 1)
    assert status.state is RunState.REVIEWING
    assert status.pending_review is not None
    assert status.reviews == []
    assert status.rejected_reviews[0].reviewer == "mallory"
    # A proper decision by signal still works.
    await runs.signal_review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    assert (await runs.result(run_id)).state is RunState.COMPLETED


async def test_review_when_not_waiting_is_refused(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="echo", input={"key": "n"}))
    await runs.result(run_id)
    with pytest.raises(AgentRunError):
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))


async def test_malformed_review_payload_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="output: required"):
        ReviewDecision.model_validate({"decision": "edit", "reviewer": "alice"})
    with pytest.raises(ValueError, match="comment: required"):
        ReviewDecision.model_validate({"decision": "request_changes", "reviewer": "alice"})


async def test_approval_gate_before_high_value_refund(
    runs: AgentRunClient, settings: Settings
) -> None:
    from agentrun.agents.refund.db import count_refunds

    before = count_refunds(settings.data_dir, "1005")
    run_id = await runs.start(
        RunRequest(agent="refund", input={"order_id": "1005", "reason": "damaged", "amount": 500})
    )
    gate = await wait_for_review(runs, run_id, kind="tool_approval")
    assert gate.pending_review is not None
    assert gate.pending_review.tool == "issue_refund"
    assert gate.pending_review.tool_args == {"order_id": "1005", "amount": 500, "reason": "damaged"}
    assert count_refunds(settings.data_dir, "1005") == before  # nothing refunded yet
    ack = await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    assert ack.next_state == "EXECUTING"
    # The email to the customer has its own gate, before it goes out.
    status = await wait_for_approval(runs, run_id, "send_email")
    refund = next(c for c in status.tool_calls if c.tool == "issue_refund")
    assert refund.approved_by == "alice"
    assert count_refunds(settings.data_dir, "1005") == before + 1
    assert "send_email" not in [c.tool for c in status.tool_calls]
    states = [t.target for t in status.transitions]
    assert states.count(RunState.REVIEWING) == 2
    ack = await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="bob"))
    assert ack.next_state == "EXECUTING"
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED
    email = next(c for c in (await runs.status(run_id)).tool_calls if c.tool == "send_email")
    assert email.approved_by == "bob"


async def test_gate_edit_changes_the_tool_arguments(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="gated", input={"key": "orig"}))
    await wait_for_review(runs, run_id, kind="tool_approval")
    await runs.review(
        run_id, ReviewDecision(decision=Decision.EDIT, reviewer="bob", output={"key": "safer"})
    )
    result = await runs.result(run_id)
    assert result.human_override is True
    status = await runs.status(run_id)
    assert status.tool_calls[0].approved_by == "bob"


async def test_deadline_auto_reject(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="timeout-reject", input={"key": "t"}))
    result = await runs.result(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.REVIEW_TIMEOUT
    [review] = (await runs.status(run_id)).reviews
    assert (review.decision, review.automatic, review.escalated) == (Decision.REJECT, True, False)


async def test_deadline_auto_approve(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="timeout-approve", input={"key": "t"}))
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED
    [review] = (await runs.status(run_id)).reviews
    assert (review.decision, review.automatic) == (Decision.APPROVE, True)
    assert review.comment is not None
    assert "auto_approve" in review.comment


async def test_deadline_escalates_to_second_group(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="timeout-escalate", input={"key": "t"}))
    status = await eventually(
        lambda: runs.status(run_id),
        lambda s: s.pending_review is not None and s.pending_review.escalated,
    )
    assert status.pending_review is not None
    assert status.pending_review.reviewers == ("carol",)
    with pytest.raises(AgentRunError, match="not authorised"):
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="carol"))
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED
    [review] = (await runs.status(run_id)).reviews
    assert (review.reviewer, review.escalated) == ("carol", True)


async def test_escalated_deadline_also_expiring_rejects(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="timeout-escalate", input={"key": "t2"}))
    await wait_for_state(runs, run_id, RunState.FAILED, timeout=15)
    result = await runs.result(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.REVIEW_TIMEOUT
    assert "escalated" in result.failure.message
