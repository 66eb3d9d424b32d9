"""The conversations a worker keeps: each model call reads only the previous reply back, and a
conversation another worker changed or grew is read whole again (SQLite and PostgreSQL)."""

from collections.abc import Callable

from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from agentrun.contracts.model import Message
from agentrun.store.models import ConversationMessageRow
from tests.support.store import conversation_store


def _user(text: str) -> Message:
    return Message(role="user", content=text)


def _reply(text: str) -> Message:
    return Message(role="assistant", content=text)


def _contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


async def test_a_kept_conversation_is_read_back_only_at_its_end(
    engine: Engine, sessions: Callable[[], Session]
) -> None:
    async with conversation_store(sessions) as store:
        await store.append_and_load("r", 0, [_user("q")])
        await store.put("r", 1, [_reply("a1")])
        await store.append_and_load("r", 2, [_user("t1")])
        await store.put("r", 3, [_reply("a2")])
        # Rows the store no longer needs to read: gone from the table, still in the result.
        with engine.begin() as conn:
            conn.execute(
                delete(ConversationMessageRow).where(
                    col(ConversationMessageRow.run_id) == "r", col(ConversationMessageRow.idx) < 3
                )
            )
        seen = await store.append_and_load("r", 4, [_user("t2")])
    assert _contents(seen) == ["q", "a1", "t1", "a2", "t2"]


async def test_a_reply_rewritten_elsewhere_is_read_again(sessions: Callable[[], Session]) -> None:
    """A model call retried on another worker replaced the reply this one kept."""
    async with conversation_store(sessions) as here, conversation_store(sessions) as there:
        await here.append_and_load("r", 0, [_user("q")])
        await here.put("r", 1, [_reply("first attempt")])
        await there.put("r", 1, [_reply("the retry that counted")])
        seen = await here.append_and_load("r", 2, [_user("t")])
    assert _contents(seen) == ["q", "the retry that counted", "t"]


async def test_a_conversation_grown_elsewhere_is_read_whole(
    sessions: Callable[[], Session],
) -> None:
    async with conversation_store(sessions) as here, conversation_store(sessions) as there:
        await here.append_and_load("r", 0, [_user("q")])
        await here.put("r", 1, [_reply("a1")])
        await there.append_and_load("r", 2, [_user("t1")])
        await there.put("r", 3, [_reply("a2")])
        seen = await here.append_and_load("r", 4, [_user("t2")])
    assert _contents(seen) == ["q", "a1", "t1", "a2", "t2"]


async def test_a_retry_here_replaces_what_was_kept(sessions: Callable[[], Session]) -> None:
    async with conversation_store(sessions) as store:
        await store.append_and_load("r", 0, [_user("q")])
        await store.put("r", 1, [_reply("first")])
        await store.append_and_load("r", 0, [_user("q")])  # the model call, retried
        await store.put("r", 1, [_reply("second")])
        seen = await store.append_and_load("r", 2, [_user("t")])
    assert _contents(seen) == ["q", "second", "t"]
