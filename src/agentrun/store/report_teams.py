"""What ``agentrun report`` reads for its cost per root run (``contracts.report_teams``).

A root run is one no other run called: ``root_run_id`` is its own id, or NULL for a run recorded
before teams existed. Its row's tokens and cost already hold its whole team's (see the contract
module for why that, and not a sum over the team's rows); the team's other rows are only
counted, through the ``root_run_id`` index.
"""

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy import select as select_wide  # sqlmodel's select types 4 columns at most
from sqlmodel import Session, col, select

from agentrun.contracts.report_teams import TOP_ROOTS, RootRunCost, TeamTotals
from agentrun.store.models import RunRow
from agentrun.store.report_ops import in_window


def is_root() -> ColumnElement[bool]:
    root = col(RunRow.root_run_id)
    return or_(root.is_(None), root == col(RunRow.run_id))


def _below(roots: list[str] | None, start: datetime, agent: str | None) -> ColumnElement[bool]:
    """Rows of runs some root (of ``roots``, else of the window's) called, at any depth."""
    root = col(RunRow.root_run_id)
    if roots is not None:
        return root.in_(roots) & (root != col(RunRow.run_id))
    window = select(col(RunRow.run_id)).where(*in_window(start, agent), is_root())
    return root.in_(window.scalar_subquery()) & (root != col(RunRow.run_id))


def team_totals(
    session: Session, start: datetime, agent: str | None, top: int = TOP_ROOTS
) -> TeamTotals:
    """The root runs started at or after ``start`` (of ``agent``, if given): their number, their
    teams' runs and spend, and the ``top`` costliest (ties by run id)."""
    roots, tokens_in, tokens_out, cost = session.execute(
        select_wide(
            func.count(),
            func.coalesce(func.sum(col(RunRow.input_tokens)), 0),
            func.coalesce(func.sum(col(RunRow.output_tokens)), 0),
            func.coalesce(func.sum(col(RunRow.cost_usd)), 0.0),
        ).where(*in_window(start, agent), is_root())
    ).one()
    if not roots:
        return TeamTotals()
    below, teams = session.execute(
        select_wide(func.count(), func.count(func.distinct(col(RunRow.root_run_id)))).where(
            _below(None, start, agent)
        )
    ).one()
    return TeamTotals(
        roots=int(roots),
        teams=int(teams),
        runs=int(roots) + int(below),
        input_tokens=int(tokens_in),
        output_tokens=int(tokens_out),
        cost_usd=float(cost),
        top=costliest(session, start, agent, top),
    )


def costliest(session: Session, start: datetime, agent: str | None, top: int) -> list[RootRunCost]:
    rows = session.execute(
        select_wide(
            col(RunRow.run_id),
            col(RunRow.agent),
            col(RunRow.state),
            col(RunRow.started_at),
            col(RunRow.input_tokens),
            col(RunRow.output_tokens),
            col(RunRow.cost_usd),
        )
        .where(*in_window(start, agent), is_root())
        .order_by(col(RunRow.cost_usd).desc(), col(RunRow.run_id))
        .limit(top)
    ).all()
    ids = [row[0] for row in rows]
    sizes = dict(
        session.execute(
            select_wide(col(RunRow.root_run_id), func.count())
            .where(_below(ids, start, agent))
            .group_by(col(RunRow.root_run_id))
        ).all()
    )
    return [
        RootRunCost(
            run_id=run_id,
            agent=name,
            state=state,
            started_at=started,
            runs=1 + int(sizes.get(run_id, 0)),
            input_tokens=int(tokens_in),
            output_tokens=int(tokens_out),
            cost_usd=float(cost),
        )
        for run_id, name, state, started, tokens_in, tokens_out, cost in rows
    ]
