"""The record's driver-level statements: what they store reads back as SQLAlchemy wrote it."""

import _sqlite3
import ctypes
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agentrun.contracts.states import RunState
from agentrun.store import bulk, migrate
from agentrun.store import repository as repo
from agentrun.store.audit import AuditKind, EventSpec, append_events, verify_chain
from agentrun.store.bulk import Bulk
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import AuditEventRow, ToolCallRow, TransitionRow
from agentrun.store.rows import table_of, write_rows
from tests.store.test_repository import add_run

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_values_read_back_with_their_types(sessions: Callable[[], Session]) -> None:
    """Aware datetimes, booleans, NULLs and floats go through the column types' processors."""
    with sessions() as s, s.begin():
        add_run(s, "run-a")
        write_rows(
            s,
            [
                repo.tool_call_item(
                    run_id="run-a",
                    idempotency_key="k",
                    attempt=1,
                    tool="refund",
                    status="error",
                    started_at=T0,
                    finished_at=T0 + timedelta(milliseconds=5),
                    error_class="Timeout",
                    retryable=False,
                    duration_ms=5.25,
                )
            ],
        )
    with sessions() as s:
        row = s.exec(select(ToolCallRow)).one()
    assert row.started_at == T0
    assert row.started_at.tzinfo is not None
    assert row.finished_at == T0 + timedelta(milliseconds=5)
    assert row.retryable is False
    assert row.fallback_for is None
    assert row.duration_ms == pytest.approx(5.25)


def test_a_batch_larger_than_one_statement_is_split_and_kept_whole(
    sessions: Callable[[], Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the bound-parameter limit a batch goes in several statements, none lost or doubled."""
    monkeypatch.setattr(bulk, "MAX_PARAMS", 60)  # 10 rows of 6 columns per statement
    items = [
        repo.transition_item(run_id="run-a", seq=n, target=RunState.EXECUTING, at=T0)
        for n in range(95)
    ]
    with sessions() as s, s.begin():
        add_run(s, "run-a")
        assert write_rows(s, items) == [True] * 95
    with sessions() as s, s.begin():
        assert write_rows(s, items) == [False] * 95
    with sessions() as s:
        seqs = s.exec(select(TransitionRow.seq).order_by(col(TransitionRow.seq))).all()
        assert list(seqs) == list(range(95))
        assert verify_chain(s).checked == 95


def test_without_a_conflict_target_a_duplicate_key_raises(
    sessions: Callable[[], Session],
) -> None:
    """The audit chain's rows are inserted this way: a clash must fail, never vanish."""
    with sessions() as s, s.begin():
        append_events(s, [EventSpec(kind=AuditKind.RUN, actor="system", action="a", at=T0)])
    with sessions() as s:
        row = s.exec(select(AuditEventRow)).one().model_dump()
    with pytest.raises(IntegrityError), sessions() as s, s.begin():
        Bulk(s).insert(table_of(AuditEventRow), [row], conflict=None)


def test_an_unknown_column_is_named(sessions: Callable[[], Session]) -> None:
    with pytest.raises(KeyError, match="'colour'"), sessions() as s, s.begin():
        Bulk(s).insert(table_of(TransitionRow), [{"colour": "red"}], conflict=None)


def test_audit_detail_is_stored_as_it_was_hashed(sessions: Callable[[], Session]) -> None:
    """The detail column holds the canonical JSON, and reads back as the dict that was hashed."""
    detail = {"b": [1, 2.5, None], "a": {"é": "ü", "at": T0}, "flag": True}
    with sessions() as s, s.begin():
        (event,) = append_events(
            s, [EventSpec(kind=AuditKind.POLICY, actor="p", action="x", detail=detail, at=T0)]
        )
    with sessions() as s:
        row = s.exec(select(AuditEventRow)).one()
        assert row.detail == event["detail"]
        assert row.detail["a"]["at"] == "2025-03-01T12:00:00.123456+00:00"
        assert verify_chain(s).ok


def sqlite_memory_in_use() -> int:
    """Bytes SQLite's allocator holds in this process (``sqlite3_memory_used``)."""
    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return int(used())


def test_batches_of_every_size_leave_few_prepared_statements(tmp_path: Path) -> None:
    """SQLite's driver keeps each connection's last 128 statements prepared, with the values
    last bound to them: a statement per batch size held every size a writer ever sent (25 MB
    for the sizes 1 to 200 below). At most ``CACHED_ROWS`` rows a statement keep it to a few."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=1, max_overflow=0)  # one connection: one driver cache
    sessions = session_factory(engine)
    try:
        with sessions() as s, s.begin():
            add_run(s, "run-a")
        before = sqlite_memory_in_use()
        seq = 0
        for size in range(1, 201):
            items = [
                repo.transition_item(run_id="run-a", seq=seq + n, target=RunState.EXECUTING, at=T0)
                for n in range(size)
            ]
            seq += size
            with sessions() as s, s.begin():
                assert write_rows(s, items) == [True] * size
        grown = sqlite_memory_in_use() - before
    finally:
        engine.dispose()
    assert grown < 12 * 1024 * 1024, f"{grown / 2**20:.1f} MB kept by SQLite"
