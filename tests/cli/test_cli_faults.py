"""``agentrun faults``: a drill set from the CLI reaches real runs within seconds, shows in their
status, is audited with who and when, and stops when cleared."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import AuditEventRow
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.release_agents import RELEASE, RELEASE_TOOL
from tests.support.store import migrate_data_dir


@dataclass
class Served:
    runs: AgentRunClient
    settings: Settings
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentrun.cli", "faults", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **self.env},
            check=False,
        )


@pytest.fixture
async def served(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Served]:
    migrate_data_dir(tmp_path)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    env = {
        "AGENTRUN_DATA_DIR": str(tmp_path),
        "AGENTRUN_AGENT_MODULES": ",".join(TEST_AGENT_MODULES),
    }
    async with build_worker(temporal_env.client, settings):
        yield Served(AgentRunClient(temporal_env.client, task_queue=queue), settings, env)


async def test_a_drill_fails_calls_until_cleared_and_is_audited(served: Served) -> None:
    refused = await asyncio.to_thread(
        served.cli, "set", "--agent", RELEASE, "--tool", "nope", "--mode", "error", "--rate", "1"
    )
    assert refused.stderr.strip() == f"error: --tool 'nope': {RELEASE} has no such tool"
    unknown = await asyncio.to_thread(
        served.cli, "set", "--agent", "ghost", "--tool", "x", "--mode", "error", "--rate", "1"
    )
    assert unknown.stderr.strip().startswith("error: --agent 'ghost': unknown agent; known: ")

    done = await asyncio.to_thread(
        served.cli, "set", "--agent", RELEASE, "--tool", RELEASE_TOOL, "--mode", "error",
        "--rate", "1", "--for", "10m", "--by", "drill-lead",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    fault_id = done.stdout.split()[1].rstrip(":")
    assert done.stdout.startswith(f"fault {fault_id}: {RELEASE_TOOL} of {RELEASE} -> error on ")
    listed = await asyncio.to_thread(served.cli, "list")
    assert listed.stdout.startswith(f"{fault_id}  {RELEASE}  {RELEASE_TOOL}  error 100%")

    await asyncio.sleep(2.5)  # workers re-read drills every 2 s
    run_id = await served.runs.start(RunRequest(agent=RELEASE, input={"key": "k"}))
    assert (await served.runs.result(run_id)).state is RunState.FAILED
    status = await served.runs.status(run_id)
    assert status.state is RunState.FAILED
    assert status.failure is not None
    assert status.failure.category.value == "tool_error_exhausted"
    [call] = status.tool_calls
    assert call.attempts == 3  # the drill rehearses the retries: each attempt failed
    assert call.message is not None
    assert f"injected fault {fault_id} (drill)" in call.message

    cleared = await asyncio.to_thread(served.cli, "clear", fault_id, "--by", "drill-lead")
    assert cleared.stdout.strip() == f"cleared 1: {fault_id}"
    gone = await asyncio.to_thread(served.cli, "clear", fault_id)
    assert gone.stderr.strip() == f"error: no fault drill {fault_id!r}"
    await asyncio.sleep(2.5)
    healthy = await served.runs.start(RunRequest(agent=RELEASE, input={"key": "k"}))
    assert (await served.runs.result(healthy)).state is RunState.COMPLETED

    engine = make_engine(served.settings.effective_database_url())
    try:
        with session_factory(engine)() as session:
            events = session.exec(
                select(AuditEventRow).where(col(AuditEventRow.kind) == "drill")
            ).all()
    finally:
        engine.dispose()
    assert [(e.action, e.actor) for e in events] == [
        ("fault_set", "drill-lead"),
        ("fault_cleared", "drill-lead"),
    ]
    assert events[0].detail["rate"] == 1.0
    assert events[0].detail["until"] is not None
