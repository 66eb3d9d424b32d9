"""Writing the run record: tool and model activities write their own rows, and the run hands
its status to the worker (an extern function, no activity) when it waits for a person or ends.

Every write is idempotent on its natural key, so retries and replays never add a second row.
Activity-side rows go through the write-behind :class:`BackgroundWriter` and never wait or fail
their activity (a retry would repeat a tool's side effect); the PREPARING write waits for the
run's own row, so it exists before its children, but only briefly (``RUN_ROW_WAIT_S``): with the
store down the row stays queued, and the writer, which writes in order, stores it before the
run's later rows once the store is back. The hand-over does not wait: every one carries the
whole record (each call's last attempt included), and ``agentrun reconcile`` repairs a run
whose last hand-over a killed worker lost.
"""

import asyncio
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

from temporalio import activity

from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.names import ACTIVITY_RECORD_RUN
from agentrun.contracts.runs import RecordAck, RunStatus
from agentrun.contracts.tools import RetentionClass, ToolInput
from agentrun.store import repository
from agentrun.store.status import redacted_event, status_rows
from agentrun.store.writer import BackgroundWriter, Write

# How long PREPARING waits for the run's own row. Longer only means a run that fails
# ``state_timeout`` (PREPARING's deadline is a minute) while the store is down, which Temporal,
# the source of truth, does not need: the row is written when the store is back.
RUN_ROW_WAIT_S = 5.0


class RunRecorder:
    def __init__(self, writer: BackgroundWriter) -> None:
        self._writer = writer

    async def write_status(self, status: RunStatus) -> RecordAck:
        """Store the run as ``status`` shows it and wait until it is committed."""
        run, items = status_rows(status)
        # A thread future: the writer thread completes it, and this event loop waits on it.
        done: Future[list[bool]] = Future()
        self._writer.submit(Write(runs=[run], items=items, done=done))
        await asyncio.wrap_future(done)
        return RecordAck(
            transitions=len(status.transitions),
            reviews=len(status.reviews),
            tool_calls=len(status.tool_calls),
        )

    async def write_run(self, status: RunStatus, *, wait: float = RUN_ROW_WAIT_S) -> bool:
        """Store the run's own row and wait until it is committed, for at most ``wait``
        seconds; queue the rest. False when the row is still queued (the store is down).

        The run's row is what its children (tool and model rows, from any worker) need to
        exist first. Written alone, it rides the writer's next transaction (under load, one a
        model call is waiting for anyway) instead of forcing the record's queued rows out
        early; its transitions and their audit events go with the next interval's batch.
        """
        run, items = status_rows(status)
        done: Future[list[bool]] = Future()
        self._writer.submit(Write(runs=[run], done=done, eager=True))
        self._writer.submit(Write(items=items))
        try:
            # Giving up cancels the waiter, not the write: the writer stores the row later.
            await asyncio.wait_for(asyncio.wrap_future(done), wait)
        except TimeoutError:
            return False
        return True

    def submit_status(self, status: RunStatus) -> None:
        """Queue the run as ``status`` shows it, without waiting: how a workflow hands over its
        record (from the workflow task's thread, so no event and no activity per flush)."""
        run, items = status_rows(status)
        self._writer.submit(Write(runs=[run], items=items))

    def submit_governance(self, run_id: str, event: GovernanceEvent) -> None:
        """Queue one governance event of a run (a refused review the run never saw)."""
        item = repository.governance_item(run_id=run_id, event=redacted_event(event))
        self._writer.submit(Write(items=[item]))

    def tool_attempt(
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
        item = repository.tool_call_item(
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
        )
        self._writer.submit(Write(items=[item]))

    def model_call(
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
        item = repository.model_call_item(
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
        )
        self._writer.submit(Write(items=[item]))


class RecordActivities:
    """``recorder`` None: the store is off, and the flush only acknowledges."""

    def __init__(self, recorder: RunRecorder | None) -> None:
        self._recorder = recorder

    @activity.defn(name=ACTIVITY_RECORD_RUN)
    async def record_run(self, status: RunStatus) -> RecordAck:
        if self._recorder is None:
            return RecordAck(transitions=0, reviews=0, tool_calls=0)
        return await self._recorder.write_status(status)
