"""Batched writes: one statement per table for many rows, and the write-behind thread."""

import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from agentrun.activities.record import RunRecorder
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import RunState, Transition
from agentrun.store import repository as repo
from agentrun.store.audit import verify_chain
from agentrun.store.bulk import Bulk
from agentrun.store.conversation import ConversationGap, MessagesWrite, write_conversations
from agentrun.store.models import RunRow
from agentrun.store.queries import list_audit_events
from agentrun.store.rows import MissingRun, RowItem, write_rows
from agentrun.store.writer import BackgroundWriter, Write
from tests.store.test_repository import add_run

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def attempt(run_id: str, n: int, status: str = "success") -> RowItem:
    return repo.tool_call_item(
        run_id=run_id,
        idempotency_key=f"{run_id}/call",
        attempt=n,
        tool="lookup_order",
        status=status,
        started_at=T0 + timedelta(seconds=n),
        duration_ms=5.0,
    )


def test_batch_inserts_new_rows_once_and_audits_them_in_order(
    sessions: Callable[[], Session],
) -> None:
    with sessions() as s, s.begin():
        add_run(s, "run-a")
        add_run(s, "run-b")
        first = write_rows(
            s,
            [
                attempt("run-a", 1, "error"),
                repo.transition_item(run_id="run-b", seq=0, target=RunState.INIT, at=T0),
                attempt("run-a", 1, "error"),  # the same key twice in one batch counts once
                attempt("run-a", 2),
            ],
        )
    assert first == [True, True, False, True]
    with sessions() as s, s.begin():
        # A retry of the whole batch plus one new row: only the new row is inserted.
        again = write_rows(
            s, [attempt("run-a", 1, "error"), attempt("run-a", 2), attempt("run-a", 3)]
        )
    assert again == [False, False, True]
    with sessions() as s:
        events = list_audit_events(s)
        assert [e.action for e in events] == [
            "lookup_order:error",
            "transition:INIT",
            "lookup_order:success",
            "lookup_order:success",
        ]
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert {e.trace_id for e in events} == {"trace-run-a", "trace-run-b"}
        assert [c.attempt for c in repo.list_tool_calls(s, "run-a")] == [1, 2, 3]
        assert verify_chain(s).ok


def test_batch_naming_an_unknown_run_writes_nothing(sessions: Callable[[], Session]) -> None:
    with sessions() as s, s.begin():
        add_run(s, "run-a")
    with (
        pytest.raises(MissingRun, match="run ghost is not in the store"),
        sessions() as s,
        s.begin(),
    ):
        write_rows(s, [attempt("run-a", 1), attempt("ghost", 1)])
    with sessions() as s:
        assert repo.list_tool_calls(s, "run-a") == []
        assert list_audit_events(s) == []


def new_run(run_id: str, state: str) -> RunRow:
    return repo.run_row(
        run_id=run_id,
        agent="refund",
        tenant_id="acme",
        user_id="u",
        request_id=run_id,
        trace_id="t",
        state=state,
        started_at=T0,
    )


def counting_writer(sessions: Callable[[], Session], batches: list[int]) -> BackgroundWriter:
    """A writer whose interval never comes within a test, so only waited writes make batches;
    ``batches`` gets the number of writes' rows in each."""
    return BackgroundWriter(
        sessions, flush_interval=60.0, on_batch=lambda rows, _s: batches.append(rows)
    )


def queue_attempts(
    sessions: Callable[[], Session], writer: BackgroundWriter, run_id: str, count: int
) -> None:
    """A stored run with ``count`` fire-and-forget attempts queued behind."""
    with sessions() as s, s.begin():
        add_run(s, run_id)
    for n in range(1, count + 1):
        writer.submit(Write(items=[attempt(run_id, n)]))


def wait_for(done: Future[list[bool]]) -> list[bool]:
    return done.result(timeout=30)


def flush_with(writer: BackgroundWriter, item: RowItem) -> list[bool]:
    """A waited record write: it takes every queued row along into its batch."""
    flush: Future[list[bool]] = Future()
    writer.submit(Write(items=[item], done=flush))
    return wait_for(flush)


def test_writer_batches_fire_and_forget_rows_behind_a_waited_write(
    sessions: Callable[[], Session],
) -> None:
    batches: list[int] = []
    writer = counting_writer(sessions, batches)
    try:
        done: Future[list[bool]] = Future()
        writer.submit(Write(runs=[new_run("run-a", "EXECUTING")], done=done))
        assert wait_for(done) == []
        for n in range(1, 21):
            writer.submit(Write(items=[attempt("run-a", n)]))
        # Not written yet: the interval is long and nobody waits.
        with sessions() as s:
            assert repo.list_tool_calls(s, "run-a") == []
        assert flush_with(writer, attempt("run-a", 21)) == [True]
    finally:
        writer.close()
    # The twenty queued rows went in the same transaction as the waited-for one.
    assert batches == [1, 21]
    with sessions() as s:
        assert len(repo.list_tool_calls(s, "run-a")) == 21
        assert verify_chain(s).checked == 21


def test_a_bad_write_fails_alone_and_close_writes_what_is_queued(
    sessions: Callable[[], Session], engine: Engine
) -> None:
    writer = BackgroundWriter(sessions, flush_interval=5.0)
    with sessions() as s, s.begin():
        add_run(s, "run-a")
    bad: Future[list[bool]] = Future()
    good: Future[list[bool]] = Future()
    writer.submit(Write(items=[attempt("run-a", 1)]))
    writer.submit(Write(items=[attempt("ghost", 1)], done=bad))
    writer.submit(Write(items=[attempt("run-a", 2)], done=good))
    with pytest.raises(MissingRun):
        bad.result(timeout=30)
    assert wait_for(good) == [True]
    writer.submit(Write(items=[attempt("run-a", 3)]))
    closer = threading.Thread(target=writer.close)
    closer.start()
    closer.join(30)
    assert not closer.is_alive()
    with engine.connect() as conn:
        attempts = conn.execute(
            text("SELECT attempt FROM tool_calls WHERE run_id = 'run-a' ORDER BY attempt")
        ).scalars()
        assert list(attempts) == [1, 2, 3]
    refused: Future[list[bool]] = Future()
    writer.submit(Write(items=[attempt("run-a", 4)], done=refused))
    with pytest.raises(RuntimeError, match="closed"):
        refused.result(timeout=1)


def stored_messages(engine: Engine, run_id: str) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT idx, message FROM conversation_messages WHERE run_id = :r ORDER BY idx"),
            {"r": run_id},
        )
        return [(int(idx), str(message)) for idx, message in rows]


def test_the_conversation_leaves_the_records_rows_queued_for_their_interval(
    sessions: Callable[[], Session], engine: Engine
) -> None:
    """Model calls wake the writer for their conversation; the record's fire-and-forget rows
    still wait and go out together, with the next waited record write."""
    batches: list[int] = []
    writer = counting_writer(sessions, batches)
    queue_attempts(sessions, writer, "run-a", 3)
    try:
        for turn in range(3):
            talk = MessagesWrite("run-a", turn, [f"m{turn}"], load=True)
            writer.submit(talk)
            assert talk.done.result(timeout=30) == [f"m{i}" for i in range(turn)]
        with sessions() as s:
            assert repo.list_tool_calls(s, "run-a") == []
        assert flush_with(writer, attempt("run-a", 4)) == [True]
    finally:
        writer.close()
    assert batches == [1, 1, 1, 4]
    assert stored_messages(engine, "run-a") == [(0, "m0"), (1, "m1"), (2, "m2")]
    with sessions() as s:
        assert [c.attempt for c in repo.list_tool_calls(s, "run-a")] == [1, 2, 3, 4]


def test_a_conversation_gap_fails_alone_and_writes_nothing(
    sessions: Callable[[], Session], engine: Engine
) -> None:
    writer = BackgroundWriter(sessions, flush_interval=60.0)
    with sessions() as s, s.begin():
        add_run(s, "run-a")
    gap = MessagesWrite("run-b", 3, ["late"], load=True)
    fine = MessagesWrite("run-a", 0, ["first"], load=True)
    recorded: Future[list[bool]] = Future()
    # One batch, as the writer thread takes it when these arrive together.
    writer._write([fine, gap, Write(items=[attempt("run-a", 1)], done=recorded)])
    writer.close()
    with pytest.raises(ConversationGap, match="run run-b: expected 4 stored messages, found 1"):
        gap.done.result(timeout=1)
    assert fine.done.result(timeout=1) == []
    assert wait_for(recorded) == [True]
    assert stored_messages(engine, "run-b") == []
    assert stored_messages(engine, "run-a") == [(0, "first")]


def test_the_same_message_twice_in_a_batch_keeps_the_later(
    sessions: Callable[[], Session], engine: Engine
) -> None:
    """A retried model call can land in the batch of the attempt it retries: PostgreSQL refuses
    to update one row twice in a statement, so the batch keeps the retry's message."""
    with sessions() as s, s.begin():
        loaded = write_conversations(
            Bulk(s),
            [
                MessagesWrite("run-a", 0, ["q", "answer"], load=False),
                MessagesWrite("run-a", 1, ["answer, retried"], load=True),
                MessagesWrite("run-a", 2, [], load=True),
            ],
        )
    assert loaded == [[], ["q"], ["q", "answer, retried"]]
    assert stored_messages(engine, "run-a") == [(0, "q"), (1, "answer, retried")]


def test_a_runs_own_row_goes_ahead_of_the_records_queued_rows(
    sessions: Callable[[], Session],
) -> None:
    """The run's first row is waited for (its children need it) but does not pull the
    record's queued rows into its transaction: they still go out together at their time."""
    batches: list[int] = []
    writer = counting_writer(sessions, batches)
    queue_attempts(sessions, writer, "run-a", 3)
    try:
        first: Future[list[bool]] = Future()
        writer.submit(Write(runs=[new_run("run-b", "PREPARING")], done=first, eager=True))
        assert wait_for(first) == []
        with sessions() as s:
            assert repo.get_run(s, "run-b") is not None
            assert repo.list_tool_calls(s, "run-a") == []
        writer.submit(Write(items=[attempt("run-b", 1)]))
        assert flush_with(writer, attempt("run-a", 4)) == [True]
    finally:
        writer.close()
    assert batches == [1, 5]
    with sessions() as s:
        assert [c.attempt for c in repo.list_tool_calls(s, "run-a")] == [1, 2, 3, 4]
        assert [c.attempt for c in repo.list_tool_calls(s, "run-b")] == [1]
        assert verify_chain(s).checked == 5


def preparing_status() -> RunStatus:
    """A run as PREPARING hands it over: its row and its first two transitions."""
    return RunStatus(
        run_id="run-p",
        agent="refund",
        tenant_id="acme",
        user_id="u",
        request_id="run-p",
        trace_id="trace-p",
        state=RunState.PREPARING,
        transitions=[
            Transition(source=None, target=RunState.INIT, at=T0, reason="started"),
            Transition(source=RunState.INIT, target=RunState.PREPARING, at=T0, reason="prepare"),
        ],
    )


async def test_write_run_commits_the_run_and_leaves_its_transitions_for_the_interval(
    sessions: Callable[[], Session],
) -> None:
    """PREPARING waits only for the run's row; a tool row from any worker can follow at once."""
    batches: list[int] = []
    writer = counting_writer(sessions, batches)
    status = preparing_status()
    try:
        await RunRecorder(writer).write_run(status)
        with sessions() as s:
            run = repo.get_run(s, "run-p")
            assert run is not None
            assert (run.state, run.trace_id) == ("PREPARING", "trace-p")
            assert repo.list_transitions(s, "run-p") == []
            assert list_audit_events(s) == []
        # Another worker's tool row needs nothing more than the run's row.
        with sessions() as s, s.begin():
            assert write_rows(s, [attempt("run-p", 1)]) == [True]
    finally:
        writer.close()
    assert batches == [1, 2]
    with sessions() as s:
        assert [t.target for t in repo.list_transitions(s, "run-p")] == ["INIT", "PREPARING"]
        assert verify_chain(s).ok
