"""Run store outages on demand, made the way they happen: another process holds SQLite's write
lock (``BEGIN EXCLUSIVE``), or another PostgreSQL session locks the store's tables, until the
outage is ended. No fakes: the worker's own engine meets a real lock."""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Engine, event
from sqlmodel import Session

from agentrun.store import migrate
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import STORE_TABLES

# A separate process, as in the outage this reproduces; it waits (up to a minute) for a write
# transaction in progress, says "locked" once it holds the lock, and releases it on a line of
# input (or when the test process goes away and its stdin closes).
_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@dataclass
class Outage:
    """An outage in progress, from ``started`` (monotonic) until :meth:`end`."""

    _release: Callable[[], None]
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    def end(self) -> float:
        """Release the lock (once); the monotonic time it was released."""
        if self.ended is None:
            self._release()
            self.ended = time.monotonic()
        return self.ended


@contextmanager
def sqlite_outage(path: Path) -> Iterator[Outage]:
    """SQLite's single write lock held by another process: every write waits out its busy
    timeout and fails with "database is locked"."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None
    assert holder.stdout is not None
    stdin = holder.stdin

    def release() -> None:
        if holder.poll() is None:
            stdin.write("\n")
            stdin.flush()
        holder.wait(30)

    try:
        if holder.stdout.readline().strip() != "locked":
            raise AssertionError(f"the lock holder for {path} did not get the lock")
        outage = Outage(release)
        yield outage
    finally:
        if holder.poll() is None:
            release()
        stdin.close()
        holder.stdout.close()


@contextmanager
def postgres_outage(url: str) -> Iterator[Outage]:
    """Every table of the store locked ``ACCESS EXCLUSIVE`` by another session: reads and
    writes wait until the session's transaction ends."""
    conn = psycopg.connect(url)
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in STORE_TABLES)
    conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(tables))
    try:
        yield Outage(conn.rollback)
    finally:
        conn.rollback()
        conn.close()


@dataclass
class SqliteStore:
    path: Path
    engine: Engine
    sessions: Callable[[], Session]


@contextmanager
def sqlite_store(path: Path, busy_ms: int = 100) -> Iterator[SqliteStore]:
    """A migrated SQLite store whose connections wait ``busy_ms`` for the write lock (30 s in a
    worker), so that a try against a locked store fails in a tenth of a second."""
    migrate.upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _short_busy(dbapi_connection: Any, _record: Any) -> None:  # after the store's own
        dbapi_connection.execute(f"PRAGMA busy_timeout = {busy_ms}")

    try:
        yield SqliteStore(path, engine, session_factory(engine))
    finally:
        engine.dispose()
