"""Teams of agents (docs/teams.md): the sample teams complete, children share their parent's
budget, a child's review shows on its parent, cancelling a parent cancels its children, and the
whole team is one trace."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from agentrun.agents.teams.fanout import Trip
from agentrun.client import AgentRunClient, connect
from agentrun.contracts import Decision, ReviewDecision, RunRequest
from agentrun.contracts.runs import ParentLink, RunStatus
from agentrun.contracts.states import FailureCategory, RunState
from agentrun.observability.telemetry import tracing_interceptors
from tests.support import team_agents
from tests.support.store import migrate_data_dir
from tests.support.team_worker import team_worker
from tests.support.waiting import eventually, wait_for_state


@dataclass
class Team:
    runs: AgentRunClient
    exporter: InMemorySpanExporter


@pytest.fixture
async def team(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Team]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # this test's own: the team's spans, and only them
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = await connect(
        temporal_env.client.service_client.config.target_host,
        interceptors=tracing_interceptors(provider),
    )
    migrate_data_dir(tmp_path)
    async with team_worker(client, tmp_path) as (runs, _):
        yield Team(runs, exporter)
    provider.shutdown()


async def _start(runs: AgentRunClient, agent: str, **given: object) -> str:
    return await runs.start(RunRequest(agent=agent, input=dict(given)))


async def _children(runs: AgentRunClient, status: RunStatus) -> list[RunStatus]:
    return [await runs.status(child.run_id) for child in status.children]


async def test_a_pipeline_runs_its_agents_one_after_another(team: Team) -> None:
    runs = team.runs
    run_id = await _start(runs, "support-pipeline", message="I was charged twice this month")
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output is not None
    assert result.output["category"] == "billing"
    assert "within 5 working days" in result.output["reply"]
    status = await runs.status(run_id)
    assert [c.agent for c in status.children] == ["ticket-classifier", "reply-writer"]
    assert [c.tool for c in status.children] == ["ask_ticket_classifier", "ask_reply_writer"]
    classifier, writer = await _children(runs, status)
    assert classifier.state is writer.state is RunState.COMPLETED
    # One after the other: the writer starts once the classifier has answered.
    assert writer.transitions[0].at >= classifier.transitions[-1].at
    for child in (classifier, writer):
        assert child.parent_run_id == run_id
        assert child.root_run_id == run_id
        assert child.tenant_id == status.tenant_id
        assert child.user_id == status.user_id
    # The parent's spend is its own plus its children's, each counted once.
    own_and_children = status.usage.model_calls
    assert own_and_children == 3 + classifier.usage.model_calls + writer.usage.model_calls
    assert {call.tool for call in status.tool_calls} == {
        "ask_ticket_classifier",
        "ask_reply_writer",
    }
    assert {call.idempotency_key for call in status.tool_calls} == {
        classifier.run_id,
        writer.run_id,
    }


async def test_a_hand_off_makes_the_childs_answer_the_runs_own(team: Team) -> None:
    runs = team.runs
    run_id = await _start(runs, "front-desk", message="My parcel did not arrive")
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {
        "category": "shipping",
        "reply": "Thank you for writing. Parcels arrive within 3 working days; the tracking "
        "link is in your email.",
    }
    status = await runs.status(run_id)
    assert [c.handoff for c in status.children] == [True]
    assert status.step == 2  # the script's third step (its own final answer) never ran


async def test_a_fan_out_runs_its_children_together(team: Team) -> None:
    runs = team.runs
    trip = Trip(city="Lisbon", nights=3)
    run_id = await runs.start(RunRequest(agent="trip-planner", input=trip.model_dump()))
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {
        "flight": "direct flight to Lisbon, departs 08:40",
        "hotel": "Hotel Central Lisbon, 3 nights",
        "weather": "dry and mild in Lisbon",
    }
    children = await _children(runs, await runs.status(run_id))
    assert [c.agent for c in children] == ["flight-finder", "hotel-finder", "weather-reporter"]
    # Together: every child started before any of them ended.
    starts = [c.transitions[0].at for c in children]
    ends = [c.transitions[-1].at for c in children]
    assert max(starts) < min(ends)
    # Each was given a third of what the planner had left (20,000 tokens, less its first call).
    shares = [c.budget.max_tokens or 0 if c.budget else 0 for c in children]
    assert max(shares) - min(shares) <= 1  # equal, but for rounding down
    assert sum(shares) <= 20_000
    assert min(shares) > 6_000


async def test_a_supervisor_has_its_workers_answer_checked(team: Team) -> None:
    runs = team.runs
    run_id = await _start(runs, "editor", topic="Temporal")
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output is not None
    assert result.output["verdict"] == "verified"
    assert "resumes where it stopped" in result.output["draft"]


async def test_the_parents_budget_caps_what_its_children_spend(team: Team) -> None:
    runs = team.runs
    # Alone, one spender spends more than the lead's whole budget.
    alone = await runs.result(await _start(runs, "spender", job="alone"))
    assert alone.state is RunState.COMPLETED
    budget = team_agents.spend_lead.spec.budget.max_tokens
    assert budget is not None
    assert alone.usage.tokens.total > budget

    run_id = await _start(runs, "spend-lead", job="audit")
    result = await runs.result(run_id)
    status = await runs.status(run_id)
    children = await _children(runs, status)
    assert len(children) == 3
    for child in children:
        assert child.state is RunState.FAILED
        assert child.failure is not None
        assert child.failure.category is FailureCategory.BUDGET_EXCEEDED
        assert child.budget is not None
        assert child.budget.max_tokens is not None
    # The shares add up to what the lead had left after its first model call.
    own_first_call = status.usage.tokens.total - sum(c.usage.tokens.total for c in children)
    shares = sum(c.budget.max_tokens or 0 for c in children if c.budget)
    assert shares <= budget
    # A run stops at its first call over its budget, so each child may pass its share by at
    # most that one call: never by more.
    for child in children:
        assert child.budget is not None
        largest = max(_call_tokens(child))
        assert child.usage.tokens.total <= (child.budget.max_tokens or 0) + largest
    spent = sum(c.usage.tokens.total for c in children)
    assert spent <= budget + sum(max(_call_tokens(c)) for c in children)
    assert spent < 3 * alone.usage.tokens.total / 2  # far below what three alone would spend
    assert own_first_call > 0
    # The parent's status counts its children's spend; the lead's budget is then spent too.
    assert status.usage.tokens.total == own_first_call + spent
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.BUDGET_EXCEEDED


def _call_tokens(status: RunStatus) -> list[int]:
    """Tokens of each model call of a scripted run: its prompt grows by one exchange a step."""
    calls = status.usage.model_calls
    assert calls > 0
    # Per-call tokens are not in the status; their mean bounds the largest from below, and the
    # last call is the largest (the conversation only grows): bound it by twice the mean.
    return [2 * status.usage.tokens.total // calls]


async def test_a_childs_review_shows_on_its_parent_and_ancestors(team: Team) -> None:
    runs = team.runs
    run_id = await _start(runs, "nested-lead", job="invoice 7")
    root = await eventually(
        lambda: runs.status(run_id),
        lambda s: bool(s.children) and s.children[0].pending_review is not None,
    )
    (lead,) = root.children
    assert lead.agent == "review-lead"
    assert lead.pending_review is not None
    assert lead.pending_review.reviewers == ("alice",)
    waiting = lead.waiting_on
    assert waiting is not None
    assert waiting.startswith(lead.run_id)
    assert root.state is RunState.EXECUTING
    grandchild = await runs.status(waiting)
    assert grandchild.state is RunState.REVIEWING
    assert grandchild.pending_review is not None
    assert grandchild.pending_review.review_id == lead.pending_review.review_id
    assert grandchild.root_run_id == run_id
    assert grandchild.parent_run_id == lead.run_id
    await runs.review(waiting, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {"answer": {"noted": "noted invoice 7"}}
    final = await runs.status(run_id)
    assert final.children[0].pending_review is None


async def test_cancelling_a_parent_cancels_its_children(team: Team) -> None:
    runs = team.runs
    run_id = await _start(runs, "review-lead", job="cancel me")
    parent = await eventually(
        lambda: runs.status(run_id),
        lambda s: bool(s.children) and s.children[0].pending_review is not None,
    )
    child_id = parent.children[0].run_id
    await runs.cancel(run_id)
    cancelled = await wait_for_state(runs, run_id, RunState.CANCELLED)
    assert cancelled.failure is not None
    child = await wait_for_state(runs, child_id, RunState.CANCELLED)
    assert child.pending_review is None


async def test_a_child_failure_is_a_tool_error_for_its_parent(team: Team) -> None:
    runs = team.runs
    run_id = await _start(runs, "review-lead", job="reject me")
    parent = await eventually(
        lambda: runs.status(run_id),
        lambda s: bool(s.children) and s.children[0].pending_review is not None,
    )
    child_id = parent.children[0].run_id
    await runs.review(
        child_id, ReviewDecision(decision=Decision.REJECT, reviewer="alice", comment="no")
    )
    result = await runs.result(run_id)
    # The parent goes on with the error as the tool's answer and ends on its own terms.
    assert result.state is RunState.COMPLETED, result.failure
    status = await runs.status(run_id)
    (call,) = status.tool_calls
    assert call.status == "error"
    assert call.error_class == FailureCategory.REVIEW_REJECTED.value
    assert call.idempotency_key == child_id
    assert status.children[0].state is RunState.FAILED


async def test_a_run_cannot_claim_a_parent(team: Team) -> None:
    runs = team.runs
    forged = ParentLink(
        run_id="someone-else",
        root_run_id="someone-else",
        agent="review-lead",
        version="1",
        tool="ask_needs_approval",
        depth=1,
    )
    run_id = await runs.start(RunRequest(agent="spender", input={"job": "x"}, parent=forged))
    result = await runs.result(run_id)
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.POLICY_DENIED
    assert result.failure.field == "parent"


async def test_the_whole_team_is_one_trace(team: Team) -> None:
    runs = team.runs
    run_id = await _start(runs, "editor", topic="Temporal")
    assert (await runs.result(run_id)).state is RunState.COMPLETED
    status = await runs.status(run_id)
    children = await _children(runs, status)
    assert len(children) == 2
    assert {child.trace_id for child in children} == {status.trace_id}
    await asyncio.sleep(0)  # spans are exported as they end (SimpleSpanProcessor)
    spans = team.exporter.get_finished_spans()
    runs_traced = {
        span.attributes.get("temporalWorkflowID")
        for span in spans
        if span.name == "RunWorkflow:AgentRun" and span.attributes
    }
    assert {run_id, *(c.run_id for c in children)} <= runs_traced
    team_runs = {run_id, *(c.run_id for c in children)}
    traces = {
        format(span.context.trace_id, "032x")
        for span in spans
        if span.context
        and span.attributes
        and span.attributes.get("temporalWorkflowID") in team_runs
        and not span.name.startswith(("QueryWorkflow:", "HandleQuery:"))
    }
    assert traces == {status.trace_id}
