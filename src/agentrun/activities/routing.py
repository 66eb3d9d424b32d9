"""PREPARING's view of the rollouts in progress: each agent's split, read from the run store at
most every few seconds (a stage change reaches every worker within that), never holding up a
run when the store is locked (``cached_read``)."""

from collections.abc import Callable

from sqlmodel import Session

from agentrun.activities.cached_read import CachedRead
from agentrun.contracts.rollout import Routed, Split
from agentrun.logic.rollout import route
from agentrun.store.rollouts import read_splits


class Router:
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._splits: CachedRead[dict[str, Split]] = CachedRead(self._read, {}, what="rollouts")

    async def route(self, agent: str, request_id: str) -> Routed | None:
        """An unpinned run's version, or None when no rollout routes the agent."""
        split = (await self._splits.get()).get(agent)
        return route(split, request_id) if split is not None else None

    def _read(self) -> dict[str, Split]:
        with self._sessions() as session:
            return read_splits(session)
