"""PREPARING's view of the rollouts in progress: each agent's split, read from the run store at
most every few seconds (a stage change reaches every worker within that)."""

import asyncio
import time
from collections.abc import Callable

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from agentrun.contracts.rollout import Split
from agentrun.logic.rollout import route
from agentrun.store.rollouts import read_splits

log = structlog.get_logger(__name__)

REFRESH_S = 2.0


class Router:
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._splits: dict[str, Split] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def route(self, agent: str, request_id: str) -> tuple[str, str] | None:
        """(version, why) for an unpinned run, or None when no rollout routes the agent."""
        split = (await self._current()).get(agent)
        return route(split, request_id) if split is not None else None

    async def _current(self) -> dict[str, Split]:
        if time.monotonic() - self._read_at < REFRESH_S:
            return self._splits
        async with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_S:
                try:
                    self._splits = await asyncio.to_thread(self._read)
                except SQLAlchemyError as err:  # keep the last routing: runs go on
                    log.warning("rollout routing unreadable", error=str(err).splitlines()[0])
                self._read_at = time.monotonic()
        return self._splits

    def _read(self) -> dict[str, Split]:
        with self._sessions() as session:
            return read_splits(session)
