"""The conversation store: retried writes replace, gaps are detected, threads never block."""

from pathlib import Path

import pytest

from agentrun.activities.conversation import ConversationGap, ConversationStore
from agentrun.contracts.model import Message


def _msgs(*texts: str) -> list[Message]:
    return [Message(role="user", content=t) for t in texts]


async def test_retried_append_rewrites_the_same_rows(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.db")
    first = await store.append_and_load("r1", 0, _msgs("a", "b"))
    again = await store.append_and_load("r1", 0, _msgs("a", "b"))
    assert [m.content for m in first] == [m.content for m in again] == ["a", "b"]
    more = await store.append_and_load("r1", 2, _msgs("c"))
    assert [m.content for m in more] == ["a", "b", "c"]
    assert [m.content for m in await store.load("r1", 3)] == ["a", "b", "c"]


async def test_runs_are_isolated_and_gaps_are_errors(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.db")
    await store.put("r1", 0, _msgs("a"))
    with pytest.raises(ConversationGap, match="expected 3 stored messages, found 2"):
        await store.append_and_load("r1", 2, _msgs("c"))
    assert await store.load("r2", 0) == []
