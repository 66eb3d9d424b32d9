"""Reviewer identity against a real server: with auth required, only a decision carrying a grant
signed by agentrun's key, for this run, review, decision, tenant and a reviewing role, and not
expired, is accepted. Every other one is refused by the update validator, audited, and the run
keeps waiting. Runs start only with a runner's grant."""

import asyncio
import base64
import dataclasses
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.identity import Grant, Role
from agentrun.contracts.states import FailureCategory
from agentrun.logic.grants import canonical_json, decision_digest, sign_grant
from agentrun.signing import (
    mint_review_grant,
)
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import GovernanceEventRow
from agentrun.workers.worker import build_worker
from tests.support.signed import TTL, SignedSetup, signed_setup, start_signed
from tests.support.waiting import eventually, wait_for_review


@dataclasses.dataclass
class Desk(SignedSetup):
    """The signed setup with its worker running: a client, and the CLI's environment."""

    runs: AgentRunClient
    env: dict[str, str]


@pytest.fixture
async def desk(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Desk]:
    setup = signed_setup(
        tmp_path,
        "signed",
        [
            ("alice", "alice", Role.REVIEWER, "acme"),
            ("runner", "ci-bot", Role.RUNNER, "acme"),
            ("alice-elsewhere", "alice", Role.REVIEWER, "globex"),
        ],
    )
    queue = setup.settings.task_queue
    env = {
        **os.environ,
        "AGENTRUN_DATA_DIR": str(tmp_path),
        "AGENTRUN_TASK_QUEUE": queue,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
    }
    async with build_worker(temporal_env.client, setup.settings):
        runs = AgentRunClient(temporal_env.client, task_queue=queue)
        yield Desk(**vars(setup), runs=runs, env=env)


async def _start(desk: Desk, agent: str) -> str:
    request = RunRequest(
        agent=agent, tenant_id="acme", input={"key": "k"}, request_id=f"run-{uuid.uuid4().hex}"
    )
    return await start_signed(desk.runs, desk.key, desk.holders["runner"], request)


def _approve(token: str | None, review_id: str) -> ReviewDecision:
    return ReviewDecision(
        decision=Decision.APPROVE, reviewer="alice", review_id=review_id, token=token
    )


def _grant(desk: Desk, holder: str, run_id: str, review_id: str, **when: datetime) -> str:
    return mint_review_grant(
        desk.key,
        desk.holders[holder],
        run_id=run_id,
        review_id=review_id,
        decision=Decision.APPROVE,
        comment=None,
        output=None,
        now=when.get("now", datetime.now(UTC)),
        ttl=TTL,
    )


def _forge(claims: Grant) -> str:
    """The token format with our key's id and these claims, signed by an attacker's key."""
    attacker = Ed25519PrivateKey.generate()
    body = base64.urlsafe_b64encode(canonical_json(claims.model_dump(mode="json")).encode())
    signing_input = f"ar1.{claims.kid}.{body.decode().rstrip('=')}"
    signature = base64.urlsafe_b64encode(attacker.sign(signing_input.encode()))
    return f"{signing_input}.{signature.decode().rstrip('=')}"


async def test_forged_expired_wrong_role_and_tenant_decisions_are_refused_and_audited(
    desk: Desk,
) -> None:
    run_id = await _start(desk, "reviewed")
    waiting = await wait_for_review(desk.runs, run_id)
    assert waiting.pending_review is not None
    review_id = waiting.pending_review.review_id
    now = datetime.now(UTC)

    claims = Grant(
        kid=desk.key.kid,
        sub="alice",
        role=Role.REVIEWER,
        tenant="acme",
        action="review",
        run_id=run_id,
        review_id=review_id,
        decision=Decision.APPROVE,
        payload_digest=decision_digest(None, None),
        exp=int((now + TTL).timestamp()),
        iat=int(now.timestamp()),
        jti=uuid.uuid4().hex,
    )
    refused = {
        "unsigned": (None, "signed decisions required"),
        # Right claims, right key id, signed by someone else's key.
        "forged": (_forge(claims), "signature"),
        "expired": (
            _grant(desk, "alice", run_id, review_id, now=now - timedelta(hours=1)),
            "expired",
        ),
        # A runner's claims signed with the real key: the validator checks the role itself.
        "wrong role": (
            sign_grant(claims.model_copy(update={"role": Role.RUNNER}), desk.key.private_key),
            "role 'runner'",
        ),
        "wrong tenant": (_grant(desk, "alice-elsewhere", run_id, review_id), "tenant"),
        "other run": (_grant(desk, "alice", "some-other-run", review_id), "run"),
    }
    for label, (token, why) in refused.items():
        with pytest.raises(AgentRunError, match="review refused") as caught:
            await desk.runs.review(run_id, _approve(token, review_id))
        assert why in str(caught.value), (label, str(caught.value))
        status = await desk.runs.status(run_id)
        assert status.state is RunState.REVIEWING, label  # still waiting
        assert status.reviews == []

    # Each refusal is an audit event, written by the worker whose validator refused it.
    engine = make_engine(desk.url)
    sessions = session_factory(engine)

    async def refusals() -> list[GovernanceEventRow]:
        with sessions() as session:
            return list(
                session.exec(
                    select(GovernanceEventRow).where(
                        col(GovernanceEventRow.run_id) == run_id,
                        col(GovernanceEventRow.kind) == "review_refused",
                    )
                ).all()
            )

    audited = await eventually(refusals, lambda rows: len(rows) == len(refused), timeout=10)
    assert all(row.actor == "alice" for row in audited)
    assert any("signature" in row.reason for row in audited)
    engine.dispose()

    # The genuine decision goes through.
    token = _grant(desk, "alice", run_id, review_id)
    ack = await desk.runs.review(run_id, _approve(token, review_id))
    assert ack.review_id == review_id
    assert (await desk.runs.result(run_id)).state is RunState.COMPLETED


async def test_a_used_grant_cannot_decide_the_next_gate(desk: Desk) -> None:
    run_id = await _start(desk, "reviewed")
    first = await wait_for_review(desk.runs, run_id)
    assert first.pending_review is not None
    changes = ReviewDecision(
        decision=Decision.REQUEST_CHANGES,
        reviewer="alice",
        comment="again",
        review_id=first.pending_review.review_id,
    )
    token = mint_review_grant(
        desk.key,
        desk.holders["alice"],
        run_id=run_id,
        review_id=first.pending_review.review_id,
        decision=Decision.REQUEST_CHANGES,
        comment="again",
        output=None,
        now=datetime.now(UTC),
        ttl=TTL,
    )
    await desk.runs.review(run_id, changes.model_copy(update={"token": token}))
    first_id = first.pending_review.review_id
    second = await eventually(
        lambda: desk.runs.status(run_id),
        lambda s: s.pending_review is not None and s.pending_review.review_id != first_id,
    )
    assert second.pending_review is not None
    replay = changes.model_copy(
        update={"token": token, "review_id": second.pending_review.review_id}
    )
    with pytest.raises(AgentRunError, match="grant refused"):
        await desk.runs.review(run_id, replay)
    assert (await desk.runs.status(run_id)).state is RunState.REVIEWING


async def test_a_run_without_a_runner_grant_does_not_start(desk: Desk) -> None:
    run_id = await desk.runs.start(RunRequest(agent="echo", tenant_id="acme", input={"key": "k"}))
    result = await desk.runs.result(run_id)
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.POLICY_DENIED
    assert result.failure.field == "grant"


async def _cli(desk: Desk, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "agentrun.cli", *args),
        env=desk.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_agentrun_run_signs_the_start_with_a_runner_key(desk: Desk) -> None:
    start = ("run", "echo", "--tenant", "acme", "--input", '{"key": "k"}', "--wait", "--json")
    code, out, err = await _cli(desk, *start, "--api-key", desk.secrets["runner"])
    assert code == 0, err
    assert json.loads(out)["state"] == "COMPLETED"

    code, _, err = await _cli(desk, *start, "--api-key", desk.secrets["alice"])
    assert code == 1
    assert "role 'reviewer'" in err
    assert "Traceback" not in err
