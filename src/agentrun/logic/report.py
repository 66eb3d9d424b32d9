"""The run report's figures and alerts, from what the store returned (no I/O, no clock).

Alert thresholds are those of docs/observability.md: error rate above 5 %, p95 run latency above
10 s. A value exactly at its threshold does not alert, so a deploy gate set at 5 % lets exactly
5 % through.
"""

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from agentrun.contracts.report import (
    AgentUsage,
    Alert,
    Report,
    ReportData,
    ReviewLayer,
    RunLayer,
    StateTime,
    Thresholds,
    ToolLayer,
    UsageLayer,
)
from agentrun.contracts.report_teams import TeamLayer, TeamTotals
from agentrun.contracts.states import TERMINAL_STATES, RunState, Transition, time_in_states
from agentrun.logic.figures import SUCCESS_STATUSES, percentile, percentiles, rate
from agentrun.logic.report_ops import operations_layer

DEFAULT_MAX_ERROR_RATE = 0.05
DEFAULT_MAX_P95_S = 10.0
TOP_TOOLS = 10

_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_STATE_ORDER = {state.value: index for index, state in enumerate(RunState)}
_TERMINAL = frozenset(state.value for state in TERMINAL_STATES)


# ----------------------------------------------------------------- inputs


def parse_since(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``2w``: a positive whole number and one unit."""
    match = _SINCE.match(text)
    if match is None:
        raise ValueError(
            f"expected a number and a unit m, h, d or w (30m, 24h, 7d, 2w), got {text!r}"
        )
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0:
        raise ValueError(f"must be longer than zero, got {text!r}")
    try:
        return timedelta(**{_UNITS[unit]: amount})
    except OverflowError:
        raise ValueError(f"{text!r} is too long ago") from None


def window_start(now: datetime, since: timedelta) -> datetime:
    try:
        return now - since
    except OverflowError:
        raise ValueError("reaches before year 1") from None


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# ----------------------------------------------------------------- layers


def run_layer(data: ReportData) -> RunLayer:
    by_state = dict(
        sorted(data.state_counts.items(), key=lambda i: (_STATE_ORDER.get(i[0], 99), i[0]))
    )
    finished = sum(n for state, n in by_state.items() if state in _TERMINAL)
    return RunLayer(
        total=sum(by_state.values()),
        by_state=by_state,
        finished=finished,
        completion_rate=rate(by_state.get(RunState.COMPLETED.value, 0), finished),
        error_rate=rate(by_state.get(RunState.FAILED.value, 0), finished),
        failures_by_category=_by_count(data.failure_counts),
        latency_s=percentiles(data.run_durations_s),
    )


def tool_layers(data: ReportData, top: int = TOP_TOOLS) -> list[ToolLayer]:
    """The ``top`` tools by calls (attempts), busiest first."""
    tools: dict[str, ToolLayer] = {}
    errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in data.tool_outcomes:
        layer = tools.setdefault(
            row.tool, ToolLayer(tool=row.tool, calls=0, succeeded=0, success_rate=0.0)
        )
        layer.calls += row.count
        if row.status in SUCCESS_STATUSES:
            layer.succeeded += row.count
            continue
        errors[row.tool][row.error_class or row.status] += row.count
        if row.retryable is None:
            layer.unknown_errors += row.count
        elif row.retryable:
            layer.retryable_errors += row.count
        else:
            layer.non_retryable_errors += row.count
    ranked = sorted(tools.values(), key=lambda t: (-t.calls, t.tool))[:top]
    for layer in ranked:
        layer.success_rate = layer.succeeded / layer.calls
        layer.errors_by_class = _by_count(dict(errors[layer.tool]))
        layer.latency_ms = percentiles(data.tool_durations_ms.get(layer.tool, []))
    return ranked


def review_layer(data: ReportData, finished: int) -> ReviewLayer:
    return ReviewLayer(
        reviews=data.reviews,
        overrides=data.review_overrides,
        override_rate=rate(data.review_overrides, data.reviews),
        runs_overridden=data.runs_overridden,
        run_override_rate=rate(data.runs_overridden, finished),
        latency_s=percentiles([ms / 1000 for ms in data.review_latencies_ms]),
    )


def state_times(runs: Iterable[Sequence[Transition]]) -> list[StateTime]:
    """Per state, over the runs that spent time in it: mean and median of each run's total."""
    samples: dict[RunState, list[float]] = defaultdict(list)
    for transitions in runs:
        ordered = sorted(transitions, key=lambda t: t.at)
        for state, spent in time_in_states(ordered).items():
            samples[state].append(spent.total_seconds())
    return [
        StateTime(
            state=state.value,
            runs=len(values),
            mean_s=statistics.fmean(values),
            p50_s=percentile(values, 50),
        )
        for state, values in sorted(samples.items(), key=lambda i: _STATE_ORDER[i[0].value])
    ]


def usage_layer(data: ReportData) -> UsageLayer:
    agents = [
        AgentUsage(
            agent=a.agent,
            runs=a.runs,
            input_tokens=a.input_tokens,
            output_tokens=a.output_tokens,
            cost_usd=a.cost_usd,
            tokens_per_run=(a.input_tokens + a.output_tokens) / a.runs if a.runs else 0.0,
            cost_per_run_usd=a.cost_usd / a.runs if a.runs else 0.0,
            model_calls=a.model_calls,
            model_cost_usd=a.model_cost_usd,
        )
        for a in sorted(data.agents, key=lambda a: (-a.cost_usd, a.agent))
    ]
    runs = sum(a.runs for a in agents)
    usage = UsageLayer(
        runs=runs,
        input_tokens=sum(a.input_tokens for a in agents),
        output_tokens=sum(a.output_tokens for a in agents),
        cost_usd=sum(a.cost_usd for a in agents),
        model_calls=sum(a.model_calls for a in agents),
        model_cost_usd=sum(a.model_cost_usd for a in agents),
        agents=agents,
    )
    if runs:
        usage.input_tokens_per_run = usage.input_tokens / runs
        usage.output_tokens_per_run = usage.output_tokens / runs
        usage.cost_per_run_usd = usage.cost_usd / runs
    return usage


def team_layer(totals: TeamTotals) -> TeamLayer:
    """Cost per root run: each root row's usage is its team's (``contracts.report_teams``)."""
    roots = totals.roots
    return TeamLayer(
        **totals.model_dump(),
        cost_per_root_usd=totals.cost_usd / roots if roots else None,
        tokens_per_root=(totals.input_tokens + totals.output_tokens) / roots if roots else None,
    )


# ----------------------------------------------------------------- alerts


def evaluate_alerts(runs: RunLayer, thresholds: Thresholds) -> list[Alert]:
    """One alert per breached threshold; strictly above alerts, equal does not."""
    alerts: list[Alert] = []
    if runs.error_rate is not None and runs.error_rate > thresholds.max_error_rate:
        failed = runs.by_state.get(RunState.FAILED.value, 0)
        alerts.append(
            Alert(
                metric="error_rate",
                value=runs.error_rate,
                threshold=thresholds.max_error_rate,
                message=f"error rate {runs.error_rate:.1%} > {thresholds.max_error_rate:.1%} "
                f"({failed} of {runs.finished} finished runs FAILED)",
            )
        )
    p95 = runs.latency_s.p95
    if p95 is not None and p95 > thresholds.max_p95_s:
        alerts.append(
            Alert(
                metric="run_latency_p95_s",
                value=p95,
                threshold=thresholds.max_p95_s,
                message=f"run latency p95 {p95:.2f} s > {thresholds.max_p95_s:g} s",
            )
        )
    return alerts


def build_report(
    data: ReportData,
    *,
    since: str,
    start: datetime,
    generated_at: datetime,
    thresholds: Thresholds,
    agent: str | None = None,
) -> Report:
    runs = run_layer(data)
    return Report(
        generated_at=generated_at,
        since=since,
        window_start=start,
        agent=agent,
        runs=runs,
        tools=tool_layers(data),
        reviews=review_layer(data, runs.finished),
        states=state_times(data.transitions),
        usage=usage_layer(data),
        operations=operations_layer(data.versions, data.gated_runs, data.rollout_events, start),
        teams=team_layer(data.teams),
        thresholds=thresholds,
        alerts=evaluate_alerts(runs, thresholds),
    )
