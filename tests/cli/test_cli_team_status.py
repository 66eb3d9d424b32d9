"""``agentrun status`` of a team, as a person runs it: the parent lists the runs below it (a
grandchild included) with what each spent and the review one waits for; a child names its parent
and its root; ``--json`` stays the run's own status.

The worker runs in this test's event loop, so the CLI runs as an asyncio subprocess.
"""

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.runs import RunStatus
from tests.support.store import migrate_data_dir
from tests.support.team_worker import team_worker
from tests.support.waiting import eventually, wait_for_state


@dataclass
class Cli:
    runs: AgentRunClient
    env: dict[str, str]

    async def __call__(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "agentrun.cli", *args),
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert "Traceback" not in stderr.decode(), stderr.decode()
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()


@pytest.fixture
async def cli(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Cli]:
    migrate_data_dir(tmp_path)
    async with team_worker(temporal_env.client, tmp_path) as (runs, settings):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AGENTRUN_"))}
        env.update(
            TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
            AGENTRUN_TASK_QUEUE=settings.task_queue,
            AGENTRUN_DATA_DIR=str(tmp_path),
            AGENTRUN_LOG_LEVEL="WARNING",
        )
        yield Cli(runs, env)


def line_of(text: str, run_id: str) -> str:
    """The tree's line for ``run_id`` (the line that starts with it, after its indent)."""
    found = [line for line in text.splitlines() if re.match(rf"^\s+└ {re.escape(run_id)}  ", line)]
    assert len(found) == 1, text
    return found[0]


async def test_status_shows_a_teams_tree_and_a_child_its_parent_and_root(cli: Cli) -> None:
    runs = cli.runs
    root_id = await runs.start(RunRequest(agent="nested-lead", input={"job": "invoice 7"}))

    def grandchild_waits(status: RunStatus) -> bool:
        return bool(status.children) and status.children[0].pending_review is not None

    root = await eventually(lambda: runs.status(root_id), grandchild_waits)
    [lead] = root.children
    grandchild_id = lead.waiting_on
    assert grandchild_id is not None
    waiting = await runs.status(grandchild_id)
    pending = waiting.pending_review
    assert pending is not None

    shown = await cli("status", root_id)
    assert "team: 2 runs below this one" in shown
    child_line = line_of(shown, lead.run_id)
    assert child_line.startswith("  └ ")
    assert "review-lead@" in child_line
    assert "tool ask_review_lead" in child_line
    assert "EXECUTING" in child_line
    grandchild_line = line_of(shown, grandchild_id)
    assert grandchild_line.startswith("    └ ")  # one level deeper
    assert "needs-approval@" in grandchild_line
    assert "tool ask_needs_approval" in grandchild_line
    assert "REVIEWING" in grandchild_line
    assert f"waiting for review {pending.review_id} (final) by alice until " in grandchild_line
    assert (
        f"approve with: agentrun review {grandchild_id} --decision approve --reviewer alice"
        in grandchild_line
    )
    tokens = f"{waiting.usage.tokens.total:,} tokens · ${waiting.usage.cost_usd:,.4f}"
    assert tokens in grandchild_line
    assert "(with the runs it called)" in shown  # the root's usage line
    assert "parent:" not in shown  # a root has none

    child_shown = await cli("status", lead.run_id)
    assert f"parent: {root_id}\nroot: {root_id}\n" in child_shown
    assert "team: 1 run below this one" in child_shown
    assert line_of(child_shown, grandchild_id).startswith("  └ ")
    grandchild_shown = await cli("status", grandchild_id)
    assert f"parent: {lead.run_id}\nroot: {root_id}\n" in grandchild_shown
    assert "team:" not in grandchild_shown

    as_json = json.loads(await cli("status", root_id, "--json"))
    assert as_json["run_id"] == root_id
    assert as_json["root_run_id"] == root_id
    assert [c["run_id"] for c in as_json["children"]] == [lead.run_id]
    assert as_json["children"][0]["waiting_on"] == grandchild_id

    await runs.review(grandchild_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    await wait_for_state(runs, root_id, RunState.COMPLETED)
    ended = await cli("status", root_id)
    assert "COMPLETED" in line_of(ended, grandchild_id)
    assert "waiting for review" not in ended
