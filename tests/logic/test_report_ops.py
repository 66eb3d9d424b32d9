"""Operations figures without a database: escalation and the sample, rollouts from their trail,
rates that say "n/a" rather than divide by zero."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from agentrun.contracts.agents import ReviewMode, ReviewPolicy
from agentrun.contracts.report import ReportData, Thresholds
from agentrun.contracts.report_ops import (
    GateAnswer,
    GatedRun,
    RolloutEvent,
    RolloutOutcome,
    VersionTotals,
)
from agentrun.logic.guards import review_reason
from agentrun.logic.report import build_report
from agentrun.logic.report_ops import (
    TOOL_FAILURE_TARGET,
    deployments,
    in_window,
    is_sample,
    read_gates,
    rollouts,
    routing_kind,
    version_ops,
)

T0 = datetime(2025, 6, 1, tzinfo=UTC)
SAMPLE = "quality sample (1% of runs)"
APPROVAL = "approval needed: send_email always requires approval"


def run(
    entries: list[str | None], answers: list[tuple[str, bool]], state: str = "COMPLETED"
) -> GatedRun:
    return GatedRun(
        agent="a",
        version="1",
        state=state,
        entries=entries,
        answers=[GateAnswer(decision=d, automatic=auto) for d, auto in answers],
    )


# ----------------------------------------------------------------- review gates


def test_the_sample_reason_is_the_one_the_workflow_writes() -> None:
    policy = ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.01)
    reason = review_reason(policy, confidence=1.0, sample_draw=0.0)
    assert is_sample(reason)
    assert not is_sample("agent policy: every run is reviewed")
    assert not is_sample(None)


def test_a_sample_approved_as_is_is_no_escalation_and_agrees() -> None:
    escalated, sample = read_gates(run([SAMPLE], [("approve", False)]))
    assert not escalated
    assert (sample.sampled, sample.answered, sample.agreed) == (1, 1, 1)


def test_a_sample_a_person_changed_is_an_escalation_and_disagrees() -> None:
    for decision in ("edit", "reject", "request_changes"):
        escalated, sample = read_gates(run([SAMPLE], [(decision, False)]))
        assert escalated, decision
        assert (sample.sampled, sample.answered, sample.agreed) == (1, 1, 0)


def test_automatic_answers_are_nobody_s_opinion() -> None:
    escalated, sample = read_gates(run([SAMPLE], [("approve", True)]))
    assert not escalated  # auto-approved at its deadline: nobody stepped in
    assert (sample.sampled, sample.answered) == (1, 0)
    escalated, sample = read_gates(run([SAMPLE], [("reject", True)], state="FAILED"))
    assert escalated
    assert (sample.sampled, sample.answered) == (1, 0)


def test_any_other_gate_is_an_escalation() -> None:
    for reason in (APPROVAL, "agent policy: every run is reviewed", None):
        escalated, sample = read_gates(run([reason], [("approve", False)]))
        assert escalated
        assert sample.sampled == 0


def test_gates_pair_in_order_and_an_open_gate_has_no_answer() -> None:
    # A tool approval, then the sample: the sample's answer is the second review.
    escalated, sample = read_gates(run([APPROVAL, SAMPLE], [("approve", False), ("edit", False)]))
    assert escalated
    assert (sample.answered, sample.agreed) == (1, 0)
    _, waiting = read_gates(run([SAMPLE], [], state="REVIEWING"))
    assert (waiting.sampled, waiting.answered, waiting.rate) == (1, 0, None)
    # A review with no entry recorded is not assumed to be the sample.
    escalated, sample = read_gates(run([], [("approve", False)]))
    assert escalated
    assert sample.sampled == 0


def test_routing_kinds() -> None:
    assert routing_kind("pinned") == "pinned"
    assert routing_kind("default") == "default"
    assert routing_kind("rollout rollout-refund stage 2/4 (25 %): candidate") == "rollout"
    assert routing_kind("rollout rollout-refund stage 1/1 (100 %): stable, shadowed") == "rollout"
    assert routing_kind("rollout rollout-refund shadow of r-1") == "shadow"
    assert routing_kind(None) == "unrecorded"
    assert routing_kind("something new") == "other"


@given(
    st.lists(
        st.tuples(
            st.sampled_from([SAMPLE, APPROVAL, None]),
            st.none() | st.tuples(st.sampled_from(["approve", "edit", "reject"]), st.booleans()),
        ),
        max_size=6,
    )
)
def test_sample_counts_nest(gates: list[tuple[str | None, tuple[str, bool] | None]]) -> None:
    # Gates open one at a time, so the answered ones are a prefix: up to the first open gate.
    answers: list[tuple[str, bool]] = []
    for _, answer in gates:
        if answer is None:
            break
        answers.append(answer)
    reasons = [reason for reason, _ in gates]
    _, sample = read_gates(run(reasons, answers))
    assert sample.sampled == reasons.count(SAMPLE)
    assert 0 <= sample.agreed <= sample.answered <= sample.sampled
    assert sample.answered == sum(
        1
        for reason, (_, automatic) in zip(reasons, answers, strict=False)
        if reason == SAMPLE and not automatic
    )


# ----------------------------------------------------------------- rollouts


def event(
    seq: int,
    minutes: float,
    action: str,
    stage: str = "",
    candidate: str = "2",
    *,
    agent: str = "refund",
    actor: str = "rollout-controller",
    shadow: bool = False,
    detected: float | None = None,
) -> RolloutEvent:
    return RolloutEvent(
        seq=seq,
        at=T0 + timedelta(minutes=minutes),
        actor=actor,
        action=action,
        agent=agent,
        rollout_id=f"rollout-{agent}",
        stable="1",
        candidate=candidate,
        stage=stage,
        shadow=shadow,
        reason="too slow" if action == "rolled_back" else None,
        detected_at=None if detected is None else T0 + timedelta(minutes=detected),
    )


def test_recovery_runs_from_the_failing_stage_to_the_rollback() -> None:
    [record] = rollouts(
        [
            event(1, 0, "stage", "stage 1/3"),
            event(2, 10, "stage", "stage 2/3"),
            event(3, 12, "pause"),  # changes no traffic: read past
            event(4, 35, "rolled_back", "rolled back", detected=35),
        ]
    )
    assert record.outcome is RolloutOutcome.ROLLED_BACK
    assert (record.started_at, record.ended_at) == (T0, T0 + timedelta(minutes=35))
    assert record.failing_stage_started_at == T0 + timedelta(minutes=10)
    assert record.time_to_recovery_s == 25 * 60
    assert (record.stage, record.reason) == ("stage 2/3", "too slow")


def test_promoted_shadow_abandoned_and_running() -> None:
    records = rollouts(
        [
            event(1, 0, "stage", "stage 1/2", "2"),
            event(2, 5, "stage", "stage 1/2", "3"),  # a new first stage: "2" never ended
            event(3, 15, "stage", "stage 2/2", "3"),
            event(4, 25, "promoted", "promoted", "3", actor="dana"),
            event(5, 30, "stage", "stage 1/1", "4", shadow=True),
            event(6, 40, "rolled_back", "rolled back", "4"),
            event(7, 50, "stage", "stage 1/2", "5"),
            event(8, 55, "stage", "stage 1/2", "5"),  # the same versions started again
        ]
    )
    assert [(r.candidate, r.outcome) for r in records] == [
        ("2", RolloutOutcome.ABANDONED),
        ("3", RolloutOutcome.PROMOTED),
        ("4", RolloutOutcome.ROLLED_BACK),
        ("5", RolloutOutcome.ABANDONED),
        ("5", RolloutOutcome.IN_PROGRESS),
    ]
    abandoned, promoted, shadow, _, running = records
    assert abandoned.failing_stage_started_at is None
    assert (promoted.by, promoted.time_to_recovery_s, promoted.failing_stage_started_at) == (
        "dana",
        None,
        None,
    )
    assert shadow.shadow
    assert shadow.time_to_recovery_s is None  # nobody was on the candidate
    assert running.started_at == T0 + timedelta(minutes=55)

    [agent] = deployments(records)
    assert (agent.rollouts, agent.promoted, agent.rolled_back) == (5, 1, 1)
    assert (agent.in_progress, agent.abandoned, agent.success_rate) == (1, 2, 0.5)
    assert (agent.recoveries, agent.mean_time_to_recovery_s) == (0, None)


def test_an_end_whose_start_was_purged_still_counts() -> None:
    [record] = rollouts([event(9, 60, "rolled_back", "rolled back")])
    assert record.outcome is RolloutOutcome.ROLLED_BACK
    assert (record.failing_stage_started_at, record.time_to_recovery_s) == (None, None)


def test_agents_are_told_apart_and_a_running_rollout_is_always_in_the_window() -> None:
    records = rollouts(
        [
            event(1, 0, "stage", "stage 1/2", agent="billing"),
            event(2, 1, "stage", "stage 1/2", agent="refund"),
            event(3, 2, "promoted", "promoted", agent="billing"),
        ]
    )
    assert [(r.agent, r.outcome) for r in records] == [
        ("billing", RolloutOutcome.PROMOTED),
        ("refund", RolloutOutcome.IN_PROGRESS),
    ]
    later = T0 + timedelta(days=1)
    assert [in_window(r, later) for r in records] == [False, True]
    assert [in_window(r, T0 + timedelta(minutes=2)) for r in records] == [True, True]


# ----------------------------------------------------------------- versions


def test_rates_are_none_when_nothing_was_counted() -> None:
    [v] = version_ops([VersionTotals(agent="a", version=None, runs=2)], [], [])
    assert (v.finished, v.error_rate, v.latency_p95_s) == (0, None, None)
    assert (v.tool_failure_rate, v.tool_failure_within_target) == (None, None)
    assert (v.human_replacement_rate, v.agreement.rate) == (None, None)
    assert v.routing == {}


def test_the_tool_target_is_strict_and_failed_runs_replace_nobody() -> None:
    totals = VersionTotals(
        agent="a",
        version="1",
        runs=10,
        finished=10,
        completed=8,
        failed=2,
        tool_calls=100,
        tool_failures=3,
        reasons={"pinned": 7, "": 3},
    )
    gated = [
        run([APPROVAL], [("approve", False)]),
        run([APPROVAL], [("reject", False)], state="FAILED"),
        run([APPROVAL], [], state="REVIEWING"),  # not finished: not counted
    ]
    [v] = version_ops([totals], gated, [])
    assert (v.tool_failure_rate, v.tool_failure_within_target) == (0.03, False)
    assert TOOL_FAILURE_TARGET == 0.03
    assert (v.escalated, v.replaced, v.human_replacement_rate) == (2, 7, 0.7)
    assert v.routing == {"pinned": 7, "unrecorded": 3}
    [under] = version_ops([totals.model_copy(update={"tool_failures": 2})], [], [])
    assert under.tool_failure_within_target is True


def test_an_empty_report_has_empty_operations() -> None:
    report = build_report(
        ReportData(),
        since="24h",
        start=T0,
        generated_at=T0,
        thresholds=Thresholds(max_error_rate=0.05, max_p95_s=10.0),
    )
    ops = report.operations
    assert (ops.tool_calls, ops.tool_failure_rate, ops.tool_failure_within_target) == (
        0,
        None,
        None,
    )
    assert (ops.versions, ops.deployments, ops.rollouts) == ([], [], [])
    assert report.alerts == []
