"""The retention purge deletes exactly what expired, keeps the audit chain verifiable, and is
idempotent; a dry run changes nothing. On SQLite and PostgreSQL alike."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, func, select

from agentrun.contracts.retention import PurgeRequest
from agentrun.contracts.states import RunState
from agentrun.contracts.tools import RetentionClass
from agentrun.store import repository as repo
from agentrun.store.audit import (
    LEGAL_RETENTION,
    AuditKind,
    append_event,
    latest_anchor,
    verify_chain,
)
from agentrun.store.models import (
    AuditEventRow,
    ConversationMessageRow,
    ModelCallRow,
    ReviewRow,
    RunRow,
    ToolCallRow,
    TransitionRow,
)
from agentrun.store.retention import PurgeRefused, carry_out, plan_purge, purge
from tests.support.retention import EVENTS, FIRST_KEPT, PREFIX_END, Seeded, seed

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TABLES = {
    "runs": RunRow,
    "run_transitions": TransitionRow,
    "tool_calls": ToolCallRow,
    "model_calls": ModelCallRow,
    "reviews": ReviewRow,
    "conversation_messages": ConversationMessageRow,
    "audit_events": AuditEventRow,
}


@pytest.fixture
def seeded(sessions: Callable[[], Session]) -> Seeded:
    with sessions() as s, s.begin():
        return seed(s, NOW)


def row_counts(session: Session) -> dict[str, int]:
    return {
        name: session.exec(select(func.count()).select_from(m)).one() for name, m in TABLES.items()
    }


def test_plan_counts_exactly_what_expired(sessions: Callable[[], Session], seeded: Seeded) -> None:
    with sessions() as s:
        plan = plan_purge(s, NOW)
    assert (plan.now, plan.through_seq, plan.blocked_by_seq) == (NOW, PREFIX_END, FIRST_KEPT)
    business, legal = plan.classes
    assert business.retention_class is RetentionClass.BUSINESS_90D
    assert business.cutoff == NOW - timedelta(days=90)
    # old's 5 events, ancient's transition, legal's first transition; legal's second
    # transition and open's transition wait behind legal's 7-year tool call.
    assert (business.audit_events, business.blocked_events) == (7, 2)
    assert (business.runs, business.sample_run_ids) == (1, [seeded.old])
    assert (business.transitions, business.tool_calls) == (2, 1)
    assert (business.model_calls, business.reviews, business.messages) == (1, 1, 1)

    assert legal.retention_class is RetentionClass.LEGAL_7Y
    assert legal.keep == LEGAL_RETENTION
    assert (legal.audit_events, legal.blocked_events) == (1, 0)
    assert (legal.runs, legal.sample_run_ids) == (1, [seeded.ancient])
    assert (legal.transitions, legal.tool_calls, legal.model_calls, legal.reviews) == (1, 1, 0, 0)
    assert (plan.runs, plan.audit_events, plan.blocked_events) == (2, PREFIX_END, 2)


def test_purge_removes_expired_runs_and_the_chain_prefix(
    sessions: Callable[[], Session], seeded: Seeded
) -> None:
    with sessions() as s, s.begin():
        result = purge(s, NOW)
    assert not result.dry_run
    assert result.anchor_seq == PREFIX_END
    assert result.deleted == {
        "run_transitions": 3,
        "tool_calls": 2,
        "model_calls": 1,
        "reviews": 1,
        "conversation_messages": 1,
        "governance_events": 0,
        "runs": 2,
        "audit_events": PREFIX_END,
    }
    with sessions() as s:
        runs = set(s.exec(select(RunRow.run_id)).all())
        assert runs == seeded.kept
        for model in (TransitionRow, ToolCallRow, ModelCallRow, ReviewRow, ConversationMessageRow):
            left = set(s.exec(select(model.run_id)).all())
            assert left <= seeded.kept, model
        seqs = list(s.exec(select(AuditEventRow.seq).order_by(col(AuditEventRow.seq))).all())
        assert seqs == list(range(FIRST_KEPT, EVENTS + 1))
        anchor = latest_anchor(s)
        assert anchor is not None
        assert anchor.through_seq == PREFIX_END
        report = verify_chain(s)
    assert report.ok, report.message
    assert (report.anchor_seq, report.checked) == (PREFIX_END, EVENTS - PREFIX_END)


def test_second_purge_at_the_same_time_deletes_nothing(
    sessions: Callable[[], Session], seeded: Seeded
) -> None:
    with sessions() as s, s.begin():
        purge(s, NOW)
    with sessions() as s:
        before = row_counts(s)
    with sessions() as s, s.begin():
        again = purge(s, NOW)
    assert again.anchor_seq is None
    assert set(again.deleted.values()) == {0}
    assert again.plan.through_seq is None
    assert again.plan.blocked_by_seq == FIRST_KEPT
    assert (again.plan.runs, again.plan.audit_events, again.plan.blocked_events) == (0, 0, 2)
    with sessions() as s:
        assert row_counts(s) == before
        assert verify_chain(s).ok


def test_dry_run_changes_nothing(sessions: Callable[[], Session], seeded: Seeded) -> None:
    with sessions() as s:
        before = row_counts(s)
    with sessions() as s, s.begin():
        result = carry_out(s, PurgeRequest(dry_run=True, now=NOW))
    assert result.dry_run
    assert result.deleted == {}
    assert result.anchor_seq is None
    assert (result.plan.runs, result.plan.audit_events) == (2, PREFIX_END)
    with sessions() as s:
        assert row_counts(s) == before
        assert latest_anchor(s) is None
    assert before["runs"] == 5
    assert before["audit_events"] == EVENTS


def test_everything_expired_then_the_chain_goes_on_from_the_anchor(
    sessions: Callable[[], Session], seeded: Seeded
) -> None:
    later = NOW + timedelta(days=8 * 365)
    with sessions() as s, s.begin():
        result = purge(s, later)
    # The open run never finished, so it stays; everything else and every event goes.
    assert result.deleted["runs"] == 4
    assert result.deleted["audit_events"] == EVENTS
    assert result.anchor_seq == EVENTS
    with sessions() as s, s.begin():
        event = append_event(
            s, kind=AuditKind.POLICY, actor="system", action="after_purge", at=later
        )
    assert event.seq == EVENTS + 1
    with sessions() as s:
        assert set(s.exec(select(RunRow.run_id)).all()) == {seeded.open}
        report = verify_chain(s)
    assert report.ok, report.message
    assert (report.anchor_seq, report.first_seq, report.checked) == (EVENTS, EVENTS + 1, 1)


def test_a_plan_for_another_time_is_refused(
    sessions: Callable[[], Session], seeded: Seeded
) -> None:
    with sessions() as s:
        plan = plan_purge(s, NOW)
    with sessions() as s, s.begin(), pytest.raises(ValueError, match="the plan is for"):
        purge(s, NOW + timedelta(seconds=1), plan)
    with sessions() as s, s.begin():
        result = purge(s, NOW, plan)
    assert result.deleted["runs"] == 2


def test_naive_now_is_refused(sessions: Callable[[], Session]) -> None:
    with sessions() as s, pytest.raises(ValueError, match="naive datetime"):
        plan_purge(s, datetime(2026, 1, 1))  # noqa: DTZ001 -- the point of the test


def test_a_purge_may_not_look_ahead_but_a_dry_run_may(
    sessions: Callable[[], Session], seeded: Seeded
) -> None:
    ahead = datetime.now(UTC) + timedelta(days=8 * 365)
    with sessions() as s, s.begin():
        before = row_counts(s)
        looked = carry_out(s, PurgeRequest(dry_run=True, now=ahead))
        assert looked.plan.runs == 4  # all but the run that never finished
        with pytest.raises(PurgeRefused, match="is in the future"):
            carry_out(s, PurgeRequest(now=ahead))
    with sessions() as s:
        assert row_counts(s) == before


def test_a_run_without_audit_events_keeps_the_default_class(
    sessions: Callable[[], Session],
) -> None:
    finished = NOW - timedelta(days=91)
    with sessions() as s, s.begin():
        repo.upsert_run(
            s,
            run_id="bare",
            agent="refund",
            tenant_id="acme",
            user_id="u-1",
            request_id="bare",
            trace_id="trace-bare",
            state=RunState.COMPLETED,
            started_at=finished,
            finished_at=finished,
        )
    with sessions() as s:
        assert plan_purge(s, NOW - timedelta(days=2)).runs == 0
        business, legal = plan_purge(s, NOW).classes
    assert (business.runs, business.sample_run_ids, legal.runs) == (1, ["bare"], 0)
    with sessions() as s, s.begin():
        assert purge(s, NOW).deleted["runs"] == 1
