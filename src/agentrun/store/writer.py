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
"""

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import structlog
from sqlmodel import Session

from agentrun.store.bulk import Bulk
from agentrun.store.conversation import MessagesWrite, write_conversations
from agentrun.store.models import RunRow
from agentrun.store.repository import RUN_IMMUTABLE
from agentrun.store.rows import RowItem, upsert_runs, write_rows

log = structlog.get_logger(__name__)

DEFAULT_FLUSH_INTERVAL_S = 0.5
# Fire-and-forget rows beyond this are dropped (and logged) rather than held without bound
# while the database is unreachable.
DEFAULT_MAX_PENDING = 50_000
# A write that failed alone is tried again on the next rounds before it is given up.
MAX_TRIES = 3


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

    ``submit`` never blocks and never raises for a store problem: a fire-and-forget write that
    cannot be stored is logged; a waited-for write's future carries the error.
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL_S,
        max_pending: int = DEFAULT_MAX_PENDING,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._interval = flush_interval
        self._max_pending = max_pending
        self._on_batch = on_batch
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: list[Pending] = []
        self._pending_rows = 0
        # When the record's queued rows go next: at the interval, or at once for a waited
        # record write (which must follow the rows queued before it).
        self._due = time.monotonic() + flush_interval
        self._flush_now = False
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, write: Pending) -> None:
        """Queue ``write``; one with a waiter (``done``) wakes the writer at once."""
        with self._lock:
            if self._closing:
                self._refuse(write)
                return
            if write.done is None and self._pending_rows + write.size > self._max_pending:
                log.error("record writer queue full: rows dropped", rows=write.size)
                return
            self._pending.append(write)
            self._pending_rows += write.size
            if isinstance(write, Write) and not write.eager and write.done is not None:
                self._flush_now = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="agentrun-store-writer", daemon=True
                )
                self._thread.start()
        if write.done is not None:
            self._wake.set()

    @staticmethod
    def _refuse(write: Pending) -> None:
        if write.done is not None:
            write.done.set_exception(
                RuntimeError("the store writer is closed (the worker is shutting down)")
            )
        else:
            log.error("record writer closed: rows dropped", rows=write.size)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything pending, then stop the thread (blocking: call it from a thread)."""
        with self._lock:
            self._closing = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    # ----------------------------------------------------------------- writer thread

    def _take(self) -> list[Pending]:
        """Everything when the record's rows are due; else only the eager writes (the
        conversation's, and runs' first rows).

        Every model call wakes the writer twice for its conversation. Taking the record's
        fire-and-forget rows along each time split them over a batch per wake-up, each paying
        the record's fixed statements (run lookup, audit-chain head); left for their interval,
        they go out together.
        """
        with self._lock:
            now = time.monotonic()
            if self._flush_now or self._closing or now >= self._due:
                batch, self._pending, self._pending_rows = self._pending, [], 0
                self._flush_now = False
                self._due = now + self._interval
                return batch
            batch = [w for w in self._pending if _eager(w)]
            if batch:
                self._pending = [w for w in self._pending if not _eager(w)]
                self._pending_rows = sum(w.size for w in self._pending)
            return batch

    def _loop(self) -> None:
        while True:
            self._wake.wait(max(0.0, self._due - time.monotonic()))
            self._wake.clear()
            batch = self._take()
            if batch:
                self._write(batch)
            with self._lock:
                if self._closing and not self._pending:
                    return

    def _write(self, batch: list[Pending]) -> None:
        started = time.perf_counter()
        try:
            with self._sessions() as session, session.begin():
                settle = _write_pending(session, batch)
        except Exception:  # noqa: BLE001 -- one bad write must not sink the others: isolate it
            self._write_each(batch)
        else:
            settle()
        if self._on_batch is not None:
            self._on_batch(sum(w.size for w in batch), time.perf_counter() - started)

    def _write_each(self, batch: list[Pending]) -> None:
        for w in batch:
            try:
                with self._sessions() as session, session.begin():
                    settle = _write_pending(session, [w])
            except Exception as err:  # noqa: BLE001 -- reported to the waiter or logged below
                self._failed(w, err)
            else:
                settle()

    def _failed(self, w: Pending, err: Exception) -> None:
        # A conversation write always has a waiter; a record write may have none.
        if w.done is not None:
            w.done.set_exception(err)
            return
        if isinstance(w, MessagesWrite):  # for the type checker: it always has a waiter
            return
        w.tries += 1
        if w.tries < MAX_TRIES and not self._closing:
            with self._lock:
                self._pending.append(w)
                self._pending_rows += w.size
            return
        # Only the error's type: driver messages can quote the row's values.
        run_ids = sorted({item.run_id for item in w.items} | {run.run_id for run in w.runs})
        log.error("record write failed", error=type(err).__name__, rows=w.size, run_ids=run_ids)


def _eager(write: Pending) -> bool:
    """Written in the next transaction, whether or not the record's rows are due."""
    return isinstance(write, MessagesWrite) or write.eager


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
        for talk, messages in zip(talks, loaded, strict=True):
            talk.done.set_result(messages)
        for record, new in zip(records, flags, strict=True):
            if record.done is not None:
                record.done.set_result(new)

    return settle
