"""Whether the run store takes writes, as the writer's tries show it: backoff, logs, metrics.

A store that is down (locked past the busy timeout, unreachable) is a wait, not a loss: the
writer keeps its rows and tries again, 0.5 s after the failed try started, then 1, 2... up to
30 s. An operator learns it from one warning when writes start failing and one info line when
they go through again (how long it was down, how many rows went in), and from the worker's
metrics (``StoreObserver``: ``agentrun_store_up`` and the rest, ``observability.metrics``).
"""

import sqlite3
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy import exc as sa_exc

# Retries of a store that is down: from the start of one try to the next, doubling to the cap.
DEFAULT_BACKOFF_S = (0.5, 30.0)
# What a store that is down or locked raises; SQLite's BEGIN IMMEDIATE raises the driver's own.
STORE_DOWN_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,
    ConnectionError,
)


def log() -> Any:
    """The logger, looked up per line: the lines are rare, and so a logging set up after this
    module was first used (a worker's, a test's) still applies."""
    return structlog.get_logger("agentrun.store.writer")


class StoreObserver(Protocol):
    """What the writer reports of the store (the worker's metrics, ``observability.metrics``)."""

    def store_up(self, up: bool) -> None: ...
    def pending_rows(self, rows: int) -> None: ...
    def write_failed(self, error: str) -> None: ...
    def rows_dropped(self, rows: int) -> None: ...


def store_down(err: BaseException) -> bool:
    """Whether ``err`` says the store is down or locked, rather than that a write is bad."""
    return isinstance(err, STORE_DOWN_ERRORS + _postgres_down_errors())


def unreadable(err: BaseException) -> bool:
    """Whether a read that raised ``err`` found the store down, locked or refusing the read:
    the caller goes on without it. A locked SQLite file raises the driver's own error, not
    SQLAlchemy's (the store begins its transactions with ``BEGIN IMMEDIATE`` itself)."""
    return isinstance(err, sa_exc.SQLAlchemyError) or store_down(err)


def _postgres_down_errors() -> tuple[type[BaseException], ...]:
    """psycopg's own, when a PostgreSQL store has loaded it: only then can it raise them, and a
    worker on SQLite is spared the driver's ~8 MB (docs/performance.md, memory per parked run)."""
    psycopg = sys.modules.get("psycopg")
    return (psycopg.OperationalError, psycopg.InterfaceError) if psycopg is not None else ()


def resolve(done: Future[Any], result: Any = None, error: BaseException | None = None) -> bool:
    """Complete a waiter; False when it gave up (cancelled) or was completed already."""
    try:
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)
    except InvalidStateError:
        return False
    return True


@dataclass(slots=True)
class _Outage:
    since: float
    backoff: float
    failures: int = 1
    dropped: int = 0


class StoreHealth:
    """The writer thread's view of the store; ``dropped`` may come from any thread."""

    def __init__(
        self, observer: StoreObserver | None, backoff: tuple[float, float] = DEFAULT_BACKOFF_S
    ) -> None:
        self._observer = observer
        self.first_backoff, self._cap = backoff
        self._outage: _Outage | None = None
        self.retry_at = 0.0
        self._last_drop_log = float("-inf")
        self.report(lambda o: o.store_up(True))
        self.report(lambda o: o.pending_rows(0))

    @property
    def down(self) -> bool:
        return self._outage is not None

    def report(self, call: Callable[[StoreObserver], None]) -> None:
        if self._observer is None:
            return
        try:
            call(self._observer)
        except Exception as err:  # noqa: BLE001 -- metrics must never stop the writer
            log().warning("store metrics not recorded", error=type(err).__name__)

    def failed(self, err: BaseException, started: float, pending_rows: int) -> None:
        """A try that started at ``started`` found the store down: when to try again."""
        error = type(err).__name__  # only the type: driver messages can quote row values
        self.report(lambda o: o.write_failed(error))
        outage = self._outage
        if outage is None:
            outage = self._outage = _Outage(since=started, backoff=self.first_backoff)
            self.report(lambda o: o.store_up(False))
            log().warning(
                "run store unavailable: writes are kept and retried",
                error=error,
                pending_rows=pending_rows,
            )
        else:
            outage.failures += 1
            outage.backoff = min(outage.backoff * 2, self._cap)
        self.retry_at = started + outage.backoff

    def answered(self, rows: int) -> None:
        """A try went through, with ``rows`` written: a store that was down is back."""
        outage, self._outage = self._outage, None
        if outage is None:
            return
        self.report(lambda o: o.store_up(True))
        log().info(
            "run store recovered",
            down_s=round(time.monotonic() - outage.since, 1),
            rows_written=rows,
            failed_tries=outage.failures,
            rows_dropped=outage.dropped,
        )

    def dropped(self, rows: int, why: str) -> None:
        """Rows given up: counted always, logged at most every 10 s."""
        if rows <= 0:
            return
        outage = self._outage
        if outage is not None:
            outage.dropped += rows
        self.report(lambda o: o.rows_dropped(rows))
        now = time.monotonic()
        if now - self._last_drop_log >= 10.0:
            self._last_drop_log = now
            log().error("record writer: rows dropped", rows=rows, why=why)
