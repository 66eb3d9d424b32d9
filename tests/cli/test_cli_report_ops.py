"""``agentrun report``'s operations figures as people and scripts read them: the workload of
``tests/support/ops_workload.py`` in a SQLite store (PostgreSQL: tests/store/test_report_ops.py)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from agentrun.cli.report import print_report
from agentrun.contracts.report import Thresholds
from agentrun.logic.report import build_report
from agentrun.store.db import make_engine, session_factory
from agentrun.store.migrate import upgrade
from agentrun.store.report_queries import report_data
from tests.cli.test_cli_report import agentrun
from tests.support.ops_workload import seed


@pytest.fixture
def ops_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s, s.begin():
            seed(s, datetime.now(UTC))
    finally:
        engine.dispose()
    return url


def test_text_shows_versions_deployments_and_rollbacks(ops_store: str) -> None:
    # Tool failures above the 3 % target are a figure, not an alert: the gate stays open.
    result = agentrun("--database-url", ops_store, "--max-error-rate", "0.2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "operations tool-call failures 8 of 26 attempts (30.8%), target < 3%: above it" in lines
    [stable] = [line for line in lines if line.startswith("│ refund │ 1 ")]
    for cell in ("0/10 0.0%", "80.0%", "50% of 2", "rollout 6, default 4"):
        assert cell in stable
    [candidate] = [line for line in lines if line.startswith("│ refund │ 2 ")]
    for cell in ("40.0%", "8/16 50.0%", "0% of 1"):
        assert cell in candidate
    [triage] = [line for line in lines if line.startswith("│ triage │ 7 ")]
    assert triage.count("n/a") == 5  # error, p95, tool fail, replaced, agreement
    [refund] = [line for line in lines if line.startswith("│ refund  │")]
    assert refund.split("│")[2:-1] == [
        f" {cell:>{width}} "
        for cell, width in [
            ("5", 8),
            ("1", 8),
            ("3", 11),
            ("1", 7),
            ("0", 9),
            ("25.0%", 7),
            ("12m 31s", 7),
        ]
    ]
    rollbacks = [line for line in lines if line.startswith("rollback  ")]
    assert len(rollbacks) == 3
    assert rollbacks[0].startswith("rollback  refund@2 back to 1 at ")
    assert rollbacks[0].endswith(
        "by rollout-controller, 10m 03s after its stage began: error rate 40.0% > 5%"
    )
    assert rollbacks[2].endswith("by ana: copies disagree")
    assert lines[-1] == "no alerts"


def test_json_has_operations_and_keeps_every_existing_key(ops_store: str) -> None:
    result = agentrun("--database-url", ops_store, "--json")
    assert result.returncode == 1, result.stderr  # 2 of 15 finished runs FAILED
    report = json.loads(result.stdout)
    assert [a["metric"] for a in report["alerts"]] == ["error_rate"]
    assert report["thresholds"] == {"max_error_rate": 0.05, "max_p95_s": 10.0}
    assert {"runs", "tools", "reviews", "states", "usage"} <= set(report)
    ops = report["operations"]
    assert (ops["tool_calls"], ops["tool_failures"], ops["tool_failure_target"]) == (26, 8, 0.03)
    assert ops["tool_failure_within_target"] is False
    versions = {(v["agent"], v["version"]): v for v in ops["versions"]}
    triage = versions[("triage", "7")]
    assert (triage["tool_failure_rate"], triage["human_replacement_rate"]) == (None, None)
    candidate = versions[("refund", "2")]
    assert candidate["agreement"] == {"sampled": 2, "answered": 1, "agreed": 0, "rate": 0.0}
    assert candidate["rollout"] == "rolled_back"
    deployments = {d["agent"]: d for d in ops["deployments"]}
    assert deployments["refund"]["mean_time_to_recovery_s"] == pytest.approx(751.5, abs=0.01)
    assert deployments["billing"]["success_rate"] is None
    outcomes = [(r["agent"], r["candidate"], r["outcome"]) for r in ops["rollouts"]]
    assert ("refund", "3", "rolled_back") in outcomes
    assert ("refund", "5", "in_progress") in outcomes


def test_the_tables_fit_120_columns(ops_store: str) -> None:
    now = datetime.now(UTC)
    engine = make_engine(ops_store)
    try:
        with session_factory(engine)() as s:
            data = report_data(s, now - timedelta(hours=24), None)
    finally:
        engine.dispose()
    report = build_report(
        data,
        since="24h",
        start=now - timedelta(hours=24),
        generated_at=now,
        thresholds=Thresholds(max_error_rate=0.05, max_p95_s=10.0),
    )
    console = Console(width=120, record=True, soft_wrap=True)
    print_report(console, report)
    tables = [line for line in console.export_text().splitlines() if line[:1] in "┏┃┡│└"]
    assert tables
    assert max(len(line) for line in tables) <= 120
