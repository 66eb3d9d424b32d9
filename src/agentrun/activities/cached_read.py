"""A small table read from the run store in the background, at most every few seconds, that a
run's activities consult on every call (rollout routing, fault drills). A caller waits a moment
for a fresh read and otherwise goes on with the last one: a locked or unreachable store (its
reads wait out SQLite's busy timeout) must never hold up PREPARING or a tool call."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

import structlog

from agentrun.store.health import unreadable

log = structlog.get_logger(__name__)

T = TypeVar("T")

REFRESH_S = 2.0
# How long a call that starts a fresh read waits for it before going on with the last value.
WAIT_S = 0.5


class CachedRead(Generic[T]):
    def __init__(self, read: Callable[[], T], initial: T, *, what: str) -> None:
        self._read = read
        self._value = initial
        self._what = what
        self._read_at = float("-inf")
        self._pending: asyncio.Future[T] | None = None
        self._failing = False
        # One thread of its own: a read stuck on a locked store holds no thread tools need,
        # and a second read never starts while the first is stuck.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"read-{what}")

    async def get(self) -> T:
        if self._pending is not None and self._pending.done():
            self._collect(self._pending)
        if self._pending is None and time.monotonic() - self._read_at >= REFRESH_S:
            self._read_at = time.monotonic()
            self._pending = asyncio.get_running_loop().run_in_executor(self._executor, self._read)
            # Not ready in time: collected on a later call; the last value serves meanwhile. A
            # read that failed is done: _collect below keeps the last value or raises a bug.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._pending), WAIT_S)
            if self._pending is not None and self._pending.done():
                self._collect(self._pending)
        return self._value

    def _collect(self, done: "asyncio.Future[T]") -> None:
        self._pending = None
        error = done.exception()
        if error is None:
            self._value = done.result()
            if self._failing:
                log.info("store readable again", what=self._what)
            self._failing = False
            return
        if not unreadable(error):
            raise error
        if not self._failing:  # once per outage, not once per read
            log.warning(
                "store unreadable, using the last read", what=self._what, error=str(error)[:200]
            )
        self._failing = True
