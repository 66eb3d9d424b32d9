"""``agentrun eval run`` and ``eval compare`` as a user runs them: the CLI in a subprocess
against a real dev server, a worker serving the refund agent and its test variants, and the
shipped refund dataset. Side effects must stay dry: the shop's refunds and outbox are counted."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.agents.refund import db as refund_db
from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.evaluations import case_rows, latest_evaluation
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.release_agents import SAME, WORSE
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_approval

DATASET = Path(__file__).resolve().parents[2] / "src/agentrun/agents/refund/eval.jsonl"


@dataclass(frozen=True)
class Setup:
    settings: Settings
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentrun.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **self.env},
            check=False,
        )


@pytest.fixture
async def served(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Setup]:
    migrate_data_dir(tmp_path)
    queue = f"eval-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    env = {
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "AGENTRUN_DATA_DIR": str(tmp_path),
        "AGENTRUN_TASK_QUEUE": queue,
        "AGENTRUN_AGENT_MODULES": ",".join(TEST_AGENT_MODULES),
    }
    async with build_worker(temporal_env.client, settings):
        yield Setup(settings, env)


def subset(where: Path, tag: str, count: int) -> Path:
    """The first ``count`` cases of the shipped dataset with ``tag``, as a dataset of its own."""
    lines = [
        line
        for line in DATASET.read_text().splitlines()
        if line.startswith("{") and tag in json.loads(line)["tags"]
    ][:count]
    path = where / f"{tag}-{count}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_eval_run_scores_the_shipped_dataset_with_side_effects_dry(served: Setup) -> None:
    done = await asyncio.to_thread(
        served.run, "eval", "run", "refund", "--version", "2", "--dataset", str(DATASET),
        "--concurrency", "16",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("refund@2 on eval.jsonl (63 cases, sha256:")
    assert lines[1].startswith("pass rate 63/63 = 100.0 % [94.3, 100.0]")
    assert [line.split()[0] for line in lines[2:5]] == ["normal", "boundary", "error"]
    assert lines[5].startswith("latency p50 ")
    assert lines[-1] == "stored as refund@2's baseline on this dataset"
    assert " done, " in done.stderr  # progress while the cases ran

    # Every refund, email and note was a dry run: the shop's own tables did not move.
    data_dir = served.settings.data_dir
    assert refund_db.count_refunds(data_dir) == 0
    assert refund_db.count_emails(data_dir) == 0
    assert refund_db.count_notes(data_dir) == 0

    engine = make_engine(served.settings.effective_database_url())
    try:
        with session_factory(engine)() as session:
            digest = lines[0].split("(63 cases, ")[1].split(")")[0]
            row = latest_evaluation(session, "refund", "2", _full_digest(session, digest))
            assert row is not None
            assert (row.cases, row.passed) == (63, 63)
            cases = case_rows(session, row.evaluation_id)
            assert len(cases) == 63
            by_id = {c.case_id: c for c in cases}
            assert by_id["error-unknown-order"].failure_category == "tool_error_permanent"
            assert by_id["boundary-cap-exceeded"].failure_category == "policy_denied"
            assert by_id["error-replayed-carrier-outage"].state == "COMPLETED"
    finally:
        engine.dispose()


def _full_digest(session: object, prefix: str) -> str:
    from sqlmodel import Session, col, select

    from agentrun.store.models import EvaluationRow

    assert isinstance(session, Session)
    found = session.exec(
        select(EvaluationRow.dataset_digest).where(
            col(EvaluationRow.dataset_digest).startswith(prefix)
        )
    ).first()
    assert found is not None
    return found


async def test_compare_calls_a_worse_version_worse_and_a_copy_the_same(
    served: Setup, tmp_path: Path
) -> None:
    dataset = subset(tmp_path, "normal", 20)
    worse = await asyncio.to_thread(
        served.run, "eval", "compare", "refund", "--baseline", "2", "--candidate", WORSE,
        "--dataset", str(dataset), "--concurrency", "16",
    )  # fmt: skip
    assert worse.returncode == 1, worse.stderr
    assert "evaluating refund@2, refund@2-no-email on normal-20.jsonl (no stored baseline)" in (
        worse.stderr
    )
    lines = worse.stdout.splitlines()
    assert lines[1].startswith("pass rate  20/20 -> 0/20; disagreements 20 lost, 0 gained")
    assert lines[1].endswith(": worse")
    assert lines[-1] == "verdict: worse at alpha = 0.05"

    # Both evaluated again, side by side, so that their latencies meet the same load.
    same = await asyncio.to_thread(
        served.run, "eval", "compare", "refund", "--baseline", "2", "--candidate", SAME,
        "--dataset", str(dataset), "--concurrency", "8", "--rerun", "--json",
    )  # fmt: skip
    assert same.returncode == 0, same.stdout + same.stderr
    report = json.loads(same.stdout)
    assert report["pass_rate"]["verdict"] == "no significant difference"
    assert (report["pass_rate"]["lost"], report["pass_rate"]["gained"]) == (0, 0)
    assert report["pass_rate"]["p_value"] == 1.0
    assert report["pass_rate"]["detectable"] == pytest.approx(6 / 20)
    assert report["verdict"] == "no significant difference"
    assert report["baseline"]["evaluation"] != report["candidate"]["evaluation"]


async def test_bad_datasets_and_versions_are_one_line_each(served: Setup, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        '{"id": "a", "input": {}}\n'
        "# a comment\n"
        '{"id": "b", "input": {}, "expect": {"state": "REVIEWING"}}\n'
    )
    bad = await asyncio.to_thread(
        served.run, "eval", "run", "refund", "--version", "2", "--dataset", str(broken)
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "error: broken.jsonl line 3: expect.state: a run ends COMPLETED, FAILED or CANCELLED"
    )
    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"id": "a", "input": {}}\n{"id": "a", "input": {}}\n')
    dup = await asyncio.to_thread(
        served.run, "eval", "run", "refund", "--version", "2", "--dataset", str(twice)
    )
    assert dup.stderr.strip() == "error: twice.jsonl line 2: id 'a' is already used on line 1"

    unknown = await asyncio.to_thread(
        served.run, "eval", "run", "refund", "--version", "9", "--dataset",
        str(subset(tmp_path, "normal", 1)),
    )  # fmt: skip
    assert unknown.returncode == 1
    last = unknown.stderr.strip().splitlines()[-1]
    assert last.startswith("error: evaluation eval-refund-9-")
    assert last.endswith(
        "failed: agent 'refund' has no version '9'; known: 1, 2, 2-copy, 2-no-email"
    )
    assert "Traceback" not in unknown.stderr


async def _decide(runs: AgentRunClient, run_id: str, tool: str, decision: Decision) -> None:
    waiting = await wait_for_approval(runs, run_id, tool)
    assert waiting.pending_review is not None
    await runs.review(
        run_id,
        ReviewDecision(
            decision=decision,
            reviewer="alice",
            review_id=waiting.pending_review.review_id,
            comment="checked" if decision is Decision.APPROVE else "wrong customer",
        ),
    )


async def test_production_runs_become_cases_that_replay_offline(
    served: Setup, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    runs = AgentRunClient(temporal_env.client, task_queue=served.settings.task_queue)
    approved = await runs.start(
        RunRequest(agent="refund", input={"order_id": "1004", "reason": "torn", "amount": 20})
    )
    await _decide(runs, approved, "send_email", Decision.APPROVE)
    assert (await runs.result(approved)).state is RunState.COMPLETED
    rejected = await runs.start(
        RunRequest(agent="refund", input={"order_id": "1001", "reason": "lost", "amount": 250})
    )
    await _decide(runs, rejected, "issue_refund", Decision.REJECT)
    assert (await runs.result(rejected)).state is RunState.FAILED

    cases = tmp_path / "from-production.jsonl"
    added = await asyncio.to_thread(
        served.run, "eval", "add-case", approved, rejected, "--dataset", str(cases)
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [
        f"added run-{approved} (run:{approved} (COMPLETED))",
        f"added run-{rejected} (run:{rejected} (FAILED))",
    ]
    again = await asyncio.to_thread(
        served.run, "eval", "add-case", approved, "--dataset", str(cases)
    )
    assert again.stdout.startswith(f"already there: run-{approved} ")
    lines = [json.loads(line) for line in cases.read_text().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["expect"]["trajectory"] == [
        "lookup_order", "get_shipping_status", "issue_refund", "send_email", "add_order_note",
    ]  # fmt: skip
    assert set(first["tool_results"]) == set(first["expect"]["trajectory"])
    assert second["expect"]["must_not_call"] == ["issue_refund"]
    assert second["review"] == "reject"

    # The shop forgets order 1004: the case still passes, from its recorded results alone...
    with sqlite3.connect(served.settings.data_dir / "refund.db") as shop:
        shop.execute("DELETE FROM orders WHERE order_id = '1004'")
    replayed = await asyncio.to_thread(
        served.run, "eval", "run", "refund", "--version", "2", "--dataset", str(cases)
    )
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.splitlines()[1].startswith("pass rate 2/2 = 100.0 %")
    # ...and without them it cannot: the order is gone.
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({**first, "tool_results": {}}) + "\n")
    offline = await asyncio.to_thread(
        served.run, "eval", "run", "refund", "--version", "2", "--dataset", str(bare)
    )
    assert offline.stdout.splitlines()[1].startswith("pass rate 0/1 = 0.0 %")
    assert "tool_error_permanent" in offline.stdout
