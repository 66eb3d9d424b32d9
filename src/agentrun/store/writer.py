"""Write-behind for the run record: one thread, one transaction per batch of pending writes.

Writing each tool or model attempt in its own transaction cost a run about as much CPU as the
rest of the worker did (statement building, the chain lock and head read, a commit per row). Here
activities hand their rows over and return at once; the writer collects everything pending and
writes it with one multi-row insert per table and one audit-chain append. A caller that needs its
rows durable before going on (the run's own row at PREPARING, the flush before a review or at the
end) waits for the batch that holds them: it is written at once, together with everything queued
before it, so a run's final flush also lands the attempts its worker recorded before.

What write-behind costs: rows still queued when a worker is killed are lost (at most one
interval's worth, ``flush_interval``); the run's final flush writes each tool call's last
attempt again from the run status, so only earlier failed attempts and model-call rows can go
missing. A graceful shutdown (:meth:`close`) writes everything first.
"""

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import structlog
from sqlmodel import Session

from agentrun.store.models import RunRow
from agentrun.store.repository import RUN_IMMUTABLE
from agentrun.store.rows import RowItem, upsert_runs, write_rows

log = structlog.get_logger(__name__)

DEFAULT_FLUSH_INTERVAL_S = 0.1
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
    tries: int = field(default=0)

    @property
    def size(self) -> int:
        return len(self.runs) + len(self.items)


def write_batch(session: Session, writes: Sequence[Write]) -> list[list[bool]]:
    """Write several writes in the caller's transaction; per write, which items were new."""
    upsert_runs(session, [run for w in writes for run in w.runs], RUN_IMMUTABLE)
    flags = write_rows(session, [item for w in writes for item in w.items])
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
        self._pending: list[Write] = []
        self._pending_rows = 0
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, write: Write, *, urgent: bool = False) -> None:
        with self._lock:
            if self._closing:
                self._refuse(write)
                return
            if write.done is None and self._pending_rows + write.size > self._max_pending:
                log.error("record writer queue full: rows dropped", rows=write.size)
                return
            self._pending.append(write)
            self._pending_rows += write.size
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="agentrun-record-writer", daemon=True
                )
                self._thread.start()
        if urgent or write.done is not None:
            self._wake.set()

    @staticmethod
    def _refuse(write: Write) -> None:
        if write.done is not None:
            write.done.set_exception(RuntimeError("the run record writer is closed"))
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

    def _take(self) -> list[Write]:
        with self._lock:
            batch, self._pending, self._pending_rows = self._pending, [], 0
            return batch

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            batch = self._take()
            if batch:
                self._write(batch)
            with self._lock:
                if self._closing and not self._pending:
                    return

    def _write(self, batch: list[Write]) -> None:
        started = time.perf_counter()
        try:
            with self._sessions() as session, session.begin():
                results = write_batch(session, batch)
        except Exception:  # noqa: BLE001 -- one bad write must not sink the others: isolate it
            self._write_each(batch)
        else:
            for w, flags in zip(batch, results, strict=True):
                if w.done is not None:
                    w.done.set_result(flags)
        if self._on_batch is not None:
            self._on_batch(sum(w.size for w in batch), time.perf_counter() - started)

    def _write_each(self, batch: list[Write]) -> None:
        for w in batch:
            try:
                with self._sessions() as session, session.begin():
                    flags = write_batch(session, [w])[0]
            except Exception as err:  # noqa: BLE001 -- reported to the waiter or logged below
                self._failed(w, err)
            else:
                if w.done is not None:
                    w.done.set_result(flags)

    def _failed(self, w: Write, err: Exception) -> None:
        if w.done is not None:
            w.done.set_exception(err)
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
