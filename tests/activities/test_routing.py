"""PREPARING's rollout routing against a real SQLite store: read at most every 2 s, and a store
held by another process never holds a run up for longer than a moment (its busy timeout is 30 s)."""

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from agentrun.activities import cached_read
from agentrun.activities.routing import Router
from agentrun.contracts.rollout import Routed, Split, SplitChange
from agentrun.store.db import make_engine, session_factory
from agentrun.store.rollouts import write_split
from tests.support.store import held_exclusively, migrate_data_dir


def change(percent: float) -> SplitChange:
    split = Split(
        agent="a", rollout_id="rollout-a", stable="1", candidate="2", percent=percent, stage="s"
    )
    return SplitChange(split=split, by="dana", action="stage")


async def test_routing_follows_the_store_and_a_held_store_costs_a_moment(tmp_path: Path) -> None:
    url = migrate_data_dir(tmp_path)
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        with sessions() as session, session.begin():
            write_split(session, change(100), datetime.now(UTC))
        engine.dispose()  # no pooled connection left to share the file with the holder
        router = Router(sessions)
        assert await router.route("a", "req") == Routed(
            version="2", reason="rollout rollout-a s (100 %): candidate"
        )
        assert await router.route("other", "req") is None

        engine.dispose()  # the router's reads leave a pooled connection: close it first
        with held_exclusively(tmp_path / "agentrun.db"):
            await asyncio.sleep(cached_read.REFRESH_S + 0.1)
            started = time.monotonic()
            routed = [await router.route("a", f"req-{i}") for i in range(20)]
            waited = time.monotonic() - started
        # The last routing served every run; one call waited for the read it started.
        assert all(found is not None and found.version == "2" for found in routed)
        assert waited < cached_read.WAIT_S + 0.5

        with sessions() as session, session.begin():
            write_split(session, change(0), datetime.now(UTC))
        deadline = time.monotonic() + 40  # the stuck read ends with its busy timeout
        stable = Routed(version="1", reason="rollout rollout-a s (0 %): stable")
        while (await router.route("a", "req")) != stable:
            assert time.monotonic() < deadline, "the new routing never arrived"
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()
