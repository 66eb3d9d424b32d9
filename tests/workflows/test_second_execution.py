"""A run id runs once, and its grants with it (issue 17, item 4).

An outside red team finished a run, then started a second execution under the same workflow id
with a raw Temporal client (``ALLOW_DUPLICATE``), copying the start grant and the reviewer's
decision out of the first execution's history: the side-effecting tool ran twice. Now the second
execution is refused in PREPARING before it writes or calls anything, whether the worker learns
of the first from its store or from Temporal's visibility, and review ids carry a tag of their
execution so a decision signed for one execution names a review no other execution has.
"""

import asyncio
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from agentrun.activities.prepare import PrepareActivities
from agentrun.agents.registry import AgentRegistry
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.identity import Role
from agentrun.contracts.names import AGENT_RUN_WORKFLOW
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import FailureCategory
from agentrun.signing import mint_review_grant
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import RunRow, ToolCallRow
from agentrun.workers.worker import build_worker
from agentrun.workflows.review import review_id_for
from tests.support.signed import TTL, SignedSetup, signed_setup, start_signed
from tests.support.waiting import wait_for_review, wait_for_stored_state


@dataclasses.dataclass
class Signed(SignedSetup):
    runs: AgentRunClient
    client: Client


@pytest.fixture
async def signed(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Signed]:
    setup = signed_setup(
        tmp_path,
        "once",
        [("alice", "alice", Role.REVIEWER, "acme"), ("runner", "ci-bot", Role.RUNNER, "acme")],
    )
    async with build_worker(temporal_env.client, setup.settings):
        runs = AgentRunClient(temporal_env.client, task_queue=setup.settings.task_queue)
        yield Signed(**vars(setup), runs=runs, client=temporal_env.client)


def _approval(signed: Signed, run_id: str, review_id: str) -> ReviewDecision:
    token = mint_review_grant(
        signed.key,
        signed.holders["alice"],
        run_id=run_id,
        review_id=review_id,
        decision=Decision.APPROVE,
        comment=None,
        output=None,
        now=datetime.now(UTC),
        ttl=TTL,
    )
    return ReviewDecision(
        decision=Decision.APPROVE, reviewer="alice", review_id=review_id, token=token
    )


def _request() -> RunRequest:
    return RunRequest(
        agent="reviewed",
        tenant_id="acme",
        input={"key": uuid.uuid4().hex},
        request_id=f"run-{uuid.uuid4().hex}",
    )


async def _first_run(signed: Signed) -> tuple[str, RunStatus, RunRequest]:
    """A signed run of ``reviewed`` (one tool call, then a review), approved and finished."""
    request = _request()
    run_id = await start_signed(signed.runs, signed.key, signed.holders["runner"], request)
    waiting = await wait_for_review(signed.runs, run_id)
    assert waiting.pending_review is not None
    await signed.runs.review(run_id, _approval(signed, run_id, waiting.pending_review.review_id))
    assert (await signed.runs.result(run_id)).state is RunState.COMPLETED
    # What the second execution is started with: the first one's input, grant and all.
    started = await signed.client.get_workflow_handle(run_id).fetch_history()
    attributes = started.events[0].workflow_execution_started_event_attributes
    [payload] = attributes.input.payloads
    copied = signed.client.data_converter.payload_converter.from_payload(payload, RunRequest)
    return run_id, await signed.runs.status(run_id), copied


async def test_a_review_id_names_its_execution_and_a_guessed_one_is_refused(
    signed: Signed,
) -> None:
    request = _request()
    run_id = await start_signed(signed.runs, signed.key, signed.holders["runner"], request)
    waiting = await wait_for_review(signed.runs, run_id)
    pending = waiting.pending_review
    assert pending is not None
    assert waiting.execution_id is not None
    assert re.fullmatch(r"final-1-[0-9a-f]{16}", pending.review_id)
    assert pending.review_id == review_id_for("final", 1, waiting.execution_id)
    # Signed by the right reviewer for this run, but for a review id of another execution (as a
    # copy from an earlier execution's history would be) or a guessed one: refused.
    for review_id in (review_id_for("final", 1, str(uuid.uuid4())), "final-1"):
        decision = _approval(signed, run_id, review_id).model_copy(
            update={"review_id": pending.review_id}
        )
        with pytest.raises(AgentRunError, match="grant refused"):
            await signed.runs.review(run_id, decision)
    assert (await signed.runs.status(run_id)).state is RunState.REVIEWING
    await signed.runs.review(run_id, _approval(signed, run_id, pending.review_id))
    assert (await signed.runs.result(run_id)).state is RunState.COMPLETED


async def test_a_second_execution_of_a_finished_run_is_refused_before_any_tool(
    signed: Signed,
) -> None:
    run_id, first, copied = await _first_run(signed)
    assert copied.grant is not None  # the start grant, copied out of history
    handle = await signed.client.start_workflow(
        AGENT_RUN_WORKFLOW,
        copied,
        id=run_id,
        task_queue=signed.settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    assert handle.first_execution_run_id != first.execution_id
    with pytest.raises(WorkflowFailureError):  # not a wait for a review: it never gets there
        await asyncio.wait_for(handle.result(), 30)
    second = await signed.runs.status(run_id)
    assert second.execution_id == handle.first_execution_run_id
    assert second.failure is not None
    assert second.failure.category is FailureCategory.POLICY_DENIED
    assert "already ran" in second.failure.message
    assert first.execution_id is not None
    assert first.execution_id in second.failure.message
    assert second.tool_calls == []
    assert second.reviews == []

    # The record is still the first execution's, untouched: one tool call, COMPLETED.
    engine = make_engine(signed.url)
    sessions = session_factory(engine)
    try:
        await wait_for_stored_state(sessions, run_id, "COMPLETED")
        with sessions() as session:
            row = session.get(RunRow, run_id)
            assert row is not None
            assert (row.state, row.execution_id) == ("COMPLETED", first.execution_id)
            calls = session.exec(select(ToolCallRow).where(col(ToolCallRow.run_id) == run_id)).all()
            assert [c.tool for c in calls] == ["echo"]
    finally:
        engine.dispose()


async def test_without_a_store_temporal_visibility_names_the_earlier_execution(
    signed: Signed,
) -> None:
    run_id, first, _ = await _first_run(signed)
    assert first.execution_id is not None
    prepare = PrepareActivities(AgentRegistry(), client=signed.client)
    assert await prepare.owner(run_id, first.execution_id) is None
    refusal = await prepare.owner(run_id, str(uuid.uuid4()))
    assert refusal is not None
    assert first.execution_id in refusal
    assert "already ran" in refusal
    fresh = await prepare.owner(f"run-{uuid.uuid4().hex}", str(uuid.uuid4()))
    assert fresh is None
