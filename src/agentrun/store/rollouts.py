"""Routing rows the Rollout workflow writes and PREPARING reads, and the figures of a window
the rollout's analysis compares (runs by version, from the run record)."""

from collections.abc import Collection
from datetime import datetime
from statistics import fmean

from sqlmodel import Session, col, select

from agentrun.contracts.rollout import Split, SplitChange, VersionFigures
from agentrun.contracts.states import RunState
from agentrun.logic.figures import percentile
from agentrun.store.audit import AuditKind, append_event
from agentrun.store.models import GovernanceEventRow, RolloutRow, RunRow

_ENDED = (RunState.COMPLETED.value, RunState.FAILED.value)
_HOLDS = ("deny", "escalate")


def write_split(session: Session, change: SplitChange, at: datetime) -> None:
    split = change.split
    row = session.get(RolloutRow, split.agent) or RolloutRow(
        agent=split.agent, updated_at=at, **split.model_dump(exclude={"agent"})
    )
    for key, value in split.model_dump(exclude={"agent"}).items():
        setattr(row, key, value)
    row.updated_at = at
    session.add(row)
    append_event(
        session,
        kind=AuditKind.ROLLOUT,
        actor=change.by,
        action=change.action,
        detail={**split.model_dump(mode="json"), **change.detail},
        at=at,
    )


def read_splits(session: Session) -> dict[str, Split]:
    rows = session.exec(select(RolloutRow)).all()
    return {row.agent: Split.model_validate(row.model_dump(exclude={"updated_at"})) for row in rows}


def window_figures(
    session: Session,
    agent: str,
    version: str,
    *,
    start: datetime,
    end: datetime,
    security_rules: Collection[str],
) -> VersionFigures:
    """The version's runs that ended in ``[start, end)``: failures, p95 latency, cost per run,
    and security events (holds by a security rule, refused review decisions)."""
    rows = session.exec(
        select(RunRow).where(
            col(RunRow.agent) == agent,
            col(RunRow.version) == version,
            col(RunRow.state).in_(_ENDED),
            col(RunRow.finished_at) >= start,
            col(RunRow.finished_at) < end,
        )
    ).all()
    if not rows:
        return VersionFigures(version=version)
    latencies = [
        (row.finished_at - row.started_at).total_seconds()
        for row in rows
        if row.finished_at is not None
    ]
    events = session.exec(
        select(GovernanceEventRow).where(
            col(GovernanceEventRow.run_id).in_([row.run_id for row in rows])
        )
    ).all()
    security = sum(
        1
        for event in events
        if event.kind == "review_refused"
        or (event.verdict in _HOLDS and event.rule_id in security_rules)
    )
    return VersionFigures(
        version=version,
        runs=len(rows),
        failed=sum(1 for row in rows if row.state == RunState.FAILED.value),
        p95_latency_s=percentile(latencies, 95) if latencies else None,
        cost_per_run_usd=fmean([row.cost_usd for row in rows]),
        security_events=security,
    )
