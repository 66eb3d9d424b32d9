"""The tool activity's view of the fault drills in force: read from the store at most every
few seconds (a drill starts or stops within that), never a reason for a tool call to fail."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from agentrun.contracts.faults import FaultRule
from agentrun.contracts.tools import ToolInput
from agentrun.logic.faults import fault_for
from agentrun.store.faults import live_faults

log = structlog.get_logger(__name__)

REFRESH_S = 2.0


class FaultSource:
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._rules: tuple[FaultRule, ...] = ()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def pick(self, call: ToolInput, attempt: int) -> FaultRule | None:
        rules = await self._current()
        if not rules:
            return None
        context = call.context
        return fault_for(
            rules,
            agent=context.agent,
            version=context.version,
            tenant_id=context.tenant_id,
            tool=call.tool,
            idempotency_key=call.idempotency_key,
            attempt=attempt,
            now=datetime.now(UTC),
        )

    async def _current(self) -> tuple[FaultRule, ...]:
        if time.monotonic() - self._read_at < REFRESH_S:
            return self._rules
        async with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_S:
                try:
                    self._rules = tuple(await asyncio.to_thread(self._read))
                except SQLAlchemyError as err:  # keep what was read last: a drill is no outage
                    log.warning("fault drills unreadable", error=str(err).splitlines()[0])
                self._read_at = time.monotonic()
        return self._rules

    def _read(self) -> list[FaultRule]:
        with self._sessions() as session:
            return live_faults(session, datetime.now(UTC))
