"""Writing the run record: tool and model activities write their own rows, and one local
activity flushes the run, its transitions and reviews when the run waits for a person or ends.

Every write is idempotent on its natural key, so retries and replays never add a second row.
A store failure never fails a tool attempt (that could repeat a side effect): it is logged, and
the final flush writes each call's last attempt again from the run status.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from temporalio import activity

from agentrun.contracts.names import ACTIVITY_RECORD_RUN
from agentrun.contracts.runs import RecordAck, RunStatus
from agentrun.contracts.tools import RetentionClass, ToolInput
from agentrun.store import repository

log = structlog.get_logger(__name__)
T = TypeVar("T")


class RunRecorder:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    async def write(self, fn: Callable[[Session], T]) -> T:
        def work() -> T:
            with self._sessions() as session:
                result = fn(session)
                session.commit()
                return result

        return await asyncio.to_thread(work)

    async def _best_effort(self, what: str, fn: Callable[[Session], object], **ids: object) -> None:
        """Activity-side writes never fail their activity: a retry would repeat a tool's side
        effect or pay for a model call again. The final flush backs tool calls up."""
        try:
            await self.write(fn)
        except Exception as err:  # noqa: BLE001 -- see docstring
            # Only the error's type: driver messages can quote the row's values.
            log.error("record write failed", record=what, error=type(err).__name__, **ids)  # noqa: TRY400

    async def tool_attempt(
        self,
        call: ToolInput,
        *,
        attempt: int,
        status: str,
        error_class: str | None,
        retryable: bool | None,
        duration_ms: float,
        retention: RetentionClass,
    ) -> None:
        finished = datetime.now(UTC)
        await self._best_effort(
            "tool call",
            lambda s: repository.record_tool_call(
                s,
                run_id=call.context.run_id,
                idempotency_key=call.idempotency_key,
                attempt=attempt,
                tool=call.tool,
                status=status,
                started_at=finished - timedelta(milliseconds=duration_ms),
                finished_at=finished,
                error_class=error_class,
                retryable=retryable,
                duration_ms=duration_ms,
                retention=retention,
            ),
            tool=call.tool,
        )

    async def model_call(
        self,
        *,
        run_id: str,
        turn: int,
        attempt: int,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        duration_ms: float,
    ) -> None:
        await self._best_effort(
            "model call",
            lambda s: repository.record_model_call(
                s,
                run_id=run_id,
                turn=turn,
                attempt=attempt,
                provider=provider,
                model=model,
                at=datetime.now(UTC),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=cost_usd,
                duration_ms=duration_ms,
            ),
            run_id=run_id,
        )


def flush_status(session: Session, status: RunStatus) -> RecordAck:
    first, last = status.transitions[0], status.transitions[-1]
    failure = status.failure
    repository.upsert_run(
        session,
        run_id=status.run_id,
        agent=status.agent,
        tenant_id=status.tenant_id,
        user_id=status.user_id,
        request_id=status.request_id,
        trace_id=status.trace_id,
        state=status.state.value,
        started_at=first.at,
        version=status.version,
        failure_category=failure.category.value if failure else None,
        failure_message=failure.message if failure else None,
        finished_at=last.at if status.state.terminal else None,
        human_override=status.human_override,
        input_tokens=status.usage.tokens.input_tokens,
        output_tokens=status.usage.tokens.output_tokens,
        cost_usd=status.usage.cost_usd,
    )
    for seq, transition in enumerate(status.transitions):
        repository.record_transition(
            session,
            run_id=status.run_id,
            seq=seq,
            source=transition.source.value if transition.source else None,
            target=transition.target.value,
            at=transition.at,
            reason=transition.reason,
        )
    for review in status.reviews:
        opened = review.opened_at
        repository.record_review(
            session,
            run_id=status.run_id,
            review_id=review.review_id,
            kind=review.kind,
            decision=review.decision.value,
            reviewer=review.reviewer,
            at=review.at,
            latency_ms=(review.at - opened).total_seconds() * 1000 if opened else None,
            automatic=review.automatic,
            escalated=review.escalated,
            human_override=review.human_override,
            comment=review.comment,
        )
    for call in status.tool_calls:
        repository.record_tool_call(
            session,
            run_id=status.run_id,
            idempotency_key=call.idempotency_key,
            attempt=call.attempts,
            tool=call.tool,
            status=call.status,
            started_at=call.started_at,
            finished_at=call.finished_at,
            error_class=call.error_class,
            retryable=call.retryable,
            fallback_for=call.fallback_for,
        )
    return RecordAck(
        transitions=len(status.transitions),
        reviews=len(status.reviews),
        tool_calls=len(status.tool_calls),
    )


class RecordActivities:
    """``recorder`` None: the store is off, and the flush only acknowledges."""

    def __init__(self, recorder: RunRecorder | None) -> None:
        self._recorder = recorder

    @activity.defn(name=ACTIVITY_RECORD_RUN)
    async def record_run(self, status: RunStatus) -> RecordAck:
        if self._recorder is None:
            return RecordAck(transitions=0, reviews=0, tool_calls=0)
        return await self._recorder.write(lambda s: flush_status(s, status))
