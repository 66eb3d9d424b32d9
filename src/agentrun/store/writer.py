"""Write-behind for the run record: one thread, one transaction per batch of pending writes.

Writing each tool or model attempt in its own transaction cost a run about as much CPU as the
rest of the worker did (statement building, the chain lock and head read, a commit per row). Here
activities hand their rows over and return at once; the writer collects everything pending and
writes it with one multi-row insert per table and one audit-chain append. A caller that needs its
rows durable before going on waits for the batch that holds them: it is written at once, together
with everything queued before it (a run's final flush through the record activity also lands the
attempts its worker recorded before). The run's own row at PREPARING is the exception: it is
written at once but alone (``eager``), since nothing queued before it can need it, and the
record's queued rows keep their interval. Taking the record along at every run's start had given
a loaded worker (50 runs in flight) 1.6-1.9 record batches per run, each paying the record's
fixed statements (run lookup, audit-chain lock and head, one insert per table); at the interval
(0.5 s by default) it writes about 0.2.

What write-behind costs: rows still queued when a worker is killed are lost (at most one
interval's worth, ``flush_interval``); the run's final flush writes each tool call's last
attempt again from the run status, so only earlier failed attempts and model-call rows can go
missing. A graceful shutdown (:meth:`close`) writes everything first.

The run's conversation goes through the same thread (:class:`MessagesWrite`, always waited):
a batch is one transaction for both, so on SQLite they never queue for the write lock behind
each other (see ``agentrun.store.conversation``).

When the store is down (``agentrun.store.health``) nothing is given up: the batch goes back to
the head of the queue, in order, and is tried again with backoff. Waiters keep waiting, each as
long as it chooses: one that gives up cancels its future, and the writer skips it (a cancelled
conversation write is dropped, its model call's retry writes it again; a record write is still
written). Fire-and-forget rows stay bounded by ``max_pending``: past it the oldest are dropped,
counted and logged. A write that fails alone while the store answers is bad, not late: its
waiter gets the error; without one it is tried ``MAX_TRIES`` times, with backoff, then logged.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlmodel import Session

from agentrun.store.bulk import Bulk
from agentrun.store.conversation import MessagesWrite, write_conversations
from agentrun.store.db import SQLITE_BUSY_TIMEOUT_MS
from agentrun.store.health import (
    DEFAULT_BACKOFF_S,
    StoreHealth,
    StoreObserver,
    log,
    resolve,
    store_down,
)
from agentrun.store.models import RunRow
from agentrun.store.repository import RUN_IMMUTABLE
from agentrun.store.rows import RowItem, upsert_runs, write_rows

DEFAULT_FLUSH_INTERVAL_S = 0.5
# Fire-and-forget rows beyond this are dropped, oldest first (counted and logged), rather than
# held without bound while the database is unreachable.
DEFAULT_MAX_PENDING = 50_000
# A write that failed alone while the store answered is tried this many times in all.
MAX_TRIES = 5
# How long a PostgreSQL write waits for a table lock before the store counts as down: as long
# as a SQLite write waits for the database's (a LOCK TABLE would otherwise stall it silently).
DEFAULT_LOCK_WAIT_MS = SQLITE_BUSY_TIMEOUT_MS


@dataclass(slots=True)
class Write:
    """Rows that go in together: the runs first (children need them), then the child rows."""

    runs: Sequence[RunRow] = ()
    items: Sequence[RowItem] = ()
    done: Future[list[bool]] | None = None
    # Written in the writer's next transaction without the record's queued rows: a run's first
    # row, which no row queued before it can need (see ``RunRecorder.write_run``).
    eager: bool = False
    tries: int = field(default=0)
    # A write retried after failing alone waits out its backoff (monotonic time).
    not_before: float = field(default=0.0)

    @property
    def size(self) -> int:
        return len(self.runs) + len(self.items)


Pending = Write | MessagesWrite


def write_batch(
    session: Session, writes: Sequence[Write], *, bulk: Bulk | None = None
) -> list[list[bool]]:
    """Write several writes in the caller's transaction; per write, which items were new."""
    upsert_runs(session, [run for w in writes for run in w.runs], RUN_IMMUTABLE, bulk=bulk)
    flags = write_rows(session, [item for w in writes for item in w.items], bulk=bulk)
    out: list[list[bool]] = []
    start = 0
    for w in writes:
        out.append(flags[start : start + len(w.items)])
        start += len(w.items)
    return out


class BackgroundWriter:
    """Batches writes from any thread or event loop into one writer thread.

    ``submit`` never blocks and never raises for a store problem. A waited-for write's future
    gets the result once committed, or the error of a write that is bad; while the store is down
    it stays pending (its waiter bounds its own wait). The thread outlives any error.
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL_S,
        max_pending: int = DEFAULT_MAX_PENDING,
        on_batch: Callable[[int, float], None] | None = None,
        observer: StoreObserver | None = None,
        backoff: tuple[float, float] = DEFAULT_BACKOFF_S,
        lock_wait_ms: int = DEFAULT_LOCK_WAIT_MS,
    ) -> None:
        self._sessions = sessions
        self._lock_wait = text(f"SET LOCAL lock_timeout = {int(lock_wait_ms)}")
        self._interval = flush_interval
        self._max_pending = max_pending
        self._on_batch = on_batch
        self._health = StoreHealth(observer, backoff)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()  # set by close: cuts a retry's backoff short
        self._pending: deque[Pending] = deque()
        self._pending_rows = 0
        self._inflight_rows = 0
        self._held = 0  # queued writes waiting out a retry's backoff (``not_before``)
        # When the record's queued rows go next: at the interval, or at once for a waited
        # record write (which must follow the rows queued before it).
        self._due = time.monotonic() + flush_interval
        self._flush_now = False
        self._closing = False
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the writer thread is alive (it starts with the first write)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def store_down(self) -> bool:
        return self._health.down

    def submit(self, write: Pending) -> None:
        """Queue ``write``; one with a waiter (``done``) wakes the writer at once."""
        with self._lock:
            if self._closing:
                self._refuse(write)
                return
            self._pending.append(write)
            self._pending_rows += write.size
            if self._pending_rows + self._inflight_rows > self._max_pending:
                self._trim()
            if isinstance(write, Write) and not write.eager and write.done is not None:
                self._flush_now = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="agentrun-store-writer", daemon=True
                )
                self._thread.start()
        if write.done is not None:
            self._wake.set()

    def _refuse(self, write: Pending) -> None:
        if write.done is not None:
            error = RuntimeError("the store writer is closed (the worker is shutting down)")
            resolve(write.done, error=error)
        else:
            self._health.dropped(write.size, "the writer is closed")

    def _trim(self) -> None:
        """Drop the oldest rows nobody waits for until the queue fits (under the lock)."""
        excess = self._pending_rows + self._inflight_rows - self._max_pending
        kept: list[Pending] = []
        dropped = 0
        while excess > 0 and self._pending:
            w = self._pending.popleft()
            if w.done is None or w.done.cancelled():
                excess -= w.size
                dropped += w.size
                self._held -= isinstance(w, Write) and w.not_before > 0
            else:
                kept.append(w)
        self._pending.extendleft(reversed(kept))
        self._pending_rows -= dropped
        self._health.dropped(dropped, f"queue full at {self._max_pending} rows")

    def close(self, timeout: float = 30.0) -> None:
        """Write everything pending, then stop the thread (blocking: call it from a thread).

        With the store down, pending writes get one more try, then are given up (logged).
        """
        with self._lock:
            self._closing = True
            thread = self._thread
        self._wake.set()
        self._stop.set()
        if thread is not None:
            thread.join(timeout)

    # ----------------------------------------------------------------- writer thread

    def _loop(self) -> None:
        while True:
            try:
                self._round()
            except Exception as err:  # noqa: BLE001 -- a bug must not stop every later write
                log().error("store writer error", error=type(err).__name__)
                self._stop.wait(self._health.first_backoff)
            with self._lock:
                if self._closing and not self._pending:
                    return

    def _round(self) -> None:
        if self._health.down:
            self._stop.wait(max(0.0, self._health.retry_at - time.monotonic()))
        else:
            self._wake.wait(max(0.0, self._due - time.monotonic()))
            self._wake.clear()
        batch = self._take()
        if not batch:
            return
        started = time.monotonic()
        try:
            self._write(batch, started)
        except Exception as err:  # noqa: BLE001 -- reported to each waiter, never re-raised
            log().error("store writer error: batch dropped", error=type(err).__name__)
            self._health.dropped(sum(w.size for w in batch), "writer error")
            for w in batch:
                if w.done is not None:
                    resolve(w.done, error=err)
        finally:
            with self._lock:
                self._inflight_rows = 0
                queued = self._pending_rows
            self._health.report(lambda o: o.pending_rows(queued))
        if self._on_batch is not None:
            self._on_batch(sum(w.size for w in batch), time.monotonic() - started)

    def _take(self) -> list[Pending]:
        """Everything when the record's rows are due (or the store is being retried); else only
        the eager writes (the conversation's, and runs' first rows).

        Every model call wakes the writer twice for its conversation. Taking the record's
        fire-and-forget rows along each time split them over a batch per wake-up, each paying
        the record's fixed statements (run lookup, audit-chain head); left for their interval,
        they go out together.
        """
        with self._lock:
            now = time.monotonic()
            if self._health.down or self._flush_now or self._closing or now >= self._due:
                batch, self._pending = list(self._pending), deque()
                self._flush_now = False
                self._due = now + self._interval
            else:
                batch = [w for w in self._pending if _eager(w)]
                if batch:
                    self._pending = deque(w for w in self._pending if not _eager(w))
            if self._held:
                batch = self._release_held(batch, now)
            self._pending_rows = sum(w.size for w in self._pending)
            batch = [w for w in batch if not _stale(w)]
            self._inflight_rows = sum(w.size for w in batch)
            return batch

    def _release_held(self, batch: list[Pending], now: float) -> list[Pending]:
        """Leave the retried writes whose backoff has not passed in the queue (under the lock)."""
        ready: list[Pending] = []
        held: list[Pending] = []
        for w in batch:
            if isinstance(w, Write) and w.not_before > now:
                held.append(w)
                continue
            if isinstance(w, Write) and w.not_before:
                w.not_before = 0.0
                self._held -= 1
            ready.append(w)
        self._pending.extendleft(reversed(held))
        return ready

    def _transaction(self, batch: Sequence[Pending]) -> Callable[[], None]:
        with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(self._lock_wait)
            return _write_pending(session, batch)

    def _write(self, batch: list[Pending], started: float | None = None) -> None:
        started = time.monotonic() if started is None else started
        rows = sum(w.size for w in batch)
        try:
            settle = self._transaction(batch)
        except Exception as err:  # noqa: BLE001 -- the store is down, or one write is bad
            if store_down(err):
                self._down(batch, err, started)
            else:
                self._write_each(batch, started)
        else:
            settle()
            self._health.answered(rows)

    def _write_each(self, batch: list[Pending], started: float) -> None:
        """Isolate the bad write(s): each alone, until the store itself fails."""
        written = 0
        for i, w in enumerate(batch):
            try:
                settle = self._transaction([w])
            except Exception as err:  # noqa: BLE001 -- reported to the waiter or logged below
                if store_down(err):
                    self._down(batch[i:], err, started)
                    return
                self._failed(w, err)
            else:
                settle()
                written += w.size
        self._health.answered(written)

    def _down(self, writes: list[Pending], err: Exception, started: float) -> None:
        """The store refused: the writes go back to the head of the queue, to be retried."""
        rows = sum(w.size for w in writes)
        self._health.failed(err, started, self._pending_rows + rows)
        with self._lock:
            if not self._closing:
                self._pending.extendleft(reversed(writes))
                self._pending_rows += rows
                if self._pending_rows > self._max_pending:
                    self._trim()
                return
            writes = [*writes, *self._pending]
            self._pending.clear()
            self._pending_rows = 0
        # Closing: this was the last try.
        for w in writes:
            if w.done is not None:
                resolve(w.done, error=err)
        self._health.dropped(sum(w.size for w in writes), "closed with the store down")

    def _failed(self, w: Pending, err: Exception) -> None:
        """A write that failed alone while the store answered: its waiter decides, or it is
        tried again (with backoff) a few times, then logged."""
        if w.done is not None and resolve(w.done, error=err):
            return
        if isinstance(w, MessagesWrite):  # its waiter gave up: nobody needs it any more
            return
        w.tries += 1
        with self._lock:
            if w.tries < MAX_TRIES and not self._closing:
                w.not_before = time.monotonic() + self._health.first_backoff * 2 ** (w.tries - 1)
                self._pending.append(w)
                self._pending_rows += w.size
                self._held += 1
                return
        # Only the error's type: driver messages can quote the row's values.
        run_ids = sorted({item.run_id for item in w.items} | {run.run_id for run in w.runs})
        log().error("record write failed", error=type(err).__name__, rows=w.size, run_ids=run_ids)
        self._health.dropped(w.size, "write failed")


def _eager(write: Pending) -> bool:
    """Written in the next transaction, whether or not the record's rows are due."""
    return isinstance(write, MessagesWrite) or write.eager


def _stale(write: Pending) -> bool:
    """A conversation write whose waiter gave up: its model call's retry writes it again."""
    return isinstance(write, MessagesWrite) and write.done.cancelled()


def _write_pending(session: Session, batch: Sequence[Pending]) -> Callable[[], None]:
    """Write a batch in the caller's transaction; what completes its waiters once committed.

    The conversation first: it needs no run row, and a gap in it fails the batch before any
    record row is sent.
    """
    bulk = Bulk(session)
    records = [w for w in batch if isinstance(w, Write)]
    talks = [w for w in batch if isinstance(w, MessagesWrite)]
    loaded = write_conversations(bulk, talks) if talks else []
    flags = write_batch(session, records, bulk=bulk) if records else []

    def settle() -> None:
        # A waiter that gave up (cancelled) is skipped: its rows are in all the same.
        for talk, messages in zip(talks, loaded, strict=True):
            resolve(talk.done, messages)
        for record, new in zip(records, flags, strict=True):
            if record.done is not None:
                resolve(record.done, new)

    return settle
