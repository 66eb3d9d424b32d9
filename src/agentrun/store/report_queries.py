"""What ``agentrun report`` reads: the runs started in a window (optionally one agent's) and
their rows, counted in SQL where SQL counts the same on SQLite and PostgreSQL.

Durations are fetched as timestamps and subtracted in Python: date arithmetic is spelled
differently by each database, and percentiles need the samples anyway. Run all of these in one
session (one transaction) so the layers describe the same snapshot.
"""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as select_wide  # sqlmodel's select types 4 columns at most
from sqlmodel import Session, col, select

from agentrun.contracts.report import AgentTotals, ReportData, ToolOutcomeCount
from agentrun.contracts.states import TERMINAL_STATES, RunState, Transition
from agentrun.store.models import ModelCallRow, ReviewRow, RunRow, ToolCallRow, TransitionRow
from agentrun.store.report_ops import count_true, in_window, operations_data
from agentrun.store.report_teams import team_totals

_TERMINAL = sorted(state.value for state in TERMINAL_STATES)
UNKNOWN_CATEGORY = "unknown"


def state_counts(session: Session, start: datetime, agent: str | None) -> dict[str, int]:
    stmt = (
        select(RunRow.state, func.count())
        .where(*in_window(start, agent))
        .group_by(col(RunRow.state))
    )
    return {state: int(n) for state, n in session.exec(stmt)}


def failure_counts(session: Session, start: datetime, agent: str | None) -> dict[str, int]:
    """FAILED runs per failure category (``unknown`` when the run recorded none)."""
    category = func.coalesce(col(RunRow.failure_category), UNKNOWN_CATEGORY)
    stmt = (
        select(category, func.count())
        .where(*in_window(start, agent), col(RunRow.state) == RunState.FAILED.value)
        .group_by(category)
    )
    return {str(name): int(n) for name, n in session.exec(stmt)}


def run_durations_s(session: Session, start: datetime, agent: str | None) -> list[float]:
    """started_at -> finished_at of every finished run."""
    stmt = select(RunRow.started_at, RunRow.finished_at).where(
        *in_window(start, agent),
        col(RunRow.state).in_(_TERMINAL),
        col(RunRow.finished_at).is_not(None),
    )
    return [(end - begin).total_seconds() for begin, end in session.exec(stmt) if end is not None]


def tool_outcomes(session: Session, start: datetime, agent: str | None) -> list[ToolOutcomeCount]:
    keys = (
        col(ToolCallRow.tool),
        col(ToolCallRow.status),
        col(ToolCallRow.error_class),
        col(ToolCallRow.retryable),
    )
    stmt = (
        select_wide(*keys, func.count())
        .join(RunRow, col(RunRow.run_id) == col(ToolCallRow.run_id))
        .where(*in_window(start, agent))
        .group_by(*keys)
    )
    return [
        ToolOutcomeCount(
            tool=tool, status=status, error_class=error, retryable=retryable, count=int(n)
        )
        for tool, status, error, retryable, n in session.execute(stmt)
    ]


def tool_durations_ms(
    session: Session, start: datetime, agent: str | None
) -> dict[str, list[float]]:
    stmt = (
        select(ToolCallRow.tool, ToolCallRow.duration_ms)
        .join(RunRow, col(RunRow.run_id) == col(ToolCallRow.run_id))
        .where(*in_window(start, agent), col(ToolCallRow.duration_ms).is_not(None))
    )
    durations: dict[str, list[float]] = defaultdict(list)
    for tool, ms in session.exec(stmt):
        if ms is not None:
            durations[tool].append(float(ms))
    return dict(durations)


def review_figures(
    session: Session, start: datetime, agent: str | None
) -> tuple[int, int, int, list[float]]:
    """(reviews, reviews that overrode the agent, runs a human overrode, review latencies ms)."""
    joined = (
        select(func.count(), count_true(col(ReviewRow.human_override)))
        .join(RunRow, col(RunRow.run_id) == col(ReviewRow.run_id))
        .where(*in_window(start, agent))
    )
    reviews, overrides = session.exec(joined).one()
    overridden = session.exec(
        select(func.count()).where(*in_window(start, agent), col(RunRow.human_override))
    ).one()
    latencies = session.exec(
        select(ReviewRow.latency_ms)
        .join(RunRow, col(RunRow.run_id) == col(ReviewRow.run_id))
        .where(*in_window(start, agent), col(ReviewRow.latency_ms).is_not(None))
    )
    samples = [float(ms) for ms in latencies if ms is not None]
    return int(reviews), int(overrides), int(overridden), samples


def transitions_by_run(
    session: Session, start: datetime, agent: str | None
) -> list[list[Transition]]:
    stmt = (
        select(TransitionRow.run_id, TransitionRow.source, TransitionRow.target, TransitionRow.at)
        .join(RunRow, col(RunRow.run_id) == col(TransitionRow.run_id))
        .where(*in_window(start, agent))
        .order_by(col(TransitionRow.run_id), col(TransitionRow.seq))
    )
    runs: dict[str, list[Transition]] = defaultdict(list)
    for run_id, source, target, at in session.exec(stmt):
        source_state = None if source is None else RunState(source)
        runs[run_id].append(Transition(source=source_state, target=RunState(target), at=at))
    return list(runs.values())


def agent_totals(session: Session, start: datetime, agent: str | None) -> list[AgentTotals]:
    """Per agent: runs and their recorded totals, then the model-call rows of those runs."""
    run_stmt = (
        select_wide(
            col(RunRow.agent),
            func.count(),
            func.coalesce(func.sum(col(RunRow.input_tokens)), 0),
            func.coalesce(func.sum(col(RunRow.output_tokens)), 0),
            func.coalesce(func.sum(col(RunRow.cost_usd)), 0.0),
        )
        .where(*in_window(start, agent))
        .group_by(col(RunRow.agent))
    )
    model_stmt = (
        select_wide(
            col(RunRow.agent),
            func.count(),
            func.coalesce(func.sum(col(ModelCallRow.input_tokens)), 0),
            func.coalesce(func.sum(col(ModelCallRow.output_tokens)), 0),
            func.coalesce(func.sum(col(ModelCallRow.cost_usd)), 0.0),
        )
        .join(RunRow, col(RunRow.run_id) == col(ModelCallRow.run_id))
        .where(*in_window(start, agent))
        .group_by(col(RunRow.agent))
    )
    models = {name: tuple(row) for name, *row in session.execute(model_stmt)}
    totals = []
    for name, runs, tokens_in, tokens_out, cost in session.execute(run_stmt):
        calls, model_in, model_out, model_cost = models.get(name, (0, 0, 0, 0.0))
        totals.append(
            AgentTotals(
                agent=name,
                runs=int(runs),
                input_tokens=int(tokens_in),
                output_tokens=int(tokens_out),
                cost_usd=float(cost),
                model_calls=int(calls),
                model_input_tokens=int(model_in),
                model_output_tokens=int(model_out),
                model_cost_usd=float(model_cost),
            )
        )
    return totals


def report_data(session: Session, start: datetime, agent: str | None = None) -> ReportData:
    """Everything for the runs started at or after ``start`` (and of ``agent``, if given)."""
    reviews, overrides, overridden, latencies = review_figures(session, start, agent)
    versions, gated, rollouts = operations_data(session, start, agent)
    return ReportData(
        state_counts=state_counts(session, start, agent),
        failure_counts=failure_counts(session, start, agent),
        run_durations_s=run_durations_s(session, start, agent),
        tool_outcomes=tool_outcomes(session, start, agent),
        tool_durations_ms=tool_durations_ms(session, start, agent),
        reviews=reviews,
        review_overrides=overrides,
        runs_overridden=overridden,
        review_latencies_ms=latencies,
        transitions=transitions_by_run(session, start, agent),
        agents=agent_totals(session, start, agent),
        versions=versions,
        gated_runs=gated,
        rollout_events=rollouts,
        teams=team_totals(session, start, agent),
    )
