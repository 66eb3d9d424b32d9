"""The current-details text an operator reads in the Temporal UI."""

from datetime import UTC, datetime

from agentrun.contracts.review import PendingReview
from agentrun.contracts.runs import ChildRun, Failure, Usage
from agentrun.contracts.states import FailureCategory, RunState
from agentrun.logic.details import current_details


def test_details_name_state_step_cost_and_who_must_review_by_when() -> None:
    pending = PendingReview(
        review_id="final-1",
        kind="final",
        reviewers=("alice", "bob"),
        deadline=datetime(2026, 1, 1, 12, 5, tzinfo=UTC),
        reason="agent policy: every run is reviewed",
    )
    text = current_details(
        state=RunState.REVIEWING, agent="refund", version="1", step=6, max_steps=12,
        usage=Usage(tool_calls=5, model_cost_usd=0.0012), last_tool="add_order_note",
        pending=pending, failure=None,
    )  # fmt: skip
    assert text.splitlines() == [
        "**REVIEWING** · refund@1",
        "step 6/12 · tools called 5 · 0 tokens · $0.0012",
        "last tool: add_order_note",
        (
            "waiting for review final-1 by alice, bob until 2026-01-01T12:05:00+00:00"
            " (agent policy: every run is reviewed)"
        ),
    ]


def test_details_before_the_agent_is_resolved_and_after_a_failure() -> None:
    text = current_details(
        state=RunState.FAILED, agent="nope", version=None, step=0, max_steps=None,
        usage=Usage(), last_tool=None, pending=None,
        failure=Failure(category=FailureCategory.INVALID_INPUT, message="unknown agent 'nope'"),
    )  # fmt: skip
    assert text == "**FAILED** · nope@?\nfailed: invalid_input: unknown agent 'nope'"


def test_details_name_a_running_child_and_the_review_it_waits_for() -> None:
    pending = PendingReview(
        review_id="final-1-ab",
        kind="final",
        reviewers=("alice",),
        deadline=datetime(2026, 1, 1, 12, 5, tzinfo=UTC),
        reason="agent policy: every run is reviewed",
    )
    children = [
        ChildRun(run_id="r--1-0-a", agent="a", tool="ask_a", state=RunState.COMPLETED),
        ChildRun(
            run_id="r--1-1-b", agent="b", tool="ask_b", state=RunState.EXECUTING,
            pending_review=pending, waiting_on="r--1-1-b--2-0-c",
        ),
    ]  # fmt: skip
    text = current_details(
        state=RunState.EXECUTING, agent="lead", version="1", step=1, max_steps=20,
        usage=Usage(), last_tool="ask_b", pending=None, failure=None, children=children,
    )  # fmt: skip
    # The ended child is not listed; the running one is, with who must decide by when.
    assert text.splitlines()[-1] == (
        "child r--1-1-b (b, tool ask_b): EXECUTING, waiting for review final-1-ab in "
        "r--1-1-b--2-0-c by alice until 2026-01-01T12:05:00+00:00"
    )
    assert "r--1-0-a" not in text
