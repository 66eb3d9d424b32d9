"""What the report's operations figures read: per agent version counts of the window's runs,
the review gates of those that waited for a person, and the rollout trail.

Same rules as ``agentrun.store.report_queries`` (which shares the window's conditions from
here): counts in portable SQL (``SUM(CASE ...)``), durations subtracted in Python.
"""

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, case, func
from sqlalchemy import select as select_wide  # sqlmodel's select types 4 columns at most
from sqlmodel import Session, col, select

from agentrun.contracts.report_ops import GateAnswer, GatedRun, RolloutEvent, VersionTotals
from agentrun.contracts.states import TERMINAL_STATES, RunState
from agentrun.logic.figures import SUCCESS_STATUSES
from agentrun.store.audit import AuditKind
from agentrun.store.models import AuditEventRow, ReviewRow, RunRow, ToolCallRow, TransitionRow

_TERMINAL = sorted(state.value for state in TERMINAL_STATES)
_SUCCESS = sorted(SUCCESS_STATUSES)

Key = tuple[str, str | None]


def in_window(start: datetime, agent: str | None) -> list[ColumnElement[bool]]:
    """Conditions on ``runs`` selecting the report's runs; children join ``runs`` to use them."""
    conditions = [col(RunRow.started_at) >= start]
    if agent is not None:
        conditions.append(col(RunRow.agent) == agent)
    return conditions


def count_true(condition: Any) -> Any:
    # SUM over a CASE counts the same on both databases (PostgreSQL cannot SUM a boolean).
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def version_totals(session: Session, start: datetime, agent: str | None) -> list[VersionTotals]:
    """Per (agent, version): runs by outcome and cost, finished runs' durations, tool attempts
    and failures, and the version reasons."""
    state = col(RunRow.state)
    version_key = (col(RunRow.agent), col(RunRow.version))
    runs_stmt = (
        select_wide(
            *version_key,
            func.count(),
            count_true(state.in_(_TERMINAL)),
            count_true(state == RunState.COMPLETED.value),
            count_true(state == RunState.FAILED.value),
            func.coalesce(func.sum(col(RunRow.cost_usd)), 0.0),
        )
        .where(*in_window(start, agent))
        .group_by(*version_key)
    )
    totals: dict[Key, VersionTotals] = {}

    def of(name: str, version: str | None) -> VersionTotals:
        # On PostgreSQL each statement sees what committed before it: a run written between
        # two of these reads must not be a KeyError.
        return totals.setdefault((name, version), VersionTotals(agent=name, version=version))

    for name, version, runs, finished, completed, failed, cost in session.execute(runs_stmt):
        row = of(name, version)
        row.runs, row.finished, row.completed = int(runs), int(finished), int(completed)
        row.failed, row.cost_usd = int(failed), float(cost)

    durations = select_wide(*version_key, col(RunRow.started_at), col(RunRow.finished_at)).where(
        *in_window(start, agent), state.in_(_TERMINAL), col(RunRow.finished_at).is_not(None)
    )
    for name, version, began, ended in session.execute(durations):
        of(name, version).durations_s.append((ended - began).total_seconds())

    tools = (
        select_wide(
            *version_key,
            func.count(),
            count_true(col(ToolCallRow.status).not_in(_SUCCESS)),
        )
        .join(RunRow, col(RunRow.run_id) == col(ToolCallRow.run_id))
        .where(*in_window(start, agent))
        .group_by(*version_key)
    )
    for name, version, calls, failures in session.execute(tools):
        row = of(name, version)
        row.tool_calls, row.tool_failures = int(calls), int(failures)

    reason = col(RunRow.version_reason)
    reasons = (
        select_wide(*version_key, reason, func.count())
        .where(*in_window(start, agent))
        .group_by(*version_key, reason)
    )
    for name, version, why, runs in session.execute(reasons):
        of(name, version).reasons[why or ""] = int(runs)
    return list(totals.values())


def gated_runs(session: Session, start: datetime, agent: str | None) -> list[GatedRun]:
    """The window's runs that entered REVIEWING: each entry's reason and each review's answer,
    in the order they happened."""
    entries = (
        select_wide(
            col(RunRow.run_id),
            col(RunRow.agent),
            col(RunRow.version),
            col(RunRow.state),
            col(TransitionRow.reason),
        )
        .join(TransitionRow, col(TransitionRow.run_id) == col(RunRow.run_id))
        .where(*in_window(start, agent), col(TransitionRow.target) == RunState.REVIEWING.value)
        .order_by(col(RunRow.run_id), col(TransitionRow.seq))
    )
    runs: dict[str, GatedRun] = {}
    for run_id, name, version, run_state, why in session.execute(entries):
        run = runs.setdefault(run_id, GatedRun(agent=name, version=version, state=run_state))
        run.entries.append(why)
    answers = (
        select(ReviewRow.run_id, ReviewRow.decision, ReviewRow.automatic)
        .join(RunRow, col(RunRow.run_id) == col(ReviewRow.run_id))
        .where(*in_window(start, agent))
        .order_by(col(ReviewRow.run_id), col(ReviewRow.at), col(ReviewRow.id))
    )
    for run_id, decision, automatic in session.exec(answers):
        gated = runs.get(run_id)
        if gated is not None:  # a review with no REVIEWING entry recorded: nothing to pair
            gated.answers.append(GateAnswer(decision=decision, automatic=automatic))
    return list(runs.values())


def rollout_events(session: Session, agent: str | None) -> list[RolloutEvent]:
    """Every routing change in the audit trail (of ``agent``, if given), oldest first.

    The whole trail, not the window: a rollout that ended in the window may have started
    before it, and its first stage says when the failing share began. Rollouts are a few
    events a day, and the trail is the only record of how earlier ones went (the ``rollouts``
    table keeps each agent's latest split alone). An event that does not read as a split
    (written by an older or newer version of the controller) is skipped, not fatal.
    """
    stmt = (
        select_wide(
            col(AuditEventRow.seq),
            col(AuditEventRow.at),
            col(AuditEventRow.actor),
            col(AuditEventRow.action),
            col(AuditEventRow.detail),
        )
        .where(col(AuditEventRow.kind) == AuditKind.ROLLOUT.value)
        .order_by(col(AuditEventRow.seq))
    )
    events = []
    for seq, at, actor, action, detail in session.execute(stmt):
        if not isinstance(detail, dict) or (agent is not None and detail.get("agent") != agent):
            continue
        analysis = detail.get("analysis")
        detected = analysis.get("window_end") if isinstance(analysis, dict) else None
        try:
            event = RolloutEvent(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                agent=detail.get("agent"),
                rollout_id=detail.get("rollout_id"),
                stable=detail.get("stable"),
                candidate=detail.get("candidate"),
                stage=detail.get("stage") or "",
                percent=detail.get("percent"),
                shadow=bool(detail.get("shadow", False)),
                reason=detail.get("reason"),
                detected_at=detected,
            )
        except ValidationError:
            continue
        events.append(event)
    return events


def operations_data(
    session: Session, start: datetime, agent: str | None
) -> tuple[list[VersionTotals], list[GatedRun], list[RolloutEvent]]:
    return (
        version_totals(session, start, agent),
        gated_runs(session, start, agent),
        rollout_events(session, agent),
    )
