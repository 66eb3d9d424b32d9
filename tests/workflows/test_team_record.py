"""A team's run record, on SQLite and on PostgreSQL: each run's row names its parent and its
root, and ``agentrun report`` (the command, reading that store) counts the team's cost once, at
its root, equal to what the root run's status says the team spent."""

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.contracts.runs import RunStatus
from agentrun.store import repository
from agentrun.store.db import make_engine, session_factory
from tests.support.team_worker import team_worker
from tests.support.waiting import wait_for_stored_state

TICKET = {"message": "I was charged twice this month"}


@dataclass
class Recorded:
    runs: AgentRunClient
    sessions: Callable[[], Session]
    url: str


@pytest.fixture
async def recorded(
    temporal_env: WorkflowEnvironment, store_url: str, tmp_path: Path
) -> AsyncIterator[Recorded]:
    engine = make_engine(store_url)
    try:
        async with team_worker(temporal_env.client, tmp_path, store_url) as (runs, _):
            yield Recorded(runs, session_factory(engine), store_url)
    finally:
        engine.dispose()


async def pipeline(recorded: Recorded) -> tuple[RunStatus, list[RunStatus]]:
    """A support pipeline run to its end, with its two children, all three stored COMPLETED."""
    runs = recorded.runs
    run_id = await runs.start(RunRequest(agent="support-pipeline", input=TICKET))
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    status = await runs.status(run_id)
    children = [await runs.status(child.run_id) for child in status.children]
    assert [c.agent for c in children] == ["ticket-classifier", "reply-writer"]
    for run in (status, *children):
        await wait_for_stored_state(recorded.sessions, run.run_id, "COMPLETED")
    return status, children


async def test_a_pipelines_rows_name_their_parent_and_root(recorded: Recorded) -> None:
    status, children = await pipeline(recorded)
    root_id = status.run_id
    with recorded.sessions() as session:
        root = repository.get_run(session, root_id)
        rows = [repository.get_run(session, child.run_id) for child in children]
    assert root is not None
    assert (root.parent_run_id, root.root_run_id) == (None, root_id)
    for row, child in zip(rows, children, strict=True):
        assert row is not None
        assert (row.agent, row.parent_run_id, row.root_run_id) == (child.agent, root_id, root_id)
        # A child's row holds its own spend, as its own status does.
        assert (row.input_tokens, row.cost_usd) == (
            child.usage.tokens.input_tokens,
            child.usage.cost_usd,
        )
        assert row.cost_usd > 0
    # The root's row holds the team's spend, as the root's status does.
    assert (root.input_tokens, root.output_tokens, root.cost_usd) == (
        status.usage.tokens.input_tokens,
        status.usage.tokens.output_tokens,
        status.usage.cost_usd,
    )


async def report_json(url: str) -> dict[str, Any]:
    """``agentrun report --json`` as a separate process (this loop keeps serving the worker)."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "agentrun.cli", "report", "--since", "1h", "--json"),
        *("--database-url", url),
        env={k: v for k, v in os.environ.items() if not k.startswith("AGENTRUN_")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    body: dict[str, Any] = json.loads(stdout)
    return body


async def test_report_counts_the_teams_cost_once_at_its_root(recorded: Recorded) -> None:
    status, children = await pipeline(recorded)
    report = await report_json(recorded.url)
    teams = report["teams"]
    assert (teams["roots"], teams["teams"], teams["runs"]) == (1, 1, 3)
    [root] = teams["top"]
    assert (root["run_id"], root["agent"], root["state"], root["runs"]) == (
        status.run_id,
        "support-pipeline",
        "COMPLETED",
        3,
    )
    spent = status.usage
    assert (root["input_tokens"], root["output_tokens"], root["cost_usd"]) == (
        spent.tokens.input_tokens,
        spent.tokens.output_tokens,
        spent.cost_usd,
    )
    assert teams["cost_usd"] == spent.cost_usd
    assert teams["cost_per_root_usd"] == spent.cost_usd
    # Summing the three rows, as the per-agent table does, counts the children twice.
    own = spent.cost_usd - sum(child.usage.cost_usd for child in children)
    assert own > 0
    assert report["usage"]["cost_usd"] == pytest.approx(own + 2 * (spent.cost_usd - own))
