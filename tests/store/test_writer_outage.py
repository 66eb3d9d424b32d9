"""The store's writer through an outage: SQLite's write lock held by another process (and a
PostgreSQL table lock), as in the fault-injection run that broke the worker for good.

There the writer thread died: PREPARING gave up waiting for its run row (cancelling the future),
the locked store then failed the write, and setting the error on the cancelled future raised
``InvalidStateError`` in the thread. These tests pin down what must hold instead: the thread
lives, nothing is given up while the store is merely down, retries back off, and the outage is
told (one warning, one recovery line, metrics).
"""

import io
import itertools
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from agentrun.activities.record import RunRecorder
from agentrun.contracts.names import Metric
from agentrun.observability.logging import configure_logging
from agentrun.observability.metrics import StoreInstruments
from agentrun.store import migrate
from agentrun.store import repository as repo
from agentrun.store.conversation import MessagesWrite
from agentrun.store.db import make_engine, session_factory
from agentrun.store.writer import BackgroundWriter, Write
from tests.store.test_repository import add_run
from tests.store.test_writer import attempt, new_run, preparing_status, stored_messages
from tests.support.store_fixtures import fresh_pg_url
from tests.support.store_outage import SqliteStore, postgres_outage, sqlite_outage, sqlite_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with sqlite_store(tmp_path / "store.db") as opened:
        yield opened


class Metrics:
    """The writer's metrics through a real Temporal runtime, read from its metric buffer."""

    def __init__(self) -> None:
        self.buffer = MetricBuffer(10_000)
        runtime = Runtime(telemetry=TelemetryConfig(metrics=self.buffer))
        self.instruments = StoreInstruments.create(runtime.metric_meter)
        self.updates: list[tuple[str, float, dict[str, Any]]] = []

    def read(self) -> None:
        for u in self.buffer.retrieve_updates():
            self.updates.append((u.metric.name, float(u.value), dict(u.attributes)))

    def gauge(self, name: str) -> list[float]:
        self.read()
        return [value for n, value, _ in self.updates if n == name]

    def total(self, name: str) -> tuple[float, list[dict[str, Any]]]:
        self.read()
        found = [(value, attrs) for n, value, attrs in self.updates if n == name]
        return sum(v for v, _ in found), [a for _, a in found]


@pytest.fixture
def logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The worker's own log pipeline at INFO into a buffer: the writer's lines, parsed."""
    sink = io.StringIO()
    configure_logging("INFO", "json", sink)
    try:
        yield lambda: [
            line
            for line in map(json.loads, sink.getvalue().splitlines())
            if line.get("logger") == "agentrun.store.writer"
        ]
    finally:
        configure_logging("WARNING", "console")


def until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)


def closed(writer: BackgroundWriter) -> None:
    writer.close(30)
    assert not writer.running


def test_a_waiter_that_gave_up_no_longer_kills_the_writer(store: SqliteStore) -> None:
    """The reported crash: a waited run row, its waiter gone (PREPARING's timeout cancelled it),
    fails against the locked store. Once the lock goes, that row and later ones are written."""
    writer = BackgroundWriter(store.sessions, flush_interval=60.0, backoff=(0.1, 0.2))
    try:
        with sqlite_outage(store.path):
            gave_up: Future[list[bool]] = Future()
            gave_up.cancel()
            writer.submit(Write(runs=[new_run("run-a", "PREPARING")], done=gave_up, eager=True))
            until(lambda: writer.store_down)
            time.sleep(0.5)  # a few more failed tries
            assert writer.running
        later: Future[list[bool]] = Future()
        writer.submit(Write(runs=[new_run("run-b", "PREPARING")], done=later, eager=True))
        assert later.result(timeout=30) == []
        assert writer.running
    finally:
        closed(writer)
    with store.sessions() as s:
        assert repo.get_run(s, "run-a") is not None
        assert repo.get_run(s, "run-b") is not None


def test_cancelled_waiters_are_skipped_when_their_batch_commits(store: SqliteStore) -> None:
    """A conversation write whose model call gave up is dropped (its retry writes it again);
    a record write whose waiter gave up is still written. Completing either waiter used to
    raise in the writer thread and stop it."""
    with store.sessions() as s, s.begin():
        add_run(s, "run-a")
    writer = BackgroundWriter(store.sessions, flush_interval=60.0)
    try:
        stale = MessagesWrite("run-a", 0, ["stale"], load=True)
        stale.done.cancel()
        record: Future[list[bool]] = Future()
        record.cancel()
        writer.submit(stale)
        writer.submit(Write(items=[attempt("run-a", 1)], done=record))
        fresh = MessagesWrite("run-a", 1, ["second"], load=True)
        writer.submit(fresh)
        with pytest.raises(Exception, match="expected 2 stored messages, found 1"):
            fresh.done.result(timeout=30)  # the stale first message was never written
        redo = MessagesWrite("run-a", 0, ["first", "second"], load=True)
        writer.submit(redo)
        assert redo.done.result(timeout=30) == []
        assert writer.running
    finally:
        closed(writer)
    assert stored_messages(store.engine, "run-a") == [(0, "first"), (1, "second")]
    with store.sessions() as s:
        assert [c.attempt for c in repo.list_tool_calls(s, "run-a")] == [1]


def test_a_locked_store_keeps_every_write_and_catches_up_with_backoff(
    store: SqliteStore, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    metrics = Metrics()
    tries: list[float] = []  # when each try started
    writer = BackgroundWriter(
        store.sessions,
        flush_interval=0.05,
        observer=metrics.instruments,
        backoff=(0.2, 0.8),
        on_batch=lambda _rows, seconds: tries.append(time.monotonic() - seconds),
    )
    with store.sessions() as s, s.begin():
        add_run(s, "run-a")
    try:
        with sqlite_outage(store.path) as outage:
            row: Future[list[bool]] = Future()
            writer.submit(Write(runs=[new_run("run-b", "PREPARING")], done=row, eager=True))
            for n in range(1, 21):
                writer.submit(Write(items=[attempt("run-a", n)]))
            talk = MessagesWrite("run-b", 0, ["hello"], load=True)
            writer.submit(talk)
            until(lambda: len(tries) >= 6)
            assert writer.store_down
            assert writer.running
            assert not row.done()
            assert not talk.done.done()
            assert metrics.gauge(Metric.STORE_UP)[-1] == 0
            assert metrics.gauge(Metric.STORE_PENDING_ROWS)[-1] == 22
            released = outage.end()
        assert row.result(timeout=30) == []
        assert talk.done.result(timeout=30) == []
        assert time.monotonic() - released < 5
    finally:
        closed(writer)
    # From one try's start to the next: 0.2 s doubling to the 0.8 s cap (each try ~0.1 s).
    gaps = [b - a for a, b in itertools.pairwise(tries[:6])]
    for gap, wanted in zip(gaps, [0.2, 0.4, 0.8, 0.8, 0.8], strict=True):
        assert wanted * 0.9 <= gap < wanted + 0.5, gaps
    with store.sessions() as s:
        assert len(repo.list_tool_calls(s, "run-a")) == 20
        assert repo.get_run(s, "run-b") is not None
    assert stored_messages(store.engine, "run-b")[0][1] == "hello"

    assert metrics.gauge(Metric.STORE_UP) == [1, 0, 1]
    assert metrics.gauge(Metric.STORE_PENDING_ROWS)[-1] == 0
    failures, labels = metrics.total(Metric.STORE_WRITE_FAILURES)
    assert failures >= 5
    assert {a["error"] for a in labels} == {"OperationalError"}
    lines = logs()
    [down] = [line for line in lines if line["level"] == "warning"]
    assert down["event"].startswith("run store unavailable")
    assert down["error"] == "OperationalError"
    [up] = [line for line in lines if line["event"] == "run store recovered"]
    assert up["level"] == "info"
    assert up["down_s"] > 0.5
    assert up["rows_written"] == 22
    assert up["failed_tries"] >= 5
    assert "hello" not in json.dumps(lines)  # no row values in the log


async def test_preparing_waits_briefly_then_leaves_the_run_row_queued(store: SqliteStore) -> None:
    """PREPARING no longer waits out an outage: its run row and transitions land once the
    store is back."""
    writer = BackgroundWriter(store.sessions, backoff=(0.1, 0.4))
    status = preparing_status()
    recorder = RunRecorder(writer)
    try:
        with sqlite_outage(store.path):
            started = time.monotonic()
            assert await recorder.write_run(status, wait=0.5) is False
            assert time.monotonic() - started < 3
        assert await recorder.write_run(status, wait=30) is True
    finally:
        closed(writer)
    with store.sessions() as s:
        run = repo.get_run(s, "run-p")
        assert run is not None
        assert run.state == "PREPARING"
        assert [t.target for t in repo.list_transitions(s, "run-p")] == ["INIT", "PREPARING"]


def test_past_the_bound_the_oldest_unwaited_rows_are_dropped_and_counted(
    store: SqliteStore, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    metrics = Metrics()
    writer = BackgroundWriter(
        store.sessions,
        flush_interval=60.0,
        max_pending=10,
        observer=metrics.instruments,
        backoff=(0.1, 0.2),
    )
    with store.sessions() as s, s.begin():
        add_run(s, "run-a")
    try:
        with sqlite_outage(store.path):
            for n in range(1, 16):
                writer.submit(Write(items=[attempt("run-a", n)]))
            waited: Future[list[bool]] = Future()
            writer.submit(Write(items=[attempt("run-a", 16)], done=waited))  # never dropped
            until(lambda: writer.store_down)
        assert waited.result(timeout=30) == [True]
    finally:
        closed(writer)
    with store.sessions() as s:
        assert [c.attempt for c in repo.list_tool_calls(s, "run-a")] == list(range(7, 17))
    assert metrics.total(Metric.STORE_ROWS_DROPPED)[0] == 6
    drops = [line for line in logs() if line["event"] == "record writer: rows dropped"]
    assert drops
    assert drops[0]["level"] == "error"
    assert drops[0]["why"] == "queue full at 10 rows"


def test_closing_with_the_store_down_gives_up_and_says_so(
    store: SqliteStore, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    writer = BackgroundWriter(store.sessions, backoff=(0.1, 0.2))
    with sqlite_outage(store.path):
        waited: Future[list[bool]] = Future()
        writer.submit(Write(runs=[new_run("run-a", "PREPARING")], done=waited, eager=True))
        until(lambda: writer.store_down)
        started = time.monotonic()
        closed(writer)
        assert time.monotonic() - started < 5
        with pytest.raises(Exception, match="database is locked"):
            waited.result(timeout=1)
    [gave_up] = [line for line in logs() if line["event"] == "record writer: rows dropped"]
    assert gave_up["why"] == "closed with the store down"
    assert gave_up["rows"] == 1


def test_an_error_in_one_batch_does_not_stop_the_next(
    store: SqliteStore, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    batches: list[int] = []

    def buggy(rows: int, _seconds: float) -> None:
        batches.append(rows)
        if len(batches) == 1:
            raise RuntimeError("a bug after the first batch")

    writer = BackgroundWriter(store.sessions, flush_interval=60.0, on_batch=buggy)
    try:
        for run_id in ("run-a", "run-b"):
            done: Future[list[bool]] = Future()
            writer.submit(Write(runs=[new_run(run_id, "PREPARING")], done=done, eager=True))
            assert done.result(timeout=30) == []
        assert writer.running
    finally:
        closed(writer)
    assert batches == [1, 1]
    [bug] = [line for line in logs() if line["event"] == "store writer error"]
    assert bug["error"] == "RuntimeError"


def test_a_locked_postgres_store_counts_as_down_and_catches_up(
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    """On PostgreSQL a LOCK TABLE would stall a write without a word: the writer bounds its
    wait for locks (as SQLite's busy timeout does), so the outage shows and is retried."""
    with fresh_pg_url() as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        writer = BackgroundWriter(sessions, lock_wait_ms=200, backoff=(0.1, 0.4))
        try:
            with postgres_outage(url):
                done: Future[list[bool]] = Future()
                writer.submit(Write(runs=[new_run("run-a", "PREPARING")], done=done, eager=True))
                until(lambda: writer.store_down)
                assert not done.done()
            assert done.result(timeout=30) == []
        finally:
            closed(writer)
            with engine.connect() as conn:
                found = conn.execute(text("SELECT run_id FROM runs")).scalars().all()
            engine.dispose()
    assert found == ["run-a"]
    events = [line["event"] for line in logs()]
    assert "run store recovered" in events
    [down] = [line for line in logs() if line["level"] == "warning"]
    assert down["error"] == "OperationalError"
