"""``agentrun report`` as a deploy gate runs it: a subprocess, its output and its exit code."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentrun.store.db import make_engine, session_factory
from agentrun.store.migrate import upgrade
from tests.support.report_workload import SeedRun, failing_runs, healthy_runs, other_runs, seed
from tests.support.store_fixtures import fresh_pg_url

_SCRIPT = Path(sys.executable).parent / "agentrun"
AGENTRUN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "agentrun.cli"]


def agentrun(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*AGENTRUN, "report", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def store(url: str, runs: list[SeedRun]) -> str:
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s, s.begin():
            seed(s, runs)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def failing(tmp_path: Path) -> str:
    now = datetime.now(UTC)
    return store(f"sqlite:///{tmp_path / 'failing.db'}", [*failing_runs(now), *other_runs(now)])


@pytest.fixture
def healthy(tmp_path: Path) -> str:
    return store(f"sqlite:///{tmp_path / 'healthy.db'}", healthy_runs(datetime.now(UTC)))


def test_failing_workload_prints_every_layer_and_alerts(failing: str) -> None:
    result = agentrun("--agent", "refund", "--database-url", failing)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("runs started since ")
    assert lines[0].endswith("(last 24h) · agent refund")
    text = result.stdout
    assert "runs      20 · finished 20 · COMPLETED 17 · FAILED 3" in text
    assert "rates     completion 85.0% · error 15.0%" in text
    assert "failures  tool_error_exhausted 2 · budget_exceeded 1" in text
    assert "latency   p50 10.5 s · p95 19.1 s · p99 19.8 s" in text
    assert "tools (top 10 by calls; a call is an attempt)" in text
    assert "reviews   4 · human overrides 1 (25.0% of reviews)" in text
    assert "runs overridden 1 (5.0% of finished runs) · latency p50 4.2 s" in text
    assert "time in state (per run)" in text
    assert "per run   200.0 input / 40.0 output tokens · $0.0025" in text
    assert "tokens and cost per agent" in text
    [refund_row] = [line for line in lines if "issue_refund" in line]
    for cell in ("25", "68.0%", "200 ms", "http_503 8"):
        assert cell in refund_row
    assert [line for line in lines if line.startswith("ALERT")] == [
        "ALERT error rate 15.0% > 5.0% (3 of 20 finished runs FAILED)",
        "ALERT run latency p95 19.05 s > 10 s",
    ]


def test_json_has_the_numbers_and_the_same_exit(failing: str) -> None:
    result = agentrun("--json", env={"AGENTRUN_DATABASE_URL": failing})
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["agent"] is None
    assert report["runs"]["by_state"] == {"COMPLETED": 19, "FAILED": 3}
    assert report["runs"]["error_rate"] == pytest.approx(3 / 22)
    tools = {tool["tool"]: tool for tool in report["tools"]}
    assert (tools["issue_refund"]["calls"], tools["issue_refund"]["retryable_errors"]) == (25, 8)
    agents = {a["agent"]: a for a in report["usage"]["agents"]}
    assert (agents["refund"]["runs"], agents["refund"]["model_calls"]) == (20, 40)
    assert agents["triage"]["cost_usd"] == pytest.approx(0.001)
    assert report["thresholds"] == {"max_error_rate": 0.05, "max_p95_s": 10.0}
    assert [a["metric"] for a in report["alerts"]] == ["error_rate", "run_latency_p95_s"]


def test_thresholds_are_options_and_a_longer_window_reaches_old_runs(failing: str) -> None:
    relaxed = agentrun("--database-url", failing, "--max-error-rate", "0.2", "--max-p95", "20")
    assert relaxed.returncode == 0, relaxed.stdout
    assert "no alerts" in relaxed.stdout

    week = agentrun("--database-url", failing, "--since", "7d", "--agent", "refund", "--json")
    assert week.returncode == 1
    assert json.loads(week.stdout)["runs"]["by_state"] == {"COMPLETED": 17, "FAILED": 8}


def test_healthy_workload_exits_0(healthy: str) -> None:
    result = agentrun("--database-url", healthy, "--since", "2h")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "runs      10 · finished 10 · COMPLETED 10" in result.stdout
    assert "rates     completion 100.0% · error 0.0%" in result.stdout
    assert result.stdout.splitlines()[-1] == "no alerts"


def test_no_runs_in_the_window_says_so_and_exits_0(failing: str) -> None:
    result = agentrun("--database-url", failing, "--since", "30m", "--agent", "refund")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "no runs in this window: nothing to report, no alerts"
    as_json = agentrun("--database-url", failing, "--agent", "nobody", "--json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["runs"]["total"] == 0


@pytest.mark.parametrize("since", ["3x", "24", "0h", "-1d", "99999999999w"])
def test_bad_since_is_one_error_line_naming_the_option(failing: str, since: str) -> None:
    result = agentrun("--database-url", failing, "--since", since)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: --since: ")


def test_store_problems_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "agentrun.db"
    result = agentrun("--database-url", f"sqlite:///{missing}")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: no run store at {missing}: run agentrun db upgrade, or --database-url"
    ]
    assert not missing.exists()

    empty = tmp_path / "empty.db"
    empty.touch()
    uninitialised = agentrun("--database-url", f"sqlite:///{empty}")
    assert uninitialised.returncode == 2
    [line] = uninitialised.stderr.splitlines()
    assert line.endswith("is not initialised: run agentrun db upgrade")

    for url, expected in [
        ("postgresql://postgres@127.0.0.1:1/nowhere", "Connection refused"),
        ("mysql://localhost/agentrun", "unsupported database URL scheme 'mysql'"),
    ]:
        result = agentrun("--database-url", url)
        assert result.returncode == 2
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ")
        assert expected in line


def test_out_of_range_threshold_is_a_usage_error(failing: str) -> None:
    result = agentrun("--database-url", failing, "--max-error-rate", "5")
    assert result.returncode == 2
    assert "--max-error-rate" in result.stderr


def test_postgresql_store() -> None:
    now = datetime.now(UTC)
    with fresh_pg_url() as url:
        store(url, [*failing_runs(now), *other_runs(now)])
        result = agentrun("--database-url", url, "--agent", "refund", "--json")
        assert result.returncode == 1, result.stderr
        report = json.loads(result.stdout)
        assert (report["runs"]["total"], report["runs"]["error_rate"]) == (20, 0.15)
        assert report["usage"]["cost_per_run_usd"] == pytest.approx(0.0025)
