"""Report figures without a database: percentiles, thresholds, ``--since`` parsing, state time."""

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentrun.contracts.report import ReportData, Thresholds, ToolOutcomeCount
from agentrun.contracts.states import RunState, Transition
from agentrun.logic.figures import percentile, percentiles
from agentrun.logic.report import (
    DEFAULT_MAX_ERROR_RATE,
    DEFAULT_MAX_P95_S,
    build_report,
    evaluate_alerts,
    parse_since,
    run_layer,
    state_times,
    tool_layers,
    window_start,
)

T0 = datetime(2025, 6, 1, tzinfo=UTC)
SPEC = Thresholds(max_error_rate=DEFAULT_MAX_ERROR_RATE, max_p95_s=DEFAULT_MAX_P95_S)


def test_spec_thresholds() -> None:
    assert (DEFAULT_MAX_ERROR_RATE, DEFAULT_MAX_P95_S) == (0.05, 10.0)


# ----------------------------------------------------------------- percentiles


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == 10.5
    assert percentile(values, 95) == pytest.approx(19.05)
    assert percentile(values, 99) == pytest.approx(19.81)
    assert (percentile(values, 0), percentile(values, 100)) == (1.0, 20.0)
    assert percentile([7.0, 1.0, 4.0], 50) == 4.0  # order of the input does not matter
    assert percentile([3.0], 99) == 3.0
    summary = percentiles([2.0, 4.0])
    assert (summary.samples, summary.p50) == (2, 3.0)
    assert summary.p95 == pytest.approx(3.9)
    assert percentiles([]).p95 is None


def test_percentile_rejects_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside 0-100"):
        percentile([1.0], 101)


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60), st.integers(1, 99))
def test_percentile_agrees_with_the_standard_library(values: list[float], q: int) -> None:
    expected = statistics.quantiles(values, n=100, method="inclusive")[q - 1]
    assert percentile(values, q) == pytest.approx(expected, rel=1e-9, abs=1e-6)


# ----------------------------------------------------------------- alerts


def layer(completed: int, failed: int, durations: list[float] | None = None) -> ReportData:
    return ReportData(
        state_counts={"COMPLETED": completed, "FAILED": failed},
        run_durations_s=durations or [1.0],
    )


def test_error_rate_exactly_at_the_threshold_does_not_alert() -> None:
    runs = run_layer(layer(completed=19, failed=1))
    assert runs.error_rate == 0.05
    assert evaluate_alerts(runs, SPEC) == []


def test_error_rate_above_the_threshold_alerts() -> None:
    runs = run_layer(layer(completed=18, failed=2))
    [alert] = evaluate_alerts(runs, SPEC)
    assert (alert.metric, alert.value, alert.threshold) == ("error_rate", 0.1, 0.05)
    assert alert.message == "error rate 10.0% > 5.0% (2 of 20 finished runs FAILED)"
    assert evaluate_alerts(runs, Thresholds(max_error_rate=0.1, max_p95_s=10.0)) == []


def test_p95_latency_at_and_above_the_threshold() -> None:
    at = run_layer(layer(completed=2, failed=0, durations=[10.0, 10.0]))
    assert at.latency_s.p95 == 10.0
    assert evaluate_alerts(at, SPEC) == []
    above = run_layer(layer(completed=2, failed=0, durations=[10.0, 10.5]))
    [alert] = evaluate_alerts(above, SPEC)
    assert alert.metric == "run_latency_p95_s"
    assert alert.value == pytest.approx(10.475)
    assert alert.message == "run latency p95 10.47 s > 10 s"


def test_no_finished_runs_no_rates_no_alerts() -> None:
    runs = run_layer(ReportData(state_counts={"EXECUTING": 3, "REVIEWING": 1}))
    assert (runs.total, runs.finished, runs.error_rate, runs.completion_rate) == (4, 0, None, None)
    assert evaluate_alerts(runs, SPEC) == []
    report = build_report(ReportData(), since="24h", start=T0, generated_at=T0, thresholds=SPEC)
    assert (report.runs.total, report.alerts, report.usage.cost_per_run_usd) == (0, [], None)


def test_cancelled_runs_are_finished_but_neither_completed_nor_failed() -> None:
    runs = run_layer(ReportData(state_counts={"COMPLETED": 6, "CANCELLED": 2, "FAILED": 2}))
    assert (runs.finished, runs.completion_rate, runs.error_rate) == (10, 0.6, 0.2)
    assert list(runs.by_state) == ["COMPLETED", "FAILED", "CANCELLED"]


# ----------------------------------------------------------------- --since


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 1h ", timedelta(hours=1)),
    ],
)
def test_since_durations(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("24", "expected a number and a unit"),
        ("h", "expected a number and a unit"),
        ("1.5h", "expected a number and a unit"),
        ("-2d", "expected a number and a unit"),
        ("10s", "expected a number and a unit"),
        ("1y", "expected a number and a unit"),
        ("", "expected a number and a unit"),
        ("0h", "longer than zero"),
        ("99999999999w", "too long ago"),
    ],
)
def test_bad_since_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_since(text)


def test_window_before_year_one_is_refused() -> None:
    assert window_start(T0, timedelta(days=1)) == T0 - timedelta(days=1)
    with pytest.raises(ValueError, match="before year 1"):
        window_start(T0, parse_since("999999w"))


# ----------------------------------------------------------------- tools and states


def test_tools_ranked_by_calls_and_cut_at_ten() -> None:
    outcomes = [
        ToolOutcomeCount(tool=f"tool{i:02d}", status="success", count=i + 1) for i in range(12)
    ]
    outcomes.append(ToolOutcomeCount(tool="tool00", status="partial", count=1))
    outcomes.append(
        ToolOutcomeCount(tool="tool00", status="error", error_class=None, retryable=None, count=2)
    )
    ranked = tool_layers(ReportData(tool_outcomes=outcomes))
    # tool00 has 1 + 1 + 2 = 4 calls, tying tool03: ties go by name.
    expected = [f"tool{i:02d}" for i in range(11, 3, -1)] + ["tool00", "tool03"]
    assert [t.tool for t in ranked] == expected
    everything = tool_layers(ReportData(tool_outcomes=outcomes), top=20)
    assert len(everything) == 12
    low = next(t for t in everything if t.tool == "tool00")
    assert (low.tool, low.calls, low.succeeded, low.success_rate) == ("tool00", 4, 2, 0.5)
    assert (low.errors_by_class, low.unknown_errors) == ({"error": 2}, 2)


def test_time_in_state_sums_each_runs_stays() -> None:
    def run(*steps: tuple[RunState, float]) -> list[Transition]:
        return [
            Transition(source=None, target=state, at=T0 + timedelta(seconds=at))
            for state, at in steps
        ]

    ex, rv = RunState.EXECUTING, RunState.REVIEWING
    back_and_forth = run((ex, 0), (rv, 2), (ex, 5), (rv, 6), (RunState.COMPLETED, 10))
    simple = run((ex, 0), (RunState.FAILED, 4))
    still_running = run((ex, 0), (rv, 1))  # REVIEWING still open: not counted
    by_state = {s.state: s for s in state_times([back_and_forth, simple, still_running])}
    assert list(by_state) == ["EXECUTING", "REVIEWING"]
    assert (by_state["EXECUTING"].runs, by_state["EXECUTING"].mean_s) == (3, 8 / 3)
    assert by_state["EXECUTING"].p50_s == 3.0
    assert (by_state["REVIEWING"].runs, by_state["REVIEWING"].mean_s) == (1, 7.0)
