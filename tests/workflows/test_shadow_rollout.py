"""A shadow rollout: every run stays on stable and returns stable's answer, while a copy of it
runs the candidate with side effects dry; the copies' figures are analysed like a canary's, and
traffic moves only when a person promotes. The shop's database counts the refunds: one per run
that was asked for one, none from a copy. A real dev server, an in-process worker, SQLite.
"""

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from agentrun.agents.refund.db import count_emails, db_path
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest
from agentrun.contracts.evaluation import EvalBinding, RunMode
from agentrun.contracts.identity import Role
from agentrun.contracts.names import QUERY_ROLLOUT_STATUS, ROLLOUT_WORKFLOW, SHADOW_RUN_SUFFIX
from agentrun.contracts.rollout import (
    Phase,
    RolloutRequest,
    RolloutStatus,
    Split,
    SplitChange,
    Strategy,
    Thresholds,
)
from agentrun.contracts.runs import RunStatus
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import AuditEventRow
from agentrun.store.rollouts import write_split
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.release_agents import RELEASE
from tests.support.shadow_agents import CANDIDATE, STABLE
from tests.support.signed import signed_setup, start_signed
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually
from tests.workflows.test_rollout import Served, cli, store

AGENT = "refund"
ROLLOUT_ID = f"rollout-{AGENT}"  # what the CLI's commands address
SMALL = {"order_id": "1001", "reason": "arrived broken", "amount": 1}


@pytest.fixture
async def served(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Served]:
    migrate_data_dir(tmp_path)
    queue = f"shadow-{uuid.uuid4().hex[:8]}"
    modules = (*TEST_AGENT_MODULES, "tests.support.shadow_agents")
    settings = Settings(data_dir=tmp_path, agent_modules=modules, task_queue=queue)
    async with build_worker(temporal_env.client, settings):
        yield Served(
            temporal_env.client, AgentRunClient(temporal_env.client, task_queue=queue), settings
        )


@dataclass
class Traffic:
    runs: list[str]


def runs_that_refunded(data_dir: Path) -> list[str]:
    """The run of each refund in the shop's database, from its idempotency key (run/step/call)."""
    with contextlib.closing(sqlite3.connect(db_path(data_dir))) as shop:
        keys = shop.execute("SELECT idempotency_key FROM refunds").fetchall()
    return [key.split("/")[0] for (key,) in keys]


async def routed_run(runs: AgentRunClient) -> RunStatus:
    """One unpinned run, once PREPARING has given it a version. A run the workers' routing has
    not caught up with yet gets the agent's default (which waits for a person): cancelled."""
    run_id = await runs.start(RunRequest(agent=AGENT, input=SMALL))
    status = await eventually(lambda: runs.status(run_id), lambda s: s.version is not None)
    if status.version_reason == "default":
        await runs.cancel(run_id)
    return status


@contextlib.asynccontextmanager
async def traffic(runs: AgentRunClient) -> AsyncIterator[Traffic]:
    """Unpinned small refunds, two at a time, until the block ends; each awaited to its end."""
    seen = Traffic(runs=[])
    stop = asyncio.Event()

    async def lane() -> None:
        while not stop.is_set():
            run_id = await runs.start(RunRequest(agent=AGENT, input=SMALL))
            seen.runs.append(run_id)
            await runs.result(run_id)

    lanes = [asyncio.create_task(lane()) for _ in range(2)]
    try:
        yield seen
    finally:
        stop.set()
        await asyncio.gather(*lanes)


async def rollout_status(client: Client) -> RolloutStatus:
    handle = client.get_workflow_handle(ROLLOUT_ID)
    status: RolloutStatus = await handle.query(QUERY_ROLLOUT_STATUS, result_type=RolloutStatus)
    return status


async def copy_of(client: Client, run_id: str) -> WorkflowExecutionStatus | None:
    try:
        described = await client.get_workflow_handle(run_id + SHADOW_RUN_SUFFIX).describe()
    except RPCError:
        return None
    return described.status


async def test_shadow_copies_run_the_candidate_dry_and_traffic_moves_on_promote(
    served: Served,
) -> None:
    data_dir = served.settings.data_dir
    emails_before = count_emails(data_dir)
    request = RolloutRequest(
        agent=AGENT,
        stable=STABLE,
        candidate=CANDIDATE,
        strategy=Strategy.SHADOW,
        window=timedelta(seconds=3),
        min_runs=3,
        # p95 of a handful of runs on a shared box is noise (the rules: tests/logic).
        thresholds=Thresholds(max_p95_increase=10.0, max_cost_increase=10.0),
        started_by="release-manager",
    )
    await served.client.start_workflow(
        ROLLOUT_WORKFLOW, request, id=ROLLOUT_ID, task_queue=served.settings.task_queue
    )
    first = await eventually(
        lambda: routed_run(served.runs), lambda s: s.version_reason != "default", timeout=20
    )
    async with traffic(served.runs) as seen:
        waiting = await eventually(
            lambda: rollout_status(served.client),
            lambda s: s.phase is not Phase.RUNNING,
            timeout=90,
        )
    assert waiting.phase is Phase.AWAITING_PROMOTION, waiting.events
    assert waiting.percent == 100
    analysis = waiting.last_analysis
    assert analysis is not None
    assert analysis.candidate.version == CANDIDATE
    assert analysis.candidate.runs >= 3
    assert analysis.candidate.failed == 0

    primaries = [first.run_id, *seen.runs]
    for run_id in primaries:
        status = await served.runs.status(run_id)
        assert (status.state, status.version) == ("COMPLETED", STABLE), status
        assert status.version_reason == f"rollout {ROLLOUT_ID} stage 1/1 (100 %): stable, shadowed"
        # Every copy ends; the candidate ran the same request, on dry side effects.
        await eventually(
            lambda run_id=run_id: copy_of(served.client, run_id),  # type: ignore[misc]
            lambda got: got is WorkflowExecutionStatus.COMPLETED,
            timeout=30,
        )
        copy = await served.runs.status(run_id + SHADOW_RUN_SUFFIX)
        assert (copy.state, copy.version) == ("COMPLETED", CANDIDATE)
        assert copy.version_reason == f"rollout {ROLLOUT_ID} shadow of {run_id}"
        assert copy.usage.tool_calls == status.usage.tool_calls
    # One refund and one email per run that asked for them; the copies made neither. Runs the
    # routing had not caught up with (routed_run cancels them) may have refunded before their
    # cancel: refunds are counted by the run that made them (their idempotency key).
    refunded = runs_that_refunded(data_dir)
    assert sorted(run for run in refunded if run in primaries) == sorted(primaries)
    assert not [run for run in refunded if run.endswith(SHADOW_RUN_SUFFIX)]
    assert count_emails(data_dir) - emails_before == len(primaries)

    promoted = await asyncio.to_thread(cli, served, "rollout", "promote", AGENT, "--by", "dana")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.splitlines()[0] == (
        f"{ROLLOUT_ID}: {AGENT} {CANDIDATE} at 100 % (stable {STABLE}), shadow, promoted"
    )
    after = await eventually(
        lambda: routed_run(served.runs), lambda s: "promoted" in (s.version_reason or "")
    )
    assert after.version == CANDIDATE
    await served.runs.result(after.run_id)
    assert await copy_of(served.client, after.run_id) is None  # promoted: no more copies

    with store(served.settings) as sessions, sessions() as session:  # type: ignore[operator]
        events = session.exec(
            select(AuditEventRow).where(col(AuditEventRow.kind) == "rollout")
        ).all()
    assert [(e.action, e.actor) for e in events] == [
        ("stage", "release-manager"),
        ("promoted", "dana"),
    ]
    assert events[0].detail["shadow"] is True
    assert events[1].detail["shadow"] is False


async def test_only_a_runs_own_copy_skips_the_start_grant(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """With grants required, the copy a signed run starts needs none of its own (only the server
    sets a parent); a run that merely says it is a shadow copy is refused like any other."""
    signed = signed_setup(tmp_path, "shadow-auth", [("runner", "ci-bot", Role.RUNNER, "acme")])
    engine = make_engine(signed.url)
    with session_factory(engine)() as session, session.begin():
        split = Split(
            agent=RELEASE,
            rollout_id="rollout-auth",
            stable="1",
            candidate="2",
            percent=100,
            stage="stage 1/1",
            shadow=True,
        )
        write_split(session, SplitChange(split=split, by="dana", action="stage"), datetime.now(UTC))
    engine.dispose()
    runs = AgentRunClient(temporal_env.client, task_queue=signed.settings.task_queue)
    async with build_worker(temporal_env.client, signed.settings):
        request = RunRequest(
            agent=RELEASE, input={"key": "k"}, tenant_id="acme", request_id=f"r-{uuid.uuid4()}"
        )
        run_id = await start_signed(runs, signed.key, signed.holders["runner"], request)
        assert (await runs.result(run_id)).state == "COMPLETED"
        await eventually(
            lambda: copy_of(temporal_env.client, run_id),
            lambda got: got is WorkflowExecutionStatus.COMPLETED,
        )
        copy = await runs.status(run_id + SHADOW_RUN_SUFFIX)
        assert (copy.state, copy.failure) == ("COMPLETED", None)
        assert (copy.version, copy.version_reason) == (
            "2",
            f"rollout rollout-auth shadow of {run_id}",
        )

        posing = request.model_copy(
            update={
                "request_id": f"r-{uuid.uuid4()}",
                "version": "2",
                "evaluation": EvalBinding(
                    evaluation_id="rollout-auth", case_id="shadow", mode=RunMode.SHADOW
                ),
            }
        )
        forged = await runs.start(posing)
        # A bound run ends with its failure as its result (evaluations score failures too).
        refused = (await runs.result(forged)).failure
        assert refused is not None
        assert (refused.category, refused.field) == ("policy_denied", "grant")
        assert await copy_of(temporal_env.client, forged) is None
