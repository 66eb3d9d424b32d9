"""Rollouts on real traffic: a candidate with an injected tool failure rate is rolled back by
the analysis, a healthy one goes through every stage, and commands from the CLI act and are
audited. A real dev server, an in-process worker with a SQLite store, runs started unpinned.
"""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.contracts.faults import FaultMode, FaultRule
from agentrun.contracts.names import ROLLOUT_WORKFLOW
from agentrun.contracts.rollout import (
    Phase,
    RolloutRequest,
    RolloutStatus,
    Strategy,
    Thresholds,
    Verdict,
)
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.faults import add_fault
from agentrun.store.models import AuditEventRow, RunRow
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.release_agents import RELEASE, RELEASE_TOOL
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually


@dataclass
class Served:
    client: Client
    runs: AgentRunClient
    settings: Settings


@pytest.fixture
async def served(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Served]:
    migrate_data_dir(tmp_path)
    queue = f"rollout-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    async with build_worker(temporal_env.client, settings):
        yield Served(
            temporal_env.client, AgentRunClient(temporal_env.client, task_queue=queue), settings
        )


@contextmanager
def store(settings: Settings) -> Iterator[object]:
    engine = make_engine(settings.effective_database_url())
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@asynccontextmanager
async def traffic(runs: AgentRunClient, *, at_once: int = 8) -> AsyncIterator[list[str]]:
    """Unpinned runs of the release agent, started back to back until the block ends."""
    started: list[str] = []
    stop = asyncio.Event()

    async def one_lane() -> None:
        while not stop.is_set():
            run_id = await runs.start(RunRequest(agent=RELEASE, input={"key": "k"}))
            started.append(run_id)
            with contextlib.suppress(Exception):  # a failed run is what the drill makes
                await runs.result(run_id)

    lanes = [asyncio.create_task(one_lane()) for _ in range(at_once)]
    try:
        yield started
    finally:
        stop.set()
        await asyncio.gather(*lanes, return_exceptions=True)


async def start_rollout(served: Served, request: RolloutRequest) -> str:
    rollout_id = f"rollout-{RELEASE}-{uuid.uuid4().hex[:6]}"
    await served.client.start_workflow(
        ROLLOUT_WORKFLOW, request, id=rollout_id, task_queue=served.settings.task_queue
    )
    return rollout_id


async def finished(served: Served, rollout_id: str) -> RolloutStatus:
    handle = served.client.get_workflow_handle(rollout_id, result_type=RolloutStatus)
    return await asyncio.wait_for(handle.result(), 120)


async def test_a_candidate_failing_30_percent_of_its_tool_calls_is_rolled_back(
    served: Served,
) -> None:
    with store(served.settings) as sessions, sessions() as session, session.begin():  # type: ignore[operator]
        add_fault(
            session,
            FaultRule(
                fault_id="f-0000feed",
                agent=RELEASE,
                version="2",
                tool=RELEASE_TOOL,
                mode=FaultMode.MALFORMED,
                rate=0.3,
                created_by="drill-lead",
                created_at=datetime.now(UTC),
            ),
        )
    request = RolloutRequest(
        agent=RELEASE,
        stable="1",
        candidate="2",
        strategy=Strategy.CANARY,
        stages=(50.0, 100.0),
        window=timedelta(seconds=4),
        min_runs=8,
        started_by="release-manager",
    )
    async with traffic(served.runs) as started:
        rollout_id = await start_rollout(served, request)
        status = await finished(served, rollout_id)
    assert status.phase is Phase.ROLLED_BACK, status.events
    assert status.percent == 0
    analysis = status.last_analysis
    assert analysis is not None
    assert analysis.verdict is Verdict.ROLLBACK
    assert analysis.candidate.runs >= 8
    assert analysis.candidate.error_rate > 0.05
    assert analysis.stable.failed == 0
    assert any(r.startswith("error rate ") for r in analysis.reasons)

    with store(served.settings) as sessions, sessions() as session:  # type: ignore[operator]
        events = session.exec(
            select(AuditEventRow).where(col(AuditEventRow.kind) == "rollout")
        ).all()
        rows = session.exec(select(RunRow).where(col(RunRow.run_id).in_(started))).all()
    actions = [(e.action, e.actor) for e in events]
    assert actions[0] == ("stage", "release-manager")
    assert actions[-1] == ("rolled_back", "rollout-controller")
    detail = events[-1].detail
    assert detail["percent"] == 0
    assert detail["reason"].startswith("error rate ")
    assert detail["analysis"]["candidate"]["failed"] >= 1
    # Runs were routed by the split, and say why they got their version (the first few, before
    # the rollout's first stage reached the router, got the default).
    ended = [row for row in rows if row.state in (RunState.COMPLETED, RunState.FAILED)]
    assert {row.version for row in ended} == {"1", "2"}
    reasons = {row.version_reason for row in ended}
    assert all(r == "default" or (r or "").startswith(f"rollout {rollout_id} ") for r in reasons)
    assert f"rollout {rollout_id} stage 1/2 (50 %): candidate" in reasons
    failed = [row for row in ended if row.state == RunState.FAILED.value]
    assert failed
    assert all(row.version == "2" for row in failed)

    # After the rollback every unpinned run is stable's, once the workers' routing has caught up
    # (re-read every 2 s, in the background).
    await eventually(
        lambda: routed(served.runs), lambda got: "rolled back" in (got[1] or ""), timeout=15
    )
    for _ in range(5):
        version, reason = await routed(served.runs)
        assert version == "1"
        assert reason is not None
        assert "rolled back (0 %): stable" in reason


async def routed(runs: AgentRunClient) -> tuple[str | None, str | None]:
    """An unpinned run's version and why it got it, once it has ended (however it ended)."""
    run_id = await runs.start(RunRequest(agent=RELEASE, input={"key": "k"}))
    await runs.result(run_id)
    status = await runs.status(run_id)
    return status.version, status.version_reason


async def test_a_healthy_candidate_goes_through_every_gradual_stage(served: Served) -> None:
    request = RolloutRequest(
        agent=RELEASE,
        stable="1",
        candidate="2",
        strategy=Strategy.GRADUAL,
        window=timedelta(seconds=2),
        min_runs=2,
        # The p95 of a handful of runs on a shared CI box is noise; the latency rule itself is
        # tested in tests/logic/test_rollout.py. Here: every stage, in order, to the end.
        thresholds=Thresholds(max_p95_increase=10.0, max_cost_increase=10.0),
        started_by="release-manager",
    )
    async with traffic(served.runs):
        rollout_id = await start_rollout(served, request)
        status = await finished(served, rollout_id)
    assert status.phase is Phase.PROMOTED, status.events
    assert status.percent == 100
    stages = [e.what for e in status.events if "% of runs to 2" in e.what]
    assert stages == [
        "stage 1/4: 10 % of runs to 2",
        "stage 2/4: 25 % of runs to 2",
        "stage 3/4: 50 % of runs to 2",
        "stage 4/4: 100 % of runs to 2",
        "promoted: 100 % of runs to 2",
    ]
    advanced = [e.what for e in status.events if e.what.startswith("analysis of ")]
    assert sum(": advance" in what for what in advanced) == 4
    await eventually(
        lambda: routed(served.runs), lambda got: "promoted" in (got[1] or ""), timeout=15
    )
    pinned = await served.runs.start(RunRequest(agent=RELEASE, version="1", input={"key": "k"}))
    await served.runs.result(pinned)
    assert (await served.runs.status(pinned)).version_reason == "pinned"


def cli(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": served.client.service_client.config.target_host,
        "AGENTRUN_DATA_DIR": str(served.settings.data_dir),
        "AGENTRUN_TASK_QUEUE": served.settings.task_queue,
        "AGENTRUN_AGENT_MODULES": ",".join(TEST_AGENT_MODULES),
    }
    return subprocess.run(
        [sys.executable, "-m", "agentrun.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def test_commands_from_the_cli_act_and_are_audited(served: Served) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(served, "rollout", *args)

    started = await asyncio.to_thread(
        run, "start", RELEASE, "--candidate", "2", "--strategy", "blue-green", "--window", "1h",
        "--by", "dana",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[0] == (
        f"rollout-{RELEASE}: {RELEASE} 2 at 100 % (stable 1), blue-green, running"
    )
    again = await asyncio.to_thread(run, "start", RELEASE, "--candidate", "2")
    assert again.stderr.strip() == (
        f"error: a rollout of {RELEASE} is in progress (rollout-{RELEASE}): promote or roll it "
        "back first"
    )
    resume = await asyncio.to_thread(run, "resume", RELEASE, "--by", "dana")
    assert resume.stderr.strip() == "error: resume refused: the rollout is not paused"
    paused = await asyncio.to_thread(run, "pause", RELEASE, "--by", "erin", "--reason", "look")
    assert paused.returncode == 0, paused.stderr
    assert ", paused" in paused.stdout.splitlines()[0]
    no_reason = await asyncio.to_thread(run, "rollback", RELEASE, "--reason", "")
    assert no_reason.returncode == 1
    assert "reason" in no_reason.stderr
    back = await asyncio.to_thread(
        run, "rollback", RELEASE, "--reason", "answers too long", "--by", "carol", "--json"
    )
    assert back.returncode == 0, back.stderr
    status = RolloutStatus.model_validate_json(back.stdout)
    assert (status.phase, status.percent) == (Phase.ROLLED_BACK, 0)
    assert status.events[-1].what == "rolled back: answers too long"
    assert status.events[-1].by == "carol"
    over = await asyncio.to_thread(run, "promote", RELEASE)
    assert over.stderr.strip() == (
        f"error: promote refused: the rollout of {RELEASE!r} is over (rolled_back)"
    )

    with store(served.settings) as sessions, sessions() as session:  # type: ignore[operator]
        events = session.exec(
            select(AuditEventRow).where(col(AuditEventRow.kind) == "rollout")
        ).all()
    assert [(e.action, e.actor) for e in events] == [("stage", "dana"), ("rolled_back", "carol")]
    assert events[-1].detail["reason"] == "answers too long"
    shown = await asyncio.to_thread(run, "status", RELEASE, "--json")
    assert json.loads(shown.stdout)["phase"] == "rolled_back"
