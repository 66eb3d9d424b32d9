"""A run's conversation in the store: messages upserted by (run, index), read back as a prefix.

Conversation writes go through the record's writer thread (``agentrun.store.writer``) with the
run record's own rows, not in transactions of their own. Every model call writes twice, and
on SQLite each write transaction takes the database's single write lock: with the conversation
and the record writing from different threads, they queued behind each other on SQLite's busy
timeout, whose back-off sleeps (1, 2, 5, 10 ms...) left the lock idle while model activities
waited. One writer takes the lock once per batch and never waits on itself.
"""

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, SQLModel

from agentrun.store.bulk import Bulk
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import ConversationMessageRow

TABLE: Table = ConversationMessageRow.__table__  # type: ignore[attr-defined]
_KEY = ("run_id", "idx")


class ConversationGap(LookupError):
    """The store holds fewer messages than the workflow says were sent (lost or foreign store)."""


def private_sessions(path: Path) -> sessionmaker[Session]:
    """Sessions on a worker-private SQLite file that holds only the conversation, for when the
    run record store is off. It is a cache, not the migrated record: its one table is created
    here, never by ``agentrun db upgrade``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine, tables=[TABLE])
    return session_factory(engine)


@dataclass(slots=True)
class MessagesWrite:
    """Messages of one run from index ``start`` (each its ``Message`` JSON), and whether to read
    back the ones before ``start`` (from ``load_from`` on: a caller that holds the rest asks only
    for what it must check): ``done`` gets their JSON (empty when not asked), or
    :class:`ConversationGap` with nothing written when one of them is missing."""

    run_id: str
    start: int
    messages: Sequence[str]
    load: bool
    done: Future[list[str]] = field(default_factory=Future)
    load_from: int = 0

    @property
    def size(self) -> int:
        return len(self.messages)


def write_conversations(bulk: Bulk, writes: Sequence[MessagesWrite]) -> list[list[str]]:
    """One upsert for every write's messages, one read for every prefix asked for.

    A retried write of the same (run, index) replaces the message; the same key twice in one
    batch keeps the later one (PostgreSQL refuses to update a row twice in one statement).
    Raises :class:`ConversationGap` for the first write whose prefix has a hole: the caller's
    transaction then rolls the whole batch back.
    """
    rows: dict[tuple[str, int], str] = {}
    for w in writes:
        for i, message in enumerate(w.messages):
            rows[(w.run_id, w.start + i)] = message
    if rows:
        bulk.insert(
            TABLE,
            [{"run_id": r, "idx": i, "message": m} for (r, i), m in rows.items()],
            conflict=_KEY,
            update=("message",),
        )
    asked = [w for w in writes if w.load and w.start > w.load_from]
    wanted = sorted({w.run_id for w in asked if w.load_from == 0})
    stored: dict[str, dict[int, str]] = {}
    if wanted:
        for run_id, idx, message in bulk.select_in(TABLE, (*_KEY, "message"), "run_id", wanted):
            stored.setdefault(run_id, {})[idx] = message
    for w in asked:
        if w.run_id not in wanted:
            stored.setdefault(w.run_id, {}).update(_tail(bulk, w))
    return [_prefix(w, stored.get(w.run_id, {})) for w in writes]


def _tail(bulk: Bulk, w: MessagesWrite) -> dict[int, str]:
    """The run's messages from ``load_from`` up to ``start``: one indexed range read."""
    mark = bulk.placeholder
    sql = (
        f"SELECT idx, message FROM {TABLE.name} "  # noqa: S608 -- the table model's names
        f"WHERE run_id = {mark} AND idx >= {mark} AND idx < {mark}"
    )
    rows = bulk.fetch(sql, (w.run_id, w.load_from, w.start))
    return {int(idx): str(message) for idx, message in rows}


def _prefix(w: MessagesWrite, stored: dict[int, str]) -> list[str]:
    if not w.load or w.start <= w.load_from:
        return []
    if any(i not in stored for i in range(w.load_from, w.start)):
        length = w.start + len(w.messages)
        found = sum(1 for i in stored if i < length) + w.load_from
        raise ConversationGap(f"run {w.run_id}: expected {length} stored messages, found {found}")
    return [stored[i] for i in range(w.load_from, w.start)]
