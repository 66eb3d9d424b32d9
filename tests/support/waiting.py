"""Polling helpers: tests wait for observable state, never for fixed sleeps."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from agentrun.client import AgentRunClient
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import RunState

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 20.0
) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if check(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def wait_for_state(
    runs: AgentRunClient, run_id: str, state: RunState, timeout: float = 20.0
) -> RunStatus:
    return await eventually(lambda: runs.status(run_id), lambda s: s.state is state, timeout)


async def wait_for_review(
    runs: AgentRunClient, run_id: str, kind: str = "final", timeout: float = 20.0
) -> RunStatus:
    return await eventually(
        lambda: runs.status(run_id),
        lambda s: s.pending_review is not None and s.pending_review.kind == kind,
        timeout,
    )
