"""Long runs continue as new (docs/lifecycle.md): a fresh history, the same run.

A worker with a low ``continue_as_new_after_events`` makes short runs continue several times;
everything a user sees (status, record, reviews, budgets) must be as if they had not. The worker
keeps no run in its cache, so every workflow task replays the execution it belongs to.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.carry import KEEP_RECENT
from agentrun.contracts.review import GateKind
from agentrun.contracts.states import FailureCategory
from agentrun.settings import Settings
from agentrun.store import repository
from agentrun.store.db import make_engine, session_factory
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.continued import carried_in, executions
from tests.support.long_agents import (
    BUDGET_STEPS,
    CALLS_PER_STEP,
    HAUL_CALLS,
    HAUL_STEPS,
    LONG_BUDGET,
    LONG_HAUL,
)
from tests.support.waiting import eventually, wait_for_review, wait_for_stored_state

AFTER_EVENTS = 60
AGENT_MODULES = (*TEST_AGENT_MODULES, "tests.support.long_agents")


@pytest.fixture
async def long_runs(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[AgentRunClient]:
    """A worker of its own (on the session's store) whose runs continue every ~60 events."""
    queue = f"long-{uuid.uuid4().hex[:8]}"
    own = settings.model_copy(
        update={
            "task_queue": queue,
            "agent_modules": AGENT_MODULES,
            "continue_as_new_after_events": AFTER_EVENTS,
            "max_cached_workflows": 0,
        }
    )
    async with build_worker(temporal_env.client, own):
        yield AgentRunClient(temporal_env.client, task_queue=queue)


async def test_a_continued_run_is_the_same_run(
    long_runs: AgentRunClient, settings: Settings
) -> None:
    runs = long_runs
    run_id = await runs.start(RunRequest(agent=LONG_HAUL, request_id=f"haul-{uuid.uuid4().hex}"))
    gate = await wait_for_review(runs, run_id, GateKind.TOOL_APPROVAL)
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    waiting = await wait_for_review(runs, run_id, GateKind.FINAL, timeout=60)

    chain = await executions(runs.temporal, run_id)
    assert len(chain) >= 3, "60 reads at 60 events an execution: several executions"
    started = chain[0].events[0].workflow_execution_started_event_attributes
    # The status of the latest execution is the whole run's, from its first transition on.
    assert waiting.execution_id == started.first_execution_run_id
    assert waiting.state is RunState.REVIEWING
    assert [t.target for t in waiting.transitions] == [
        RunState.INIT, RunState.PREPARING, RunState.EXECUTING, RunState.REVIEWING,
        RunState.EXECUTING, RunState.REVIEWING,
    ]  # fmt: skip
    # The same transitions; a time taken in a workflow task that resolved a local activity can
    # read some tens of ms apart on two replays of a loaded worker with no cache (as in
    # tests/cli/test_cli.py::_same_path), so times are compared to within a second.
    carried = waiting.transitions[: len(gate.transitions)]
    assert [(t.source, t.target, t.reason) for t in carried] == [
        (t.source, t.target, t.reason) for t in gate.transitions
    ]
    pairs = zip(carried, gate.transitions, strict=True)
    assert all(abs((a.at - b.at).total_seconds()) < 1 for a, b in pairs)
    ats = [t.at for t in waiting.transitions]
    assert ats == sorted(ats)
    assert waiting.step == HAUL_STEPS + 2
    assert waiting.usage.model_calls == waiting.step
    assert waiting.usage.tool_calls == HAUL_CALLS
    assert waiting.usage.tokens.total > gate.usage.tokens.total
    assert waiting.budget is not None
    assert waiting.budget.max_steps == 20
    assert waiting.private_data_seen, "the trust label the reads set is carried"
    # Only the latest calls are carried; the status says how many came before.
    assert waiting.tool_calls_earlier > 0
    assert len(waiting.tool_calls) <= KEEP_RECENT + CALLS_PER_STEP
    assert waiting.tool_calls_earlier + len(waiting.tool_calls) == HAUL_CALLS
    assert [r.kind for r in waiting.reviews] == [GateKind.TOOL_APPROVAL]
    assert waiting.governance[0].event_id == "p1"
    # Review ids go on numbering, bound to the run's first execution.
    assert gate.pending_review is not None
    assert waiting.pending_review is not None
    assert gate.pending_review.review_id.startswith("tool_approval-1-")
    assert waiting.pending_review.review_id.startswith("final-2-")

    await runs.review(
        run_id,
        ReviewDecision(
            decision=Decision.APPROVE, reviewer="alice", review_id=waiting.pending_review.review_id
        ),
    )
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED
    assert result.output == {"last": f"value-s{HAUL_STEPS - 1}-c{CALLS_PER_STEP - 1}"}
    assert result.usage.tool_calls == HAUL_CALLS

    await _assert_recorded(settings, run_id, waiting.execution_id, result.usage.tokens.total)
    # Listed once, as it ended, not once per execution.
    listed = await eventually(
        lambda: runs.list_runs(agent=LONG_HAUL, limit=500),
        lambda found: [r.state for r in found if r.run_id == run_id] == ["COMPLETED"],
    )
    assert [r.execution_status for r in listed if r.run_id == run_id] == ["COMPLETED"]


async def _assert_recorded(
    settings: Settings, run_id: str, execution_id: str | None, tokens: int
) -> None:
    """The record in the store holds every call of every execution, once."""
    engine = make_engine(settings.effective_database_url())
    sessions = session_factory(engine)
    try:
        await wait_for_stored_state(sessions, run_id, "COMPLETED")
        with sessions() as session:
            calls = repository.list_tool_calls(session, run_id)
            transitions = repository.list_transitions(session, run_id)
            reviews = repository.list_reviews(session, run_id)
            row = repository.get_run(session, run_id)
    finally:
        engine.dispose()
    expected = {f"{run_id}/1/0"} | {
        f"{run_id}/{step}/{index}"
        for step in range(2, HAUL_STEPS + 2)
        for index in range(CALLS_PER_STEP)
    }
    assert {c.idempotency_key for c in calls} == expected
    assert len(calls) == HAUL_CALLS
    assert [t.target for t in transitions] == [
        "INIT", "PREPARING", "EXECUTING", "REVIEWING", "EXECUTING", "REVIEWING", "COMPLETED"
    ]  # fmt: skip
    assert [r.kind for r in reviews] == [GateKind.TOOL_APPROVAL, GateKind.FINAL]
    assert row is not None
    assert row.execution_id == execution_id
    assert row.input_tokens + row.output_tokens == tokens


async def test_budgets_and_their_extensions_are_carried(long_runs: AgentRunClient) -> None:
    runs = long_runs
    run_id = await runs.start(RunRequest(agent=LONG_BUDGET, request_id=f"bud-{uuid.uuid4().hex}"))
    first = await wait_for_review(runs, run_id, GateKind.BUDGET, timeout=60)
    assert first.step == BUDGET_STEPS
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    second = await eventually(
        lambda: runs.status(run_id),
        lambda s: s.pending_review is not None and len(s.reviews) == 1,
        timeout=60,
    )
    assert second.step == 2 * BUDGET_STEPS
    # Some execution began after the extension, carrying it with the steps taken so far.
    carried = [carried_in(h, runs.temporal) for h in await executions(runs.temporal, run_id)]
    extended = [
        c for c in carried if c is not None and c.ledger.budget.max_steps == 2 * BUDGET_STEPS
    ]
    assert extended, "no execution began between the extension and the second breach"
    assert all(c.ledger.granted.max_steps == BUDGET_STEPS for c in extended)
    assert all(BUDGET_STEPS <= c.step <= 2 * BUDGET_STEPS for c in extended)
    assert any(c.step < 2 * BUDGET_STEPS for c in extended), [c.step for c in extended]

    await runs.review(
        run_id, ReviewDecision(decision=Decision.REJECT, reviewer="alice", comment="enough")
    )
    result = await runs.result(run_id)
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.BUDGET_EXCEEDED
    assert f"step limit reached: {2 * BUDGET_STEPS} model calls" in result.failure.message
    assert result.usage.model_calls == 2 * BUDGET_STEPS


async def test_a_forged_carry_is_refused(long_runs: AgentRunClient, runs: AgentRunClient) -> None:
    """What a run carries, copied out of its history into a new start: refused before it
    prepares, calls or records anything (it would skip the start grant and the input check)."""
    source = await long_runs.start(
        RunRequest(agent=LONG_BUDGET, request_id=f"src-{uuid.uuid4().hex}")
    )
    await wait_for_review(long_runs, source, GateKind.BUDGET, timeout=60)
    chain = await executions(long_runs.temporal, source)
    stolen = next(c for c in (carried_in(h, long_runs.temporal) for h in chain) if c is not None)
    await long_runs.cancel(source)

    forged = await runs.start(
        RunRequest(agent=LONG_BUDGET, request_id=f"forged-{uuid.uuid4().hex}", carried=stolen)
    )
    result = await runs.result(forged)
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.POLICY_DENIED
    assert result.failure.field == "carried"
    status = await runs.status(forged)
    assert status.step == 0
    assert status.tool_calls == []
    assert [t.target for t in status.transitions] == [
        RunState.INIT, RunState.PREPARING, RunState.FAILED
    ]  # fmt: skip
    history = await runs.temporal.get_workflow_handle(forged).fetch_history()
    kinds = {event.event_type for event in history.events}
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds
    assert EventType.EVENT_TYPE_MARKER_RECORDED not in kinds  # not even PREPARING's


def test_requests_without_a_carry_dump_as_before() -> None:
    """Start grants digest the request's dump; runs in flight verify theirs on replay."""
    request = RunRequest(agent="echo", input={"key": "k"})
    assert "carried" not in request.model_dump()
    assert "carried" not in request.model_dump_json()
    assert RunRequest.model_validate_json(request.model_dump_json()) == request
