"""A store history for retention tests: runs of every fate, with audit events in a known order.

Relative to ``now``, in chain order (14 events):

- ``old``: finished 100 days ago, business class only: 2 transitions, a tool call, a model call,
  a review (seq 1-5). Expired with all its rows.
- ``ancient``: finished 8 years ago with a 7-year tool call: 1 transition, 1 tool call (seq 6-7).
  Expired in the 7-year class.
- ``legal``: finished 100 days ago with a 7-year tool call between two transitions (seq 8-10).
  Kept 7 years; its first transition is expired and still in the prefix (seq 8), its tool call
  (seq 9) is the first kept event, so its second transition (seq 10) waits behind it.
- ``open``: started 100 days ago and never finished: 1 transition (seq 11), expired but waiting.
- ``recent``: finished a day ago: 2 transitions and a model call (seq 12-14). Kept.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session

from agentrun.contracts.states import RunState
from agentrun.contracts.tools import RetentionClass
from agentrun.store import repository as repo
from agentrun.store.models import ConversationMessageRow

EVENTS = 14
PREFIX_END = 8
FIRST_KEPT = 9


@dataclass(frozen=True)
class Seeded:
    old: str
    ancient: str
    legal: str
    open: str
    recent: str

    @property
    def expired(self) -> set[str]:
        return {self.old, self.ancient}

    @property
    def kept(self) -> set[str]:
        return {self.legal, self.open, self.recent}


def _run(session: Session, run_id: str, started: datetime, finished: datetime | None) -> None:
    repo.upsert_run(
        session,
        run_id=run_id,
        agent="refund",
        tenant_id="acme",
        user_id="u-1",
        request_id=run_id,
        trace_id=f"trace-{run_id}",
        state=RunState.COMPLETED if finished else RunState.EXECUTING,
        started_at=started,
        finished_at=finished,
    )


def _transition(session: Session, run_id: str, seq: int, at: datetime) -> None:
    target = RunState.INIT if seq == 0 else RunState.COMPLETED
    repo.record_transition(session, run_id=run_id, seq=seq, target=target, at=at)


def _tool_call(session: Session, run_id: str, at: datetime, retention: RetentionClass) -> None:
    repo.record_tool_call(
        session,
        run_id=run_id,
        idempotency_key=f"{run_id}/tool",
        attempt=1,
        tool="issue_refund",
        status="success",
        started_at=at,
        finished_at=at,
        retention=retention,
    )


def _message(session: Session, run_id: str) -> None:
    """The run's conversation lives in the store too (no foreign key: the purge deletes it)."""
    session.execute(
        insert(ConversationMessageRow.__table__),  # type: ignore[attr-defined]
        [{"run_id": run_id, "idx": 0, "message": '{"role":"user","content":"hi"}'}],
    )


def seed(session: Session, now: datetime, prefix: str = "ret") -> Seeded:
    """Write the history above in the caller's transaction."""
    ids = Seeded(*(f"{prefix}-{name}" for name in ("old", "ancient", "legal", "open", "recent")))
    old = now - timedelta(days=100)
    ancient = now - timedelta(days=8 * 365)
    recent = now - timedelta(days=1)
    minute = timedelta(minutes=1)
    for run_id, started, finished in [
        (ids.old, old, old + minute),
        (ids.ancient, ancient, ancient + minute),
        (ids.legal, old, old + minute),
        (ids.open, old, None),
        (ids.recent, recent, recent + minute),
    ]:
        _run(session, run_id, started, finished)

    _transition(session, ids.old, 0, old)
    _transition(session, ids.old, 1, old + minute)
    _tool_call(session, ids.old, old, RetentionClass.BUSINESS_90D)
    repo.record_model_call(
        session, run_id=ids.old, turn=1, attempt=1, provider="scripted", model="m", at=old
    )
    repo.record_review(
        session,
        run_id=ids.old,
        review_id="final-1",
        kind="final",
        decision="approve",
        reviewer="alice",
        at=old,
    )

    _message(session, ids.old)

    _transition(session, ids.ancient, 0, ancient)
    _tool_call(session, ids.ancient, ancient, RetentionClass.LEGAL_7Y)

    _transition(session, ids.legal, 0, old)
    _tool_call(session, ids.legal, old, RetentionClass.LEGAL_7Y)
    _transition(session, ids.legal, 1, old + minute)

    _transition(session, ids.open, 0, old)

    _transition(session, ids.recent, 0, recent)
    _transition(session, ids.recent, 1, recent + minute)
    repo.record_model_call(
        session, run_id=ids.recent, turn=1, attempt=1, provider="scripted", model="m", at=recent
    )
    _message(session, ids.recent)
    return ids
