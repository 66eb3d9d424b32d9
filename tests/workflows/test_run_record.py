"""A run's full record in the store, on SQLite and on PostgreSQL, after the same run."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.settings import Settings
from agentrun.store import repository
from agentrun.store.audit import verify_chain
from agentrun.store.db import make_engine, session_factory
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.waiting import wait_for_review, wait_for_stored_state


@pytest.fixture
async def recorded(
    temporal_env: WorkflowEnvironment, store_url: str, tmp_path: Path
) -> AsyncIterator[AgentRunClient]:
    queue = f"record-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        data_dir=tmp_path, database_url=store_url, agent_modules=TEST_AGENT_MODULES,
        task_queue=queue,
    )  # fmt: skip
    async with build_worker(temporal_env.client, settings):
        yield AgentRunClient(temporal_env.client, task_queue=queue)


async def test_full_run_record(recorded: AgentRunClient, store_url: str) -> None:
    runs = recorded
    # Order 1002's carrier answers 503 once: the record must keep both attempts.
    run_id = await runs.start(
        RunRequest(
            agent="refund",
            tenant_id="acme",
            input={"order_id": "1002", "reason": "late", "amount": 20},
        )
    )
    waiting = await wait_for_review(runs, run_id, "tool_approval")  # the customer email
    engine = make_engine(store_url)
    sessions = session_factory(engine)
    # Flushed when the run started waiting for its review.
    await wait_for_stored_state(sessions, run_id, "REVIEWING")
    with sessions() as session:
        row = repository.get_run(session, run_id)
        assert row is not None
        assert row.state == "REVIEWING"
        assert len(repository.list_transitions(session, run_id)) == len(waiting.transitions)
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    assert (await runs.result(run_id)).state is RunState.COMPLETED
    status = await runs.status(run_id)
    await wait_for_stored_state(sessions, run_id, "COMPLETED")

    with sessions() as session:
        row = repository.get_run(session, run_id)
        assert row is not None
        assert (row.state, row.agent, row.version, row.tenant_id) == (
            "COMPLETED",
            "refund",
            "2",
            "acme",
        )
        assert row.trace_id == status.trace_id
        assert row.finished_at is not None
        assert row.input_tokens == status.usage.tokens.input_tokens
        assert row.output_tokens == status.usage.tokens.output_tokens
        assert row.cost_usd == pytest.approx(status.usage.cost_usd)
        assert row.cost_usd > 0

        transitions = repository.list_transitions(session, run_id)
        assert [(t.seq, t.source, t.target) for t in transitions] == [
            (i, t.source.value if t.source else None, t.target.value)
            for i, t in enumerate(status.transitions)
        ]

        attempts = [
            (c.tool, c.attempt, c.status, c.error_class, c.retryable)
            for c in repository.list_tool_calls(session, run_id)
        ]
        assert ("get_shipping_status", 1, "error", "http_503", True) in attempts
        assert ("get_shipping_status", 2, "success", None, None) in attempts
        assert len(attempts) == 6  # five calls, one of them tried twice

        model_calls = repository.list_model_calls(session, run_id)
        assert [m.turn for m in model_calls] == [1, 2, 3, 4, 5, 6]
        assert sum(m.input_tokens for m in model_calls) == status.usage.tokens.input_tokens
        assert sum(m.cost_usd for m in model_calls) == pytest.approx(status.usage.model_cost_usd)

        [review] = repository.list_reviews(session, run_id)
        assert (review.reviewer, review.decision, review.kind) == (
            "alice",
            "approve",
            "tool_approval",
        )
        assert review.latency_ms is not None

        events = repository.list_audit_events(session, run_id)
        kinds = [e.kind for e in events]
        assert kinds.count("tool_call") == 6
        assert kinds.count("model_call") == 6
        assert kinds.count("review") == 1
        assert all(e.trace_id in (None, status.trace_id) for e in events)
        report = verify_chain(session)
        assert report.ok, report.message
    engine.dispose()
