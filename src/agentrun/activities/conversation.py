"""The conversation store: a run's messages, kept out of Temporal history.

Writes are keyed by (run id, index) and replace, so a retried model activity rewrites the same
rows instead of appending duplicates. SQLite calls run in a thread: async activities must not block.
"""

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from agentrun.contracts.model import Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_messages (
    run_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
)
"""


class ConversationGap(LookupError):
    """The store holds fewer messages than the workflow says were sent (lost or foreign store)."""


class ConversationStore:
    """One connection per worker, used from worker threads one call at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        with self._lock, self._conn as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)

    def _put(self, run_id: str, start: int, messages: Sequence[Message]) -> None:
        rows = [(run_id, start + i, m.model_dump_json()) for i, m in enumerate(messages)]
        with self._lock, self._conn as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO conversation_messages (run_id, idx, message) "
                "VALUES (?, ?, ?)",
                rows,
            )

    def _load(self, run_id: str, length: int) -> list[Message]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT idx, message FROM conversation_messages "
                "WHERE run_id = ? AND idx < ? ORDER BY idx",
                (run_id, length),
            ).fetchall()
        if [idx for idx, _ in rows] != list(range(length)):
            raise ConversationGap(
                f"run {run_id}: expected {length} stored messages, found {len(rows)}"
            )
        return [Message.model_validate_json(text) for _, text in rows]

    async def append_and_load(
        self, run_id: str, start: int, messages: Sequence[Message]
    ) -> list[Message]:
        def work() -> list[Message]:
            self._put(run_id, start, messages)
            return self._load(run_id, start + len(messages))

        return await asyncio.to_thread(work)

    async def put(self, run_id: str, start: int, messages: Sequence[Message]) -> None:
        await asyncio.to_thread(self._put, run_id, start, messages)

    async def load(self, run_id: str, length: int) -> list[Message]:
        return await asyncio.to_thread(self._load, run_id, length)
