"""The worker-private conversation cache used when the run record store is off.

The store itself (replace on retry, gaps, concurrent runs, a second host) is tested over both
databases in ``tests/store/test_conversation_store.py``.
"""

import sqlite3
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from sqlalchemy import inspect

from agentrun.activities.conversation import ConversationGap, ConversationStore
from agentrun.contracts.model import Message
from agentrun.store.conversation import private_sessions
from agentrun.store.db import make_engine
from tests.support.store import conversation_store


def _private(path: Path) -> AbstractAsyncContextManager[ConversationStore]:
    """The cache as a worker with the record off builds it: its own file and writer."""
    return conversation_store(private_sessions(path))


def _msgs(*texts: str) -> list[Message]:
    return [Message(role="user", content=t) for t in texts]


async def test_private_cache_holds_only_its_table_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "conversations.db"
    async with _private(path) as store:
        await store.append_and_load("r1", 0, _msgs("a", "b"))
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert inspect(engine).get_table_names() == ["conversation_messages"]
    finally:
        engine.dispose()

    async with _private(path) as reopened:
        again = await reopened.append_and_load("r1", 0, _msgs("a", "b"))  # a retried append
        more = await reopened.append_and_load("r1", 2, _msgs("c"))
        assert [m.content for m in again] == ["a", "b"]
        assert [m.content for m in more] == ["a", "b", "c"]
        with pytest.raises(ConversationGap, match="expected 5 stored messages, found 4"):
            await reopened.append_and_load("r1", 4, _msgs("e"))


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
    async with _private(path) as store:
        loaded = await store.append_and_load("r1", 1, _msgs("new"))
    assert [m.content for m in loaded] == ["old", "new"]
