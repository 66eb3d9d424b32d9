"""Store reads that fail: a locked store is unreadable (the last value serves), a bug is raised.

A locked SQLite file raises the driver's own ``sqlite3.OperationalError`` (the store begins its
transactions with ``BEGIN IMMEDIATE`` itself), not SQLAlchemy's: it used to reach PREPARING and
every tool call as an unexpected error once a read outlasted the busy timeout.
"""

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from agentrun.activities import cached_read
from agentrun.activities.cached_read import CachedRead
from agentrun.activities.prepare import PrepareActivities
from agentrun.agents.registry import AgentRegistry
from agentrun.store.db import make_engine, session_factory
from tests.support.store import held_exclusively, migrate_data_dir


def _reader(path: Path) -> tuple[list[int], Callable[[], int]]:
    """A read and the counts it read."""
    reads: list[int] = []

    def read() -> int:
        """Slower than a caller waits, then a real transaction on the file, as the store's."""
        time.sleep(cached_read.WAIT_S + 0.2)
        connection = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            (count,) = connection.execute("SELECT count(*) FROM t").fetchone()
            connection.execute("COMMIT")
        finally:
            connection.close()
        reads.append(count)
        return int(count)

    return reads, read


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.execute("INSERT INTO t VALUES (1), (2)")
    return path


async def _next_read(cached: "CachedRead[int]") -> int:
    await asyncio.sleep(cached_read.REFRESH_S + 0.1)
    return await cached.get()


async def test_a_read_that_failed_on_a_locked_store_serves_the_last_value(table: Path) -> None:
    reads, read = _reader(table)
    cached: CachedRead[int] = CachedRead(read, -1, what="test")
    assert await cached.get() == -1  # the first read is still running: the initial value
    await asyncio.sleep(cached_read.WAIT_S + 0.5)
    assert await cached.get() == 2
    with held_exclusively(table):
        assert await _next_read(cached) == 2  # starts a read that fails on the lock
        await asyncio.sleep(cached_read.WAIT_S + 0.5)
        assert await _next_read(cached) == 2  # collects that failure: no exception here
    assert reads == [2], "no read can have succeeded while the file was held"
    deadline = time.monotonic() + 10
    while len(reads) < 2:  # reads go on once the lock is gone
        assert time.monotonic() < deadline, "reads never came back after the lock"
        assert await _next_read(cached) == 2


async def test_a_read_that_raises_a_bug_is_not_hidden() -> None:
    def broken() -> int:
        raise ValueError("a bug in the read")

    cached: CachedRead[int] = CachedRead(broken, 0, what="test")
    with pytest.raises(ValueError, match="a bug in the read"):
        await cached.get()


async def test_preparings_owner_check_reads_a_locked_store_as_unreadable(tmp_path: Path) -> None:
    """The same class in PREPARING's check for an earlier execution of the run: a store that
    fails fast on its lock (here a 0.1 s busy timeout) is unreadable, not a failed PREPARING."""
    url = migrate_data_dir(tmp_path)
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:  # after the store's own
        dbapi_connection.execute("PRAGMA busy_timeout = 100")

    try:
        prepare = PrepareActivities(AgentRegistry(), sessions=session_factory(engine))
        assert await prepare.owner("run-1", "exec-1") is None  # readable: no earlier execution
        writer = sqlite3.connect(tmp_path / "agentrun.db", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process's long write holds the write lock
        try:
            started = time.monotonic()
            assert await prepare.owner("run-1", "exec-1") is None  # no Temporal client to ask
            assert time.monotonic() - started < 1.5, "waited for the read instead of failing fast"
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    finally:
        engine.dispose()
