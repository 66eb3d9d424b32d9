"""The conversation store: a run's messages, kept out of Temporal history.

The messages live in the run store's database (``conversation_messages``), which every worker
shares, so a model activity retried on another host loads what earlier attempts stored. With
the run record off there is no shared database: the worker keeps a private SQLite cache instead
(:meth:`ConversationStore.private`), and a retry on another worker then finds no conversation.

Writes are keyed by (run id, index) and replace, so a retried model activity rewrites the same
rows instead of appending duplicates. Every model call goes through here, so the work is two Core
statements in one transaction, run in a thread: async activities must not block.
"""

import asyncio
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine, Insert, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from agentrun.contracts.model import Message
from agentrun.store.db import make_engine
from agentrun.store.models import ConversationMessageRow

_TABLE: Table = ConversationMessageRow.__table__  # type: ignore[attr-defined]

_LOAD = (
    select(_TABLE.c.idx, _TABLE.c.message)
    .where(_TABLE.c.run_id == bindparam("run_id"), _TABLE.c.idx < bindparam("length"))
    .order_by(_TABLE.c.idx)
)


def _upsert(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT (run_id, idx) DO UPDATE``: both databases spell it the same."""
    stmt = postgresql.insert(_TABLE) if dialect == "postgresql" else sqlite.insert(_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.run_id, _TABLE.c.idx], set_={"message": stmt.excluded.message}
    )


class ConversationGap(LookupError):
    """The store holds fewer messages than the workflow says were sent (lost or foreign store)."""


class ConversationStore:
    """Messages over an engine on the run store's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._upsert = _upsert(engine.dialect.name)

    @classmethod
    def private(cls, path: Path) -> "ConversationStore":
        """A worker-private SQLite file, for when the run record store is off.

        It is a cache, not the migrated record: its one table is created here, never by
        ``agentrun db upgrade``.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(f"sqlite:///{path}")
        SQLModel.metadata.create_all(engine, tables=[_TABLE])
        return cls(engine)

    def _put(self, conn: Connection, run_id: str, start: int, messages: Sequence[Message]) -> None:
        if messages:
            conn.execute(
                self._upsert,
                [
                    {"run_id": run_id, "idx": start + i, "message": m.model_dump_json()}
                    for i, m in enumerate(messages)
                ],
            )

    @staticmethod
    def _load(conn: Connection, run_id: str, length: int) -> list[Message]:
        rows = conn.execute(_LOAD, {"run_id": run_id, "length": length}).all()
        if [idx for idx, _ in rows] != list(range(length)):
            raise ConversationGap(
                f"run {run_id}: expected {length} stored messages, found {len(rows)}"
            )
        return [Message.model_validate_json(text) for _, text in rows]

    async def append_and_load(
        self, run_id: str, start: int, messages: Sequence[Message]
    ) -> list[Message]:
        """Store ``messages`` from index ``start`` and return the whole conversation.

        One transaction: a gap rolls the write back with it.
        """

        def work() -> list[Message]:
            with self._engine.begin() as conn:
                self._put(conn, run_id, start, messages)
                return self._load(conn, run_id, start + len(messages))

        return await asyncio.to_thread(work)

    async def put(self, run_id: str, start: int, messages: Sequence[Message]) -> None:
        def work() -> None:
            with self._engine.begin() as conn:
                self._put(conn, run_id, start, messages)

        await asyncio.to_thread(work)

    async def load(self, run_id: str, length: int) -> list[Message]:
        def work() -> list[Message]:
            with self._engine.connect() as conn:
                return self._load(conn, run_id, length)

        return await asyncio.to_thread(work)
