"""Writers are idempotent on their natural keys and audit exactly the rows they insert."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from agentrun.contracts.states import RunState
from agentrun.logic.versions import digest
from agentrun.store import repository as repo
from agentrun.store import versions
from agentrun.store.audit import verify_chain
from agentrun.store.db import session_factory

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def add_run(session: Session, run_id: str = "run-1", **changes: object) -> None:
    fields: dict[str, object] = {
        "run_id": run_id,
        "agent": "refund",
        "tenant_id": "acme",
        "user_id": "u-42",
        "request_id": run_id,
        "trace_id": "trace-" + run_id,
        "state": RunState.INIT,
        "started_at": T0,
    }
    fields.update(changes)
    repo.upsert_run(session, **fields)  # type: ignore[arg-type]


def record_everything(session: Session, run_id: str = "run-1") -> list[bool]:
    return [
        repo.record_transition(
            session, run_id=run_id, seq=0, source=None, target=RunState.INIT, at=T0
        ),
        repo.record_transition(
            session,
            run_id=run_id,
            seq=1,
            source=RunState.INIT,
            target=RunState.PREPARING,
            at=T0 + timedelta(seconds=1),
            reason="envelope valid",
        ),
        repo.record_tool_call(
            session,
            run_id=run_id,
            idempotency_key=f"{run_id}/1/0",
            attempt=1,
            tool="issue_refund",
            status="success",
            started_at=T0 + timedelta(seconds=2),
            finished_at=T0 + timedelta(seconds=3),
            duration_ms=812.5,
        ),
        repo.record_model_call(
            session,
            run_id=run_id,
            turn=1,
            attempt=1,
            provider="scripted",
            model="refund-v1",
            at=T0 + timedelta(seconds=4),
            input_tokens=120,
            output_tokens=30,
            cost_usd=0.00042,
        ),
        repo.record_review(
            session,
            run_id=run_id,
            review_id="final-1",
            kind="final",
            decision="approve",
            reviewer="alice",
            at=T0 + timedelta(seconds=5),
            latency_ms=4000.0,
            comment="ok",
        ),
    ]


def test_record_twice_writes_one_row_and_one_audit_event(
    sessions: Callable[[], Session],
) -> None:
    with sessions() as s, s.begin():
        add_run(s)
        assert record_everything(s) == [True] * 5
    # A retried activity, in a new transaction, records the same things again.
    with sessions() as s, s.begin():
        add_run(s)
        assert record_everything(s) == [False] * 5
    with sessions() as s:
        assert len(repo.list_transitions(s, "run-1")) == 2
        assert len(repo.list_tool_calls(s, "run-1")) == 1
        assert len(repo.list_model_calls(s, "run-1")) == 1
        assert len(repo.list_reviews(s, "run-1")) == 1
        events = repo.list_audit_events(s, "run-1")
        assert [e.kind for e in events] == ["run", "run", "tool_call", "model_call", "review"]
        assert [e.seq for e in events] == [1, 2, 3, 4, 5]
        assert events[-1].actor == "alice"
        assert events[0].tenant_id == "acme"
        assert events[0].trace_id == "trace-run-1"
        assert verify_chain(s).ok


def test_upsert_run_updates_progress_but_not_identity(sessions: Callable[[], Session]) -> None:
    with sessions() as s, s.begin():
        add_run(s)
    finished = T0 + timedelta(minutes=2)
    with sessions() as s, s.begin():
        add_run(
            s,
            tenant_id="someone-else",
            state=RunState.COMPLETED,
            finished_at=finished,
            input_tokens=500,
            cost_usd=0.25,
            human_override=True,
        )
    with sessions() as s:
        run = repo.get_run(s, "run-1")
        assert run is not None
        assert run.tenant_id == "acme"
        assert run.state == "COMPLETED"
        assert (run.input_tokens, run.cost_usd, run.human_override) == (500, 0.25, True)
        assert run.finished_at == finished
        assert repo.get_run(s, "missing") is None


def test_datetimes_come_back_aware_utc(sessions: Callable[[], Session]) -> None:
    paris = timezone(timedelta(hours=1))
    with sessions() as s, s.begin():
        add_run(s, started_at=T0.astimezone(paris))
    with sessions() as s:
        run = repo.get_run(s, "run-1")
        assert run is not None
        assert run.started_at == T0
        assert run.started_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(sessions: Callable[[], Session]) -> None:
    with pytest.raises(ValueError, match="naive datetime"), sessions() as s, s.begin():
        add_run(s, started_at=T0.replace(tzinfo=None))


def test_recording_for_an_unknown_run_names_it(sessions: Callable[[], Session]) -> None:
    with pytest.raises(LookupError, match="run nope"), sessions() as s, s.begin():
        repo.record_transition(s, run_id="nope", seq=0, target=RunState.INIT, at=T0)
    with sessions() as s:
        assert repo.list_audit_events(s) == []


def test_rolled_back_record_leaves_no_row_and_no_event(sessions: Callable[[], Session]) -> None:
    with sessions() as s, s.begin():
        add_run(s)

    def crash_after_recording() -> None:
        with sessions() as s, s.begin():
            record_everything(s)
            raise RuntimeError("activity crashed before commit")

    with pytest.raises(RuntimeError):
        crash_after_recording()
    with sessions() as s, s.begin():
        assert record_everything(s) == [True] * 5
    with sessions() as s:
        assert [e.seq for e in repo.list_audit_events(s)] == [1, 2, 3, 4, 5]
        assert verify_chain(s).ok


def test_agent_versions_are_immutable(sessions: Callable[[], Session]) -> None:
    content = {"spec": {"model": "refund-v1", "tools": [{"name": "issue_refund"}]}}
    changed = {"spec": {"model": "refund-v2", "tools": [{"name": "issue_refund"}]}}
    with sessions() as s, s.begin():
        kwargs = {"name": "refund", "version": "1", "created_at": T0}
        assert versions.record_agent_version(s, content=content, **kwargs)  # type: ignore[arg-type]
        assert not versions.record_agent_version(s, content=content, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(versions.VersionConflictError) as refused:
            versions.record_agent_version(s, content=changed, **kwargs)  # type: ignore[arg-type]
    assert str(refused.value).startswith(
        "agent refund@1 was registered on 2025-03-01 12:00 UTC with other content "
        '(spec.model: "refund-v1" -> "refund-v2"): a version is immutable'
    )
    with sessions() as s:
        row = versions.get_agent_version(s, "refund", "1")
        assert row is not None
        assert row.spec_json == content
        assert row.digest == digest(content)


def test_publishing_is_all_or_none(sessions: Callable[[], Session]) -> None:
    """One conflicting version in a worker's registry publishes none of the others."""
    one = versions.Published("refund", "1", {"spec": {"model": "a"}})
    with sessions() as s, s.begin():
        versions.record_agent_version(
            s, name="refund", version="1", content={"spec": {"model": "b"}}, created_at=T0
        )
    with pytest.raises(versions.VersionConflictError):
        versions.publish(sessions, [versions.Published("echo", "1", {"spec": {}}), one], T0)
    with sessions() as s:
        assert versions.get_agent_version(s, "echo", "1") is None
        assert [r.version for r in versions.list_agent_versions(s, "refund")] == ["1"]
    two = versions.Published("refund", "2", {"spec": {"model": "c"}})
    later = T0 + timedelta(minutes=1)
    assert versions.publish(sessions, [two, versions.Published("echo", "1", {})], later) == [
        "refund@2",
        "echo@1",
    ]
    assert versions.publish(sessions, [two], later) == []
    with sessions() as s:
        assert [r.version for r in versions.list_agent_versions(s, "refund")] == ["1", "2"]


def test_racing_duplicates_write_one_row_and_one_event(engine: Engine) -> None:
    """Two attempts of one activity running at once (a worker thought dead): one record."""
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        add_run(s)
    racers = 4
    start = threading.Barrier(racers)
    results: list[bool] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            start.wait()
            with sessions() as s, s.begin():
                results.append(
                    repo.record_tool_call(
                        s,
                        run_id="run-1",
                        idempotency_key="run-1/1/0",
                        attempt=1,
                        tool="issue_refund",
                        status="success",
                        started_at=T0,
                    )
                )
        except BaseException as err:  # noqa: BLE001 -- reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=attempt) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(results) == [False] * (racers - 1) + [True]
    with sessions() as s:
        assert len(repo.list_tool_calls(s, "run-1")) == 1
        assert len(repo.list_audit_events(s, "run-1")) == 1
        assert verify_chain(s).ok
