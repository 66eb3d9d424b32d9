"""The conversation store over the run store's database, on SQLite and on PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from agentrun.activities.conversation import ConversationGap, ConversationStore
from agentrun.contracts.model import Message
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import ConversationMessageRow
from tests.support.store import conversation_store


@pytest.fixture
async def store(sessions: Callable[[], Session]) -> AsyncIterator[ConversationStore]:
    """A store with a writer thread of its own, as a worker has."""
    async with conversation_store(sessions) as conversations:
        yield conversations


def _msgs(*texts: str) -> list[Message]:
    return [Message(role="user", content=t) for t in texts]


def _contents(messages: list[Message]) -> list[str | None]:
    return [m.content for m in messages]


def _stored(engine: Engine, run_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(ConversationMessageRow.run_id == run_id)  # type: ignore[arg-type]
            ).scalar_one()
        )


async def test_retried_append_replaces_the_same_rows(
    engine: Engine, store: ConversationStore
) -> None:
    first = await store.append_and_load("r1", 0, _msgs("a", "b"))
    again = await store.append_and_load("r1", 0, _msgs("a", "B"))  # a retry with a new answer
    assert _contents(first) == ["a", "b"]
    assert _contents(again) == ["a", "B"]
    assert _stored(engine, "r1") == 2
    await store.put("r1", 2, [Message(role="assistant", content="reply")])
    await store.put("r1", 2, [Message(role="assistant", content="reply, retried")])
    more = await store.append_and_load("r1", 3, _msgs("c"))
    assert _contents(more) == ["a", "B", "reply, retried", "c"]
    assert [m.role for m in more] == ["user", "user", "assistant", "user"]
    assert _contents(await store.load("r1", 4)) == ["a", "B", "reply, retried", "c"]
    assert _contents(await store.append_and_load("r1", 4, [])) == _contents(more)
    assert _stored(engine, "r1") == 4


async def test_gaps_are_errors_and_roll_the_write_back(
    engine: Engine, store: ConversationStore
) -> None:
    await store.put("r1", 0, _msgs("a"))
    with pytest.raises(ConversationGap, match="run r1: expected 3 stored messages, found 2"):
        await store.append_and_load("r1", 2, _msgs("c"))
    assert _stored(engine, "r1") == 1
    with pytest.raises(ConversationGap, match="expected 2 stored messages, found 1"):
        await store.load("r1", 2)
    with pytest.raises(ConversationGap, match="run r2: expected 1 stored messages, found 0"):
        await store.load("r2", 1)
    assert await store.load("r2", 0) == []
    assert _contents(await store.load("r1", 1)) == ["a"]


async def test_two_runs_at_once_keep_their_own_conversations(
    engine: Engine, store: ConversationStore
) -> None:
    turns = 15

    async def converse(run_id: str) -> list[Message]:
        conversation: list[Message] = []
        for turn in range(turns):
            conversation = await store.append_and_load(
                run_id, len(conversation), _msgs(f"{run_id}-q{turn}")
            )
            await store.put(
                run_id, len(conversation), [Message(role="assistant", content=f"{run_id}-a{turn}")]
            )
            conversation = [*conversation, Message(role="assistant", content="")]
        return await store.load(run_id, len(conversation))

    left, right = await asyncio.gather(converse("left"), converse("right"))
    for run_id, conversation in (("left", left), ("right", right)):
        expected = [f"{run_id}-{kind}{t}" for t in range(turns) for kind in ("q", "a")]
        assert _contents(conversation) == expected
        assert _stored(engine, run_id) == 2 * turns


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_another_host_loads_the_whole_conversation(db_url: str) -> None:
    """Two workers, each with its own engine (its own connections), over one database."""
    host_a, host_b = make_engine(db_url), make_engine(db_url)
    try:
        async with (
            conversation_store(session_factory(host_a)) as a,
            conversation_store(session_factory(host_b)) as b,
        ):
            await a.append_and_load("run", 0, _msgs("system", "question"))
            await a.put("run", 2, [Message(role="assistant", content="first answer")])
            # The next model attempt runs on host B: it must see everything host A stored.
            seen = await b.append_and_load("run", 3, [Message(role="tool", content="result")])
            assert _contents(seen) == ["system", "question", "first answer", "result"]
            await b.put("run", 4, [Message(role="assistant", content="second answer")])
            # And back on host A, after a retry of B's write landed there.
            await a.put("run", 4, [Message(role="assistant", content="second answer, retried")])
            assert _contents(await b.load("run", 5))[-1] == "second answer, retried"
            assert len(await a.load("run", 5)) == 5
    finally:
        host_a.dispose()
        host_b.dispose()
