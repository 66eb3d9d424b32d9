"""The tool activity's view of the fault drills in force: read from the run store at most every
few seconds (a drill starts or stops within that), never a reason for a tool call to fail or
wait when the store is locked (``cached_read``)."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session

from agentrun.activities.cached_read import CachedRead
from agentrun.contracts.faults import FaultRule
from agentrun.contracts.tools import ToolInput
from agentrun.logic.faults import fault_for
from agentrun.store.faults import live_faults


class FaultSource:
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._rules: CachedRead[tuple[FaultRule, ...]] = CachedRead(self._read, (), what="faults")

    async def pick(self, call: ToolInput, attempt: int) -> FaultRule | None:
        rules = await self._rules.get()
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

    def _read(self) -> tuple[FaultRule, ...]:
        with self._sessions() as session:
            return tuple(live_faults(session, datetime.now(UTC)))
