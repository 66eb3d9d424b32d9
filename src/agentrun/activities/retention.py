"""The retention purge as an activity, so a Temporal Schedule can run it (``RetentionPurge``).

The database work is synchronous and can take a while on a large store: it runs in a thread,
in one transaction, so a failed attempt leaves nothing half-purged and the retry starts over.
"""

import asyncio

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentrun.contracts.names import ACTIVITY_RETENTION_PURGE, ErrorType
from agentrun.contracts.retention import PurgeRequest, PurgeResult
from agentrun.store.retention import PurgeRefused, carry_out


class RetentionActivities:
    """``sessions`` None: the worker runs without a store (``store_enabled`` off)."""

    def __init__(self, sessions: sessionmaker[Session] | None) -> None:
        self._sessions = sessions

    @activity.defn(name=ACTIVITY_RETENTION_PURGE)
    async def purge(self, request: PurgeRequest) -> PurgeResult:
        sessions = self._sessions
        if sessions is None:
            raise ApplicationError(
                "the run record store is disabled on this worker (AGENTRUN_STORE_ENABLED=false):"
                " there is nothing to purge",
                type=ErrorType.STORE_DISABLED,
                non_retryable=True,
            )

        def work() -> PurgeResult:
            with sessions() as session, session.begin():
                return carry_out(session, request)

        try:
            return await asyncio.to_thread(work)
        except PurgeRefused as err:
            raise ApplicationError(
                str(err), type=ErrorType.PURGE_REFUSED, non_retryable=True
            ) from None
