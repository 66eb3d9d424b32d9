"""The guardrail sandwich in a real run: a prompt injection in untrusted tool output tells the
agent to send private data outside; the lethal-trifecta rule stops the send, and the decision
is in the run's status, its stored record and the audit chain."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.states import FailureCategory
from agentrun.settings import Settings
from agentrun.store.audit import verify_chain
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import AuditEventRow, GovernanceEventRow
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.governance_agents import ATTACKER, SENT
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_review, wait_for_stored_state


@pytest.fixture
async def runs(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[AgentRunClient, str]]:
    url = migrate_data_dir(tmp_path)
    queue = f"guard-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    SENT.clear()
    async with build_worker(temporal_env.client, settings):
        yield AgentRunClient(temporal_env.client, task_queue=queue), url


def _stored_events(url: str, run_id: str) -> tuple[list[GovernanceEventRow], list[str]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            events = list(
                session.exec(
                    select(GovernanceEventRow).where(col(GovernanceEventRow.run_id) == run_id)
                ).all()
            )
            audit = [
                e.action
                for e in session.exec(
                    select(AuditEventRow).where(col(AuditEventRow.run_id) == run_id)
                ).all()
                if e.kind == "policy"
            ]
            report = verify_chain(session)
            assert report.ok, report.message
            return events, audit
    finally:
        engine.dispose()


async def test_exfiltration_after_injection_is_denied_and_audited(
    runs: tuple[AgentRunClient, str],
) -> None:
    client, url = runs
    run_id = await client.start(RunRequest(agent="triage-deny", input={"customer_id": "c-7"}))
    result = await client.result(run_id)

    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.POLICY_DENIED
    assert "lethal-trifecta (triage@2)" in result.failure.message
    assert SENT == []  # the send never reached the tool
    status = await client.status(run_id)
    assert [c.tool for c in status.tool_calls] == ["lookup_customer", "read_inbox"]
    assert (status.private_data_seen, status.untrusted_seen) == (True, True)
    [denied] = [e for e in status.governance if e.verdict == "deny"]
    assert (denied.rule_id, denied.checkpoint, denied.tool) == (
        "lethal-trifecta",
        "before_tool",
        "forward_email",
    )
    assert denied.policy_version == "2"
    assert denied.policy_digest

    await wait_for_stored_state(_sessions(url), run_id, "FAILED")
    stored, audit = _stored_events(url, run_id)
    assert {(e.rule_id, e.verdict) for e in stored} >= {("lethal-trifecta", "deny")}
    assert "before_tool:deny" in audit


async def test_exfiltration_escalates_to_a_person_who_rejects_it(
    runs: tuple[AgentRunClient, str],
) -> None:
    client, _ = runs
    run_id = await client.start(RunRequest(agent="triage-escalate", input={"customer_id": "c-8"}))
    waiting = await wait_for_review(client, run_id, kind="tool_approval")
    pending = waiting.pending_review
    assert pending is not None
    assert pending.tool == "forward_email"
    assert pending.tool_args is not None
    assert pending.tool_args["to"] == ATTACKER
    assert "lethal-trifecta" in pending.reason
    await client.review(
        run_id, ReviewDecision(decision=Decision.REJECT, reviewer="alice", comment="phishing")
    )
    result = await client.result(run_id)
    assert result.state is RunState.FAILED
    assert SENT == []


async def test_injection_in_untrusted_output_is_screened_before_the_model_sees_it(
    runs: tuple[AgentRunClient, str],
) -> None:
    client, _ = runs
    run_id = await client.start(RunRequest(agent="triage-screened", input={"customer_id": "c-9"}))
    waiting = await wait_for_review(client, run_id, kind="policy")
    assert waiting.pending_review is not None
    assert "injection-screen" in waiting.pending_review.reason
    # The model has not been asked again since the email came in.
    assert waiting.step == 2
    await client.review(run_id, ReviewDecision(decision=Decision.REJECT, reviewer="alice"))
    result = await client.result(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.POLICY_DENIED
    assert SENT == []


async def test_output_layer_redacts_contact_details_and_says_so(
    runs: tuple[AgentRunClient, str],
) -> None:
    client, _ = runs
    run_id = await client.start(RunRequest(agent="triage-report", input={"customer_id": "c-10"}))
    result = await client.result(run_id)
    assert result.state is RunState.COMPLETED
    assert result.output == {
        "summary": "Reach Ada Lovelace at [REDACTED:email]",
        "phone": "[REDACTED:phone]",
        "customer_id": "c-10",
    }
    status = await client.status(run_id)
    [redacted] = [e for e in status.governance if e.verdict == "redact"]
    assert redacted.checkpoint == "output"
    assert redacted.reason == "output redacted: email, phone"


async def test_tenant_rate_limit_counts_stored_runs(runs: tuple[AgentRunClient, str]) -> None:
    client, url = runs
    results = []
    for _ in range(3):
        run_id = await client.start(
            RunRequest(agent="triage-limited", tenant_id="busy", input={"customer_id": "c"})
        )
        results.append(await client.result(run_id))
        await wait_for_stored_state(_sessions(url), run_id, results[-1].state.value)
    assert [r.state for r in results] == [RunState.COMPLETED, RunState.COMPLETED, RunState.FAILED]
    failure = results[2].failure
    assert failure is not None
    assert failure.category is FailureCategory.POLICY_DENIED
    assert failure.field == "input"
    assert "tenant-rate" in failure.message
    # Another tenant is not limited by this one's runs.
    other = await client.start(
        RunRequest(agent="triage-limited", tenant_id="quiet", input={"customer_id": "c"})
    )
    assert (await client.result(other)).state is RunState.COMPLETED


def _sessions(url: str) -> Callable[[], Session]:
    return session_factory(make_engine(url))
