"""The conversation store: a run's messages, kept out of Temporal history.

The messages live in the run store's database (``conversation_messages``), which every worker
shares, so a model activity retried on another host loads what earlier attempts stored. With
the run record off there is no shared database: the worker keeps a private SQLite cache instead
(``agentrun.store.conversation.private_sessions``, with a writer of its own), and a retry on
another worker then finds no conversation.

Writes are keyed by (run id, index) and replace, so a retried model activity rewrites the same
rows instead of appending duplicates. Every model call goes through here, twice: the reads and
writes are handed to the store's writer thread (``agentrun.store.writer``), which does them in
its next transaction with whatever else is queued, and the activity awaits that commit.

While the store is down the writer keeps the write and retries it, and the call waits: its
caller bounds the wait (``asyncio.timeout``). Giving up cancels the write too (the wait is on
the writer's future, which cancellation reaches); the writer then drops it, and the model
call's retry sends the same messages again.
"""

import asyncio
from collections.abc import Sequence

from agentrun.contracts.model import Message
from agentrun.store.conversation import ConversationGap, MessagesWrite
from agentrun.store.writer import BackgroundWriter

__all__ = ["ConversationGap", "ConversationStore"]


class ConversationStore:
    """Messages over a store writer, on the run store's database (SQLite or PostgreSQL)."""

    def __init__(self, writer: BackgroundWriter) -> None:
        self._writer = writer

    async def _send(
        self, run_id: str, start: int, messages: Sequence[Message], *, load: bool
    ) -> list[Message]:
        write = MessagesWrite(run_id, start, [m.model_dump_json() for m in messages], load=load)
        self._writer.submit(write)
        # A thread future: the writer thread completes it, and this event loop waits on it;
        # cancelling the wait cancels it, and the writer skips it.
        stored = await asyncio.wrap_future(write.done)
        return [Message.model_validate_json(text) for text in stored]

    async def append_and_load(
        self, run_id: str, start: int, messages: Sequence[Message]
    ) -> list[Message]:
        """Store ``messages`` from index ``start`` and return the whole conversation.

        One transaction: a gap in what was stored before writes nothing.
        """
        before = await self._send(run_id, start, messages, load=True)
        return [*before, *messages]

    async def put(self, run_id: str, start: int, messages: Sequence[Message]) -> None:
        await self._send(run_id, start, messages, load=False)

    async def load(self, run_id: str, length: int) -> list[Message]:
        return await self._send(run_id, length, (), load=True)
