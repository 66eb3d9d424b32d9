"""Polling helpers: tests wait for observable state, never for fixed sleeps."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from sqlmodel import Session

from agentrun.client import AgentRunClient
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import RunState
from agentrun.store.queries import get_run

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


async def wait_for_approval(
    runs: AgentRunClient, run_id: str, tool: str, timeout: float = 20.0
) -> RunStatus:
    """Until the run waits for a person to approve a call of ``tool``."""
    return await eventually(
        lambda: runs.status(run_id),
        lambda s: s.pending_review is not None and s.pending_review.tool == tool,
        timeout,
    )


async def wait_for_stored_state(
    sessions: Callable[[], Session], run_id: str, state: str, timeout: float = 10.0
) -> None:
    """The store catches up with a run a flush interval after the run moves (write-behind)."""

    async def stored() -> str | None:
        with sessions() as session:
            row = get_run(session, run_id)
            return row.state if row is not None else None

    await eventually(stored, lambda found: found == state, timeout)


async def ui_server_settings(ui_port: int) -> dict[str, Any]:
    """The settings the UI server hands the browser app (its codec endpoint among them); polled,
    as the UI server answers only after its frontend has started."""
    url = f"http://127.0.0.1:{ui_port}/api/v1/settings"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        settings: dict[str, Any] = await response.json()
                        return settings
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the UI server on port {ui_port} never answered {url}")
