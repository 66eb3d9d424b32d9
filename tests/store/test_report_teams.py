"""``agentrun report``'s cost per root run over SQLite and PostgreSQL: a known team tree, exact
figures, each run's spend counted once (at its root, whose usage holds its team's)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from agentrun.contracts.report import Thresholds
from agentrun.contracts.states import RunState
from agentrun.logic.report import build_report
from agentrun.store import repository as repo
from agentrun.store.report_queries import report_data
from agentrun.store.report_teams import team_totals

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = NOW - timedelta(hours=24)

# run id: (agent, parent, root, started hours ago, input tokens, output tokens, cost). A parent's
# usage holds its children's, as a run's status does: t1 = 500 own + 300 (a) + 400 (b, which
# holds c's 100) input tokens.
TREE: dict[str, tuple[str, str | None, str | None, float, int, int, float]] = {
    "t1": ("lead", None, "t1", 1, 1200, 240, 0.012),
    "t1--1-0-a": ("worker", "t1", "t1", 0.9, 300, 60, 0.003),
    "t1--1-1-b": ("worker", "t1", "t1", 0.8, 400, 80, 0.004),
    "t1--1-1-b--1-0-c": ("helper", "t1--1-1-b", "t1", 0.7, 100, 20, 0.001),
    "t2": ("lead", None, "t2", 2, 50, 10, 0.0005),
    # Recorded before teams existed: no root, so its own.
    "old": ("worker", None, None, 3, 70, 14, 0.0007),
    # A team whose root started before the window: its child in the window is no root.
    "t0": ("lead", None, "t0", 72, 900, 90, 0.009),
    "t0--1-0-a": ("worker", "t0", "t0", 2, 900, 90, 0.009),
}


@pytest.fixture
def seeded(sessions: Callable[[], Session]) -> Callable[[], Session]:
    with sessions() as s, s.begin():
        for run_id, (agent, parent, root, hours, tokens_in, tokens_out, cost) in TREE.items():
            repo.upsert_run(
                s,
                run_id=run_id,
                agent=agent,
                tenant_id="acme",
                user_id="u-1",
                request_id=run_id,
                trace_id=f"trace-{run_id}",
                state=RunState.COMPLETED,
                started_at=NOW - timedelta(hours=hours),
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cost_usd=cost,
                parent_run_id=parent,
                root_run_id=root,
            )
    return sessions


def test_each_root_counts_its_team_once(seeded: Callable[[], Session]) -> None:
    with seeded() as s:
        teams = team_totals(s, DAY, None)
    assert (teams.roots, teams.teams, teams.runs) == (3, 1, 6)
    assert (teams.input_tokens, teams.output_tokens) == (1200 + 50 + 70, 240 + 10 + 14)
    assert teams.cost_usd == pytest.approx(0.012 + 0.0005 + 0.0007)
    assert [(r.run_id, r.agent, r.runs) for r in teams.top] == [
        ("t1", "lead", 4),
        ("old", "worker", 1),
        ("t2", "lead", 1),
    ]
    t1 = teams.top[0]
    assert (t1.input_tokens, t1.output_tokens, t1.cost_usd) == (1200, 240, 0.012)
    assert t1.state == "COMPLETED"
    assert t1.started_at == NOW - timedelta(hours=1)


def test_the_costliest_roots_come_first_and_top_bounds_them(seeded: Callable[[], Session]) -> None:
    with seeded() as s:
        teams = team_totals(s, DAY, None, top=2)
    assert [r.run_id for r in teams.top] == ["t1", "old"]
    assert teams.roots == 3  # the totals still cover every root


def test_an_agent_selects_roots_of_that_agent(seeded: Callable[[], Session]) -> None:
    with seeded() as s:
        lead = team_totals(s, DAY, "lead")
        worker = team_totals(s, DAY, "worker")
        empty = team_totals(s, NOW, None)
    assert (lead.roots, lead.teams, lead.runs) == (2, 1, 5)
    assert lead.cost_usd == pytest.approx(0.0125)
    # A worker called by a lead belongs to the lead's team, not to the worker's roots.
    assert (worker.roots, worker.teams, worker.runs) == (1, 0, 1)
    assert [r.run_id for r in worker.top] == ["old"]
    assert empty.roots == 0
    assert empty.top == []


def test_the_report_divides_by_roots_and_the_per_agent_table_still_sums_rows(
    seeded: Callable[[], Session],
) -> None:
    with seeded() as s:
        data = report_data(s, DAY)
    report = build_report(
        data,
        since="24h",
        start=DAY,
        generated_at=NOW,
        thresholds=Thresholds(max_error_rate=0.05, max_p95_s=10.0),
    )
    teams = report.teams
    assert teams.cost_per_root_usd == pytest.approx((0.012 + 0.0005 + 0.0007) / 3)
    assert teams.tokens_per_root == pytest.approx((1440 + 60 + 84) / 3)
    # Rows summed per agent count t1's children in t1 and again on their own: more than spent.
    in_window = [v for k, v in TREE.items() if k != "t0"]
    assert report.usage.cost_usd == pytest.approx(sum(v[6] for v in in_window))
    # The difference is every non-root row: t1's three, and t0's child (its root predates it).
    assert report.usage.cost_usd - teams.cost_usd == pytest.approx(0.003 + 0.004 + 0.001 + 0.009)
