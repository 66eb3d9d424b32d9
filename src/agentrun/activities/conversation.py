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
from collections import OrderedDict
from collections.abc import Sequence

from agentrun.contracts.model import Message
from agentrun.store.conversation import ConversationGap, MessagesWrite
from agentrun.store.writer import BackgroundWriter

__all__ = ["ConversationGap", "ConversationStore"]

# Messages a worker keeps of the conversations it served last (least recently used run out
# first): about what one run of 10,000 tool calls holds, ten a step.
CACHED_MESSAGES = 20_000


class ConversationStore:
    """Messages over a store writer, on the run store's database (SQLite or PostgreSQL).

    Each model call needs the whole conversation, and reading and decoding all of it every
    step made a run's model calls cost the square of its length (a run of 10,000 tool calls
    spent more on that than on everything else). So the store keeps the conversations it
    served last and reads only what it cannot know: the message just before the new ones, the
    previous call's reply. Every other message it holds was checked the same way when it came,
    and only a reply can change (a retried model call rewrites it, perhaps on another worker);
    a stored reply that differs from the one kept, or a conversation that grew elsewhere,
    means reading it whole again.
    """

    def __init__(self, writer: BackgroundWriter, *, cached_messages: int = CACHED_MESSAGES) -> None:
        self._writer = writer
        self._cached: OrderedDict[str, list[Message]] = OrderedDict()
        self._cached_count = 0
        self._limit = cached_messages

    async def _send(
        self,
        run_id: str,
        start: int,
        messages: Sequence[Message],
        *,
        load: bool,
        load_from: int = 0,
    ) -> list[Message]:
        write = MessagesWrite(
            run_id, start, [m.model_dump_json() for m in messages], load=load, load_from=load_from
        )
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
        kept = self._take(run_id)
        if kept is not None and start > 0 and len(kept) == start:
            [last] = await self._send(run_id, start, messages, load=True, load_from=start - 1)
            before = kept if last == kept[-1] else None
        else:
            before = None
        if before is None:
            before = await self._send(run_id, start, messages, load=True)
        conversation = [*before, *messages]
        self._keep(run_id, list(conversation))
        return conversation

    async def put(self, run_id: str, start: int, messages: Sequence[Message]) -> None:
        await self._send(run_id, start, messages, load=False)
        kept = self._take(run_id)
        if kept is not None and len(kept) >= start:
            self._keep(run_id, [*kept[:start], *messages])

    async def load(self, run_id: str, length: int) -> list[Message]:
        return await self._send(run_id, length, (), load=True)

    # ----------------------------------------------------------------- the worker's copies

    def _take(self, run_id: str) -> list[Message] | None:
        """The conversation kept for ``run_id``, no longer kept (the caller keeps it again)."""
        kept = self._cached.pop(run_id, None)
        if kept is not None:
            self._cached_count -= len(kept)
        return kept

    def _keep(self, run_id: str, conversation: list[Message]) -> None:
        if len(conversation) > self._limit:
            return
        self._cached[run_id] = conversation
        self._cached_count += len(conversation)
        while self._cached_count > self._limit:
            _, dropped = self._cached.popitem(last=False)
            self._cached_count -= len(dropped)
