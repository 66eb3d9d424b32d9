"""The SQLite engine's settings: what every connection and transaction of the store gets."""

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text

from agentrun.store.db import make_engine


def test_sqlite_connections_use_wal_normal_sync_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    # synchronous 1 is NORMAL (2 would be FULL: an fsync per commit).
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 30_000,
    }


def test_a_transaction_holds_the_write_lock_from_its_start(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer cannot start while a transaction that only read is open."""
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM t")).scalar()  # a read, no write yet
            outcome: list[str] = []

            def other_writer() -> None:
                other = sqlite3.connect(path, timeout=0, isolation_level=None)
                try:
                    other.execute("BEGIN IMMEDIATE")
                    outcome.append("got the lock")
                except sqlite3.OperationalError as err:
                    outcome.append(str(err))
                finally:
                    other.close()

            thread = threading.Thread(target=other_writer)
            thread.start()
            thread.join()
            assert outcome == ["database is locked"]
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        engine.dispose()
