"""The report's store reads over SQLite and PostgreSQL: a known workload, exact figures."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from agentrun.contracts.report import ReportData, Thresholds, ToolOutcomeCount
from agentrun.logic.report import build_report
from agentrun.store.report_queries import report_data
from tests.support.report_workload import failing_runs, other_runs, seed

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = NOW - timedelta(hours=24)
WEEK = NOW - timedelta(days=7)
SPEC = Thresholds(max_error_rate=0.05, max_p95_s=10.0)


@pytest.fixture
def seeded(sessions: Callable[[], Session]) -> Callable[[], Session]:
    with sessions() as s, s.begin():
        seed(s, [*failing_runs(NOW), *other_runs(NOW)])
    return sessions


def read(sessions: Callable[[], Session], start: datetime, agent: str | None) -> ReportData:
    with sessions() as s:
        return report_data(s, start, agent)


def test_one_agent_in_the_last_day(seeded: Callable[[], Session]) -> None:
    data = read(seeded, DAY, "refund")
    assert data.state_counts == {"COMPLETED": 17, "FAILED": 3}
    assert data.failure_counts == {"tool_error_exhausted": 2, "budget_exceeded": 1}
    assert sorted(data.run_durations_s) == [float(d) for d in range(1, 21)]
    assert (data.reviews, data.review_overrides, data.runs_overridden) == (4, 1, 1)
    assert sorted(data.review_latencies_ms) == [500.0, 3000.0, 5500.0, 8000.0]
    assert len(data.transitions) == 20
    assert sorted(data.tool_outcomes, key=lambda o: (o.tool, o.status)) == [
        ToolOutcomeCount(tool="issue_refund", status="error", error_class="http_503",
                         retryable=True, count=8),
        ToolOutcomeCount(tool="issue_refund", status="success", count=17),
        ToolOutcomeCount(tool="lookup_order", status="success", count=20),
        ToolOutcomeCount(tool="notify", status="error", error_class="invalid_params",
                         retryable=False, count=1),
        ToolOutcomeCount(tool="notify", status="success", count=3),
    ]  # fmt: skip
    assert sorted(data.tool_durations_ms["lookup_order"]) == [100.0 + i for i in range(20)]
    assert sorted(data.tool_durations_ms["issue_refund"]) == [50.0] * 8 + [200.0] * 17
    [refund] = data.agents
    assert (refund.agent, refund.runs, refund.model_calls) == ("refund", 20, 40)
    assert (refund.input_tokens, refund.output_tokens) == (4000, 800)
    assert (refund.model_input_tokens, refund.model_output_tokens) == (4000, 800)
    assert refund.cost_usd == pytest.approx(0.05)
    assert refund.model_cost_usd == pytest.approx(0.04)


def test_report_figures_and_alerts(seeded: Callable[[], Session]) -> None:
    data = read(seeded, DAY, "refund")
    report = build_report(
        data, since="24h", start=DAY, generated_at=NOW, thresholds=SPEC, agent="refund"
    )
    runs = report.runs
    assert (runs.total, runs.finished) == (20, 20)
    assert (runs.completion_rate, runs.error_rate) == (0.85, 0.15)
    assert runs.latency_s.p50 == 10.5
    assert runs.latency_s.p95 == pytest.approx(19.05)
    assert runs.latency_s.p99 == pytest.approx(19.81)

    by_tool = {tool.tool: tool for tool in report.tools}
    assert [tool.tool for tool in report.tools] == ["issue_refund", "lookup_order", "notify"]
    refund = by_tool["issue_refund"]
    assert (refund.calls, refund.succeeded, refund.success_rate) == (25, 17, 0.68)
    assert refund.errors_by_class == {"http_503": 8}
    assert (refund.retryable_errors, refund.non_retryable_errors) == (8, 0)
    assert (refund.latency_ms.p50, refund.latency_ms.p95) == (200.0, 200.0)
    lookup = by_tool["lookup_order"]
    assert (lookup.calls, lookup.success_rate, lookup.latency_ms.p50) == (20, 1.0, 109.5)
    assert lookup.latency_ms.p95 == pytest.approx(118.05)
    notify = by_tool["notify"]
    assert (notify.success_rate, notify.non_retryable_errors) == (0.75, 1)
    assert notify.errors_by_class == {"invalid_params": 1}

    reviews = report.reviews
    assert (reviews.reviews, reviews.override_rate, reviews.run_override_rate) == (4, 0.25, 0.05)
    assert reviews.latency_s.p50 == 4.25

    states = {s.state: s for s in report.states}
    assert list(states) == ["INIT", "PREPARING", "EXECUTING", "REVIEWING"]
    assert (states["INIT"].runs, states["INIT"].mean_s, states["INIT"].p50_s) == (20, 0.2, 0.2)
    assert states["PREPARING"].mean_s == pytest.approx(0.3)
    assert states["PREPARING"].p50_s == pytest.approx(0.3)
    executing = states["EXECUTING"]
    assert (executing.runs, executing.p50_s) == (20, 8.0)
    assert executing.mean_s == pytest.approx(9.15)
    reviewing = states["REVIEWING"]
    assert (reviewing.runs, reviewing.mean_s, reviewing.p50_s) == (4, 4.25, 4.25)

    usage = report.usage
    assert (usage.runs, usage.input_tokens, usage.output_tokens, usage.model_calls) == (
        20, 4000, 800, 40,
    )  # fmt: skip
    assert (usage.input_tokens_per_run, usage.output_tokens_per_run) == (200.0, 40.0)
    assert usage.cost_per_run_usd == pytest.approx(0.0025)
    assert usage.agents[0].tokens_per_run == 240.0

    assert [a.metric for a in report.alerts] == ["error_rate", "run_latency_p95_s"]
    assert report.alerts[0].message == "error rate 15.0% > 5.0% (3 of 20 finished runs FAILED)"


def test_all_agents_and_the_window(seeded: Callable[[], Session]) -> None:
    day = read(seeded, DAY, None)
    assert day.state_counts == {"COMPLETED": 19, "FAILED": 3}
    assert {a.agent: (a.runs, a.input_tokens, a.model_calls) for a in day.agents} == {
        "refund": (20, 4000, 40),
        "triage": (2, 100, 2),
    }
    triage = next(a for a in day.agents if a.agent == "triage")
    assert triage.cost_usd == pytest.approx(0.001)
    report = build_report(day, since="24h", start=DAY, generated_at=NOW, thresholds=SPEC)
    assert report.runs.error_rate == 3 / 22
    assert report.runs.latency_s.p50 == 9.5
    assert report.reviews.run_override_rate == 1 / 22
    assert report.usage.cost_usd == pytest.approx(0.051)

    week = read(seeded, WEEK, "refund")
    assert week.state_counts == {"COMPLETED": 17, "FAILED": 8}
    assert week.failure_counts == {
        "tool_error_exhausted": 2,
        "budget_exceeded": 1,
        "internal": 5,
    }
    refund = build_report(week, since="7d", start=WEEK, generated_at=NOW, thresholds=SPEC)
    tool = refund.tools[0]
    assert (tool.tool, tool.calls, tool.unknown_errors) == ("issue_refund", 30, 5)
    assert tool.errors_by_class == {"http_503": 8, "timeout": 5}

    nobody = read(seeded, DAY, "no-such-agent")
    assert nobody == ReportData()
    empty = build_report(nobody, since="24h", start=DAY, generated_at=NOW, thresholds=SPEC)
    assert (empty.runs.total, empty.runs.error_rate, empty.alerts) == (0, None, [])


def test_a_run_started_exactly_at_the_window_start_counts(seeded: Callable[[], Session]) -> None:
    first = failing_runs(NOW)[0].started_at
    assert sum(read(seeded, first, "refund").state_counts.values()) == 20
    after = first + timedelta(microseconds=1)
    assert sum(read(seeded, after, "refund").state_counts.values()) == 19
