"""The worker-private conversation cache used when the run record store is off.

The store itself (replace on retry, gaps, concurrent runs, a second host) is tested over both
databases in ``tests/store/test_conversation_store.py``.
"""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from agentrun.activities.conversation import ConversationGap, ConversationStore
from agentrun.contracts.model import Message
from agentrun.store.conversation import private_sessions
from agentrun.store.db import make_engine
from agentrun.store.writer import BackgroundWriter


def _private(path: Path) -> ConversationStore:
    """The cache as a worker with the record off builds it: its own file and writer."""
    return ConversationStore(BackgroundWriter(private_sessions(path)))


def _msgs(*texts: str) -> list[Message]:
    return [Message(role="user", content=t) for t in texts]


async def test_private_cache_holds_only_its_table_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "conversations.db"
    store = _private(path)
    await store.append_and_load("r1", 0, _msgs("a", "b"))
    await store.close()
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert inspect(engine).get_table_names() == ["conversation_messages"]
    finally:
        engine.dispose()

    reopened = _private(path)
    again = await reopened.append_and_load("r1", 0, _msgs("a", "b"))  # a retried append
    more = await reopened.append_and_load("r1", 2, _msgs("c"))
    assert [m.content for m in again] == ["a", "b"]
    assert [m.content for m in more] == ["a", "b", "c"]
    with pytest.raises(ConversationGap, match="expected 5 stored messages, found 4"):
        await reopened.append_and_load("r1", 4, _msgs("e"))
    await reopened.close()


async def test_a_cache_written_by_the_earlier_release_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "conversations.db"
    with sqlite3.connect(path) as conn:  # the schema the sqlite3-based store created
        conn.execute(
            "CREATE TABLE conversation_messages (run_id TEXT NOT NULL, idx INTEGER NOT NULL, "
            "message TEXT NOT NULL, PRIMARY KEY (run_id, idx))"
        )
        conn.execute(
            "INSERT INTO conversation_messages VALUES ('r1', 0, ?)",
            (Message(role="user", content="old").model_dump_json(),),
        )
    conn.close()
    store = _private(path)
    loaded = await store.append_and_load("r1", 1, _msgs("new"))
    await store.close()
    assert [m.content for m in loaded] == ["old", "new"]
