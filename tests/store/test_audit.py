"""The audit chain verifies clean, and every kind of tampering is caught at the right row."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col

from agentrun.contracts.tools import RetentionClass
from agentrun.store.audit import (
    GENESIS_HASH,
    LEGAL_RETENTION,
    AuditKind,
    append_event,
    expired_events,
    expired_prefix_end,
    record_anchor,
    verify_chain,
)
from agentrun.store.db import session_factory
from agentrun.store.models import AuditEventRow

T0 = datetime(2025, 1, 1, 9, 30, 0, 500000, tzinfo=UTC)
TAMPERED_SEQ = 3


def append(session: Session, i: int, **changes: Any) -> AuditEventRow:
    fields: dict[str, Any] = {
        "kind": AuditKind.TOOL_CALL,
        "actor": "system",
        "action": f"issue_refund:success#{i}",
        "run_id": "run-1",
        "tenant_id": "acme",
        "detail": {"attempt": i, "amount": 12.5, "nested": {"ok": True, "tags": ["a", "b"]}},
        "trace_id": f"trace-{i}",
        "at": T0 + timedelta(seconds=i),
    }
    fields.update(changes)
    return append_event(session, **fields)


@pytest.fixture
def chain(sessions: Callable[[], Session]) -> list[AuditEventRow]:
    with sessions() as s, s.begin():
        return [append(s, i) for i in range(1, 7)]


def set_fields(sessions: Callable[[], Session], where_seq: int, **values: Any) -> None:
    with sessions() as s, s.begin():
        stmt = update(AuditEventRow).where(col(AuditEventRow.seq) == where_seq)
        s.exec(stmt.values(**values))


def test_clean_chain_verifies(sessions: Callable[[], Session], chain: list[AuditEventRow]) -> None:
    assert chain[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]
    with sessions() as s:
        report = verify_chain(s)
    assert report.ok, report.message
    assert (report.checked, report.first_seq, report.last_seq) == (6, 1, 6)
    assert report.message == "audit chain OK: 6 events"


def test_empty_chain_verifies(sessions: Callable[[], Session]) -> None:
    with sessions() as s:
        report = verify_chain(s)
    assert report.ok
    assert report.checked == 0


EDITS: dict[str, Any] = {
    "at": T0 + timedelta(seconds=TAMPERED_SEQ, microseconds=1),
    "kind": "policy",
    "run_id": "run-2",
    "tenant_id": "globex",
    "actor": "mallory",
    "action": "issue_refund:error",
    "detail": {"attempt": TAMPERED_SEQ, "amount": 1250, "nested": {"ok": True, "tags": ["a"]}},
    "trace_id": None,
    "retention_class": RetentionClass.LEGAL_7Y.value,
    "prev_hash": "f" * 64,
    "hash": "e" * 64,
}


@pytest.mark.parametrize("field", sorted(EDITS))
def test_editing_any_field_is_caught_at_that_row(
    sessions: Callable[[], Session], chain: list[AuditEventRow], field: str
) -> None:
    set_fields(sessions, TAMPERED_SEQ, **{field: EDITS[field]})
    with sessions() as s:
        report = verify_chain(s)
    assert not report.ok
    assert (report.broken_seq, report.reason) == (TAMPERED_SEQ, "edited")
    assert report.checked == TAMPERED_SEQ - 1
    assert report.message.startswith(f"audit chain broken at seq {TAMPERED_SEQ}: edited (")


def test_editing_the_seq_is_caught_as_a_missing_row(
    sessions: Callable[[], Session], chain: list[AuditEventRow]
) -> None:
    set_fields(sessions, TAMPERED_SEQ, seq=1000)
    with sessions() as s:
        report = verify_chain(s)
    assert (report.ok, report.broken_seq, report.reason) == (False, TAMPERED_SEQ, "deleted")


@pytest.mark.parametrize("seq", [1, TAMPERED_SEQ])
def test_deleting_a_row_is_caught(
    sessions: Callable[[], Session], chain: list[AuditEventRow], seq: int
) -> None:
    with sessions() as s, s.begin():
        s.exec(delete(AuditEventRow).where(col(AuditEventRow.seq) == seq))
    with sessions() as s:
        report = verify_chain(s)
    assert (report.ok, report.broken_seq, report.reason) == (False, seq, "deleted")
    assert "is followed by seq" in report.message


def test_deleting_and_renumbering_is_caught(
    sessions: Callable[[], Session], chain: list[AuditEventRow]
) -> None:
    with sessions() as s, s.begin():
        s.exec(delete(AuditEventRow).where(col(AuditEventRow.seq) == TAMPERED_SEQ))
        for seq in range(TAMPERED_SEQ + 1, 7):
            stmt = update(AuditEventRow).where(col(AuditEventRow.seq) == seq)
            s.exec(stmt.values(seq=seq - 1))
    with sessions() as s:
        report = verify_chain(s)
    assert (report.ok, report.broken_seq, report.reason) == (False, TAMPERED_SEQ, "deleted")


@pytest.mark.parametrize(("first", "second"), [(TAMPERED_SEQ, TAMPERED_SEQ + 1), (2, 5)])
def test_swapping_two_rows_is_caught(
    sessions: Callable[[], Session], chain: list[AuditEventRow], first: int, second: int
) -> None:
    set_fields(sessions, first, seq=-1)
    set_fields(sessions, second, seq=first)
    set_fields(sessions, -1, seq=second)
    with sessions() as s:
        report = verify_chain(s)
    assert (report.ok, report.broken_seq, report.reason) == (False, first, "reordered")
    # The moved row still links to its old predecessor, wherever that one now sits.
    linked = second if second - 1 == first else second - 1
    assert f"links to seq {linked}, not to seq {first - 1}" in report.message


def test_anchor_lets_the_chain_lose_its_purged_start(
    sessions: Callable[[], Session], chain: list[AuditEventRow]
) -> None:
    with sessions() as s, s.begin():
        record_anchor(s, 2, reason="retention purge")
        s.exec(delete(AuditEventRow).where(col(AuditEventRow.seq) <= 2))
    with sessions() as s, s.begin():
        assert append(s, 7).seq == 7
    with sessions() as s:
        report = verify_chain(s)
    assert report.ok, report.message
    assert (report.checked, report.anchor_seq, report.first_seq) == (5, 2, 3)
    # Without the anchor the same deletion is tampering.
    with sessions() as s, s.begin():
        s.exec(delete(AuditEventRow).where(col(AuditEventRow.seq) == 3))
    with sessions() as s:
        report = verify_chain(s)
    assert (report.broken_seq, report.reason) == (3, "deleted")


def test_expired_events_follow_their_retention_class(sessions: Callable[[], Session]) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    with sessions() as s, s.begin():
        append(s, 1, at=old)
        append(s, 2, at=old, retention=RetentionClass.LEGAL_7Y)
        append(s, 3, at=old)
        append(s, 4, at=datetime(2025, 1, 1, tzinfo=UTC), retention=RetentionClass.LEGAL_7Y)
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with sessions() as s:
        assert [e.seq for e in expired_events(s, now)] == [1, 3]
        # The 7-year event blocks the purge of the chain's start beyond seq 1.
        assert expired_prefix_end(s, now) == 1
        later = old + LEGAL_RETENTION + timedelta(days=1)
        assert [e.seq for e in expired_events(s, later)] == [1, 2, 3]
        assert expired_prefix_end(s, later) == 3
        assert expired_prefix_end(s, datetime(2020, 1, 2, tzinfo=UTC)) is None


def test_concurrent_appends_keep_one_chain(engine: Engine) -> None:
    threads, per_thread = 4, 25
    sessions = session_factory(engine)
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with sessions() as s, s.begin():
                    append(s, i, actor=f"worker-{worker}", at=datetime.now(UTC))
        except BaseException as err:  # noqa: BLE001 -- reported by the main thread
            errors.append(err)

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not errors, errors
    with sessions() as s:
        report = verify_chain(s)
    assert report.ok, report.message
    assert (report.checked, report.last_seq) == (threads * per_thread, threads * per_thread)
