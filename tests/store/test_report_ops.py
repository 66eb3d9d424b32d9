"""Operations figures from a real store, SQLite and PostgreSQL: the workload of
``tests/support/ops_workload.py``, whose docstring derives every number asserted here."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from agentrun.contracts.report import Report, Thresholds
from agentrun.contracts.report_ops import RolloutOutcome
from agentrun.logic.report import build_report
from agentrun.store.report_queries import report_data
from tests.support.ops_workload import seed

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = NOW - timedelta(hours=24)
SPEC = Thresholds(max_error_rate=0.05, max_p95_s=10.0)


@pytest.fixture
def seeded(sessions: Callable[[], Session]) -> Callable[[], Session]:
    with sessions() as s, s.begin():
        seed(s, NOW)
    return sessions


def report(sessions: Callable[[], Session], start: datetime, agent: str | None = None) -> Report:
    with sessions() as s:
        data = report_data(s, start, agent)
    return build_report(
        data, since="24h", start=start, generated_at=NOW, thresholds=SPEC, agent=agent
    )


def test_per_version_figures(seeded: Callable[[], Session]) -> None:
    ops = report(seeded, DAY).operations
    assert [(v.agent, v.version) for v in ops.versions] == [
        ("refund", "1"),
        ("refund", "2"),
        ("triage", "7"),
    ]
    stable, candidate, triage = ops.versions

    assert (stable.runs, stable.finished, stable.error_rate) == (10, 10, 0.0)
    assert stable.latency_p95_s == pytest.approx(9.55)
    assert stable.cost_per_run_usd == pytest.approx(0.002)
    assert (stable.tool_calls, stable.tool_failures, stable.tool_failure_rate) == (10, 0, 0.0)
    assert stable.tool_failure_within_target is True
    assert (stable.escalated, stable.replaced, stable.human_replacement_rate) == (2, 8, 0.8)
    a = stable.agreement
    assert (a.sampled, a.answered, a.agreed, a.rate) == (3, 2, 1, 0.5)
    assert stable.routing == {"rollout": 6, "default": 4}
    assert stable.rollout is None  # its own rollout ended three days ago

    assert (candidate.runs, candidate.finished, candidate.error_rate) == (6, 5, 0.4)
    assert candidate.latency_p95_s == pytest.approx(9.6)
    assert (candidate.tool_calls, candidate.tool_failures, candidate.tool_failure_rate) == (
        16,
        8,
        0.5,
    )
    assert candidate.tool_failure_within_target is False
    assert (candidate.escalated, candidate.replaced, candidate.human_replacement_rate) == (
        1,
        2,
        0.4,
    )
    a = candidate.agreement
    assert (a.sampled, a.answered, a.agreed, a.rate) == (2, 1, 0, 0.0)
    assert candidate.routing == {"rollout": 6}
    assert candidate.rollout is RolloutOutcome.ROLLED_BACK

    # Nothing finished, no tool call, no sample: every rate is "not measured", none is 0 %.
    assert (triage.runs, triage.finished) == (1, 0)
    assert (triage.error_rate, triage.latency_p95_s, triage.human_replacement_rate) == (
        None,
        None,
        None,
    )
    assert (triage.tool_calls, triage.tool_failure_rate, triage.tool_failure_within_target) == (
        0,
        None,
        None,
    )
    assert (triage.agreement.sampled, triage.agreement.rate) == (0, None)
    assert triage.routing == {"unrecorded": 1}

    assert (ops.tool_calls, ops.tool_failures) == (26, 8)
    assert ops.tool_failure_rate == pytest.approx(8 / 26)
    assert (ops.tool_failure_target, ops.tool_failure_within_target) == (0.03, False)


def test_deployments_and_recovery(seeded: Callable[[], Session]) -> None:
    ops = report(seeded, DAY).operations
    billing, refund = ops.deployments
    assert (billing.agent, billing.rollouts, billing.abandoned, billing.in_progress) == (
        "billing",
        2,
        1,
        1,
    )
    assert (billing.success_rate, billing.mean_time_to_recovery_s) == (None, None)
    assert (refund.rollouts, refund.promoted, refund.rolled_back, refund.in_progress) == (
        5,
        1,
        3,
        1,
    )
    assert refund.success_rate == 0.25
    assert refund.recoveries == 2  # the shadow's rollback recovered nobody
    assert refund.mean_time_to_recovery_s == pytest.approx((603 + 900) / 2)

    back = [r for r in ops.rollouts if r.outcome is RolloutOutcome.ROLLED_BACK]
    assert [(r.candidate, r.by, r.shadow, r.time_to_recovery_s) for r in back] == [
        ("2", "rollout-controller", False, pytest.approx(603)),
        ("3", "dana", False, pytest.approx(900)),
        ("4", "ana", True, None),
    ]
    analysed, commanded, _ = back
    assert analysed.failing_stage_started_at == NOW - timedelta(minutes=120)
    assert analysed.detected_at == NOW - timedelta(minutes=110)
    assert analysed.reason == "error rate 40.0% > 5%"
    assert commanded.failing_stage_started_at == NOW - timedelta(minutes=80)
    assert (commanded.detected_at, commanded.reason) == (None, "answers too long")
    running = {
        r.agent: r.candidate for r in ops.rollouts if r.outcome is RolloutOutcome.IN_PROGRESS
    }
    assert running == {"billing": "3", "refund": "5"}


def test_a_rollout_is_dated_by_its_end(seeded: Callable[[], Session]) -> None:
    """R3 began before this window and ended in it: in, with its whole story; R2 ended
    before it: out."""
    ops = report(seeded, NOW - timedelta(minutes=85)).operations
    refund = next(d for d in ops.deployments if d.agent == "refund")
    assert (refund.rollouts, refund.promoted, refund.rolled_back, refund.in_progress) == (
        4,
        1,
        2,
        1,
    )
    assert refund.success_rate == pytest.approx(1 / 3)
    assert refund.recoveries == 1
    assert refund.mean_time_to_recovery_s == pytest.approx(900)


def test_one_agent(seeded: Callable[[], Session]) -> None:
    triage = report(seeded, DAY, "triage").operations
    assert [v.version for v in triage.versions] == ["7"]
    assert (triage.deployments, triage.rollouts, triage.tool_failure_rate) == ([], [], None)

    billing = report(seeded, DAY, "billing").operations  # rollouts, but no runs
    assert billing.versions == []
    assert [(d.agent, d.rollouts) for d in billing.deployments] == [("billing", 2)]
