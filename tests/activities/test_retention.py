"""The purge activity on a real SQLite store, and its refusal when the worker has no store."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from agentrun.activities.retention import RetentionActivities
from agentrun.contracts.names import ErrorType
from agentrun.contracts.retention import PurgeRequest
from agentrun.store import migrate
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import RunRow
from tests.support.retention import PREFIX_END, seed

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


async def test_purge_activity_purges_in_one_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        with sessions() as s, s.begin():
            ids = seed(s, NOW)
        activities = RetentionActivities(sessions)
        env = ActivityEnvironment()
        dry = await env.run(activities.purge, PurgeRequest(dry_run=True, now=NOW))
        assert (dry.dry_run, dry.plan.runs, dry.plan.through_seq) == (True, 2, PREFIX_END)
        done = await env.run(activities.purge, PurgeRequest(now=NOW))
        assert (done.anchor_seq, done.deleted["runs"]) == (PREFIX_END, 2)
        with sessions() as s:
            assert set(s.exec(select(RunRow.run_id)).all()) == ids.kept
    finally:
        engine.dispose()


async def test_without_a_store_the_purge_fails_for_good() -> None:
    activities = RetentionActivities(None)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.purge, PurgeRequest(dry_run=True))
    assert caught.value.type == ErrorType.STORE_DISABLED
    assert caught.value.non_retryable
    assert "AGENTRUN_STORE_ENABLED=false" in caught.value.message


async def test_a_purge_as_of_the_future_fails_for_good(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        activities = RetentionActivities(session_factory(engine))
        ahead = datetime.now(UTC) + timedelta(days=1)
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(activities.purge, PurgeRequest(now=ahead))
    finally:
        engine.dispose()
    assert caught.value.type == ErrorType.PURGE_REFUSED
    assert caught.value.non_retryable
