"""Test workers need a migrated run store (migrations are never applied implicitly), and
conversation stores a writer someone closes."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from sqlmodel import Session

from agentrun.activities.conversation import ConversationStore
from agentrun.settings import Settings
from agentrun.store.migrate import upgrade
from agentrun.store.writer import BackgroundWriter


def migrate_data_dir(data_dir: Path) -> str:
    """Migrate the default SQLite store of ``data_dir`` (what a worker there will open)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = Settings(data_dir=data_dir).effective_database_url()
    upgrade(url)
    return url


@asynccontextmanager
async def conversation_store(sessions: Callable[[], Session]) -> AsyncIterator[ConversationStore]:
    """A conversation store over a writer thread of its own, closed (queue written) on exit, as
    the worker that owns the writer closes it."""
    writer = BackgroundWriter(sessions)
    try:
        yield ConversationStore(writer)
    finally:
        await asyncio.to_thread(writer.close)


@contextmanager
def held_exclusively(path: Path | str) -> Iterator[None]:
    """Hold a SQLite store from another connection, exclusively, as a backup or a VACUUM in
    another process would: every write and every read of it waits out its busy timeout, then
    fails."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")  # readers too, until it closes
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()
