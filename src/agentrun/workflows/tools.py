"""Tool calls inside the workflow: contract-derived activity options, fallbacks, call records."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from agentrun.contracts.agents import RunPlan
    from agentrun.contracts.carry import KEEP_RECENT, CarriedCalls
    from agentrun.contracts.evaluation import RecordedResult
    from agentrun.contracts.model import Message, ToolCallRequest
    from agentrun.contracts.tools import (
        RequestContext,
        ToolCallRecord,
        ToolErrorDetail,
        ToolInput,
        ToolOutput,
        ToolPolicy,
        activity_type,
    )
    from agentrun.logic.failures import ToolFailure, classify_tool_failure
    from agentrun.logic.retry import activity_options
    from agentrun.workflows.errors import RunFailure

# The error class of a call whose arguments the model activity refused: no tool ran.
REFUSED_ARGUMENTS = "invalid_arguments"


def _cap(limit: timedelta | None, remaining: timedelta) -> timedelta:
    return remaining if limit is None else min(limit, remaining)


def _detail(cause: ApplicationError | None) -> ToolErrorDetail | None:
    if cause is None or not cause.details:
        return None
    try:
        return ToolErrorDetail.model_validate(cause.details[0])
    except ValidationError:
        return None


def _classify(err: ActivityError, contract: ToolPolicy) -> tuple[ToolFailure, str]:
    cause = err.cause
    app = cause if isinstance(cause, ApplicationError) else None
    detail = _detail(app)
    failure = classify_tool_failure(
        error_type=app.type if app else None,
        error_class=detail.error_class if detail else None,
        non_retryable=bool(app and app.non_retryable)
        or err.retry_state is RetryState.NON_RETRYABLE_FAILURE,
        timed_out=isinstance(cause, ActivityTimeoutError),
        retries_exhausted=err.retry_state
        in (RetryState.MAXIMUM_ATTEMPTS_REACHED, RetryState.TIMEOUT),
        attempt=detail.attempt if detail else None,
        max_attempts=activity_options(contract).retry_policy.maximum_attempts,
    )
    message = cause.message if isinstance(cause, FailureError) else err.message
    return failure, message


@dataclass(frozen=True)
class _Call:
    """One invocation of one tool (the requested tool, or its fallback) within a step."""

    request: ToolCallRequest
    step: int
    index: int
    approved_by: str | None
    fallback_for: str | None = None


class ToolRunner:
    def __init__(
        self,
        spec: RunPlan,
        context: Callable[[], RequestContext],
        remaining: Callable[[], timedelta],
        recorded: Mapping[str, tuple[RecordedResult, ...]] | None = None,
    ) -> None:
        self._spec = spec
        self._context = context
        self._remaining = remaining
        self.records: list[ToolCallRecord] = []
        # Calls before ``records``: a run that continued as new carries only its latest ones.
        self.earlier = 0
        self._called_earlier: tuple[str, ...] = ()
        self.cost_usd = 0.0
        # An evaluation replaying a production run: each tool's recorded results, in call order.
        self._recorded = dict(recorded or {})
        # An evaluated run (its scorers read the tools it called, ``called``).
        self._evaluated = recorded is not None
        self._replayed: dict[str, int] = {}

    def called(self) -> tuple[str, ...]:
        """The tools that were called, in order (calls whose arguments were refused left out)."""
        return self._called_earlier + tuple(
            r.tool for r in self.records if r.error_class != REFUSED_ARGUMENTS
        )

    def carried(self) -> CarriedCalls:
        """The latest records (the run flushed every one to its record first), what the calls
        cost, and for an evaluated run which tools it called before them (its scorers see all)."""
        kept = self.records[-KEEP_RECENT:]
        dropped = self.records[: len(self.records) - len(kept)]
        called: tuple[str, ...] = ()
        if self._evaluated:
            called = self._called_earlier + tuple(
                r.tool for r in dropped if r.error_class != REFUSED_ARGUMENTS
            )
        return CarriedCalls(
            records=tuple(kept),
            earlier=self.earlier + len(dropped),
            cost_usd=self.cost_usd,
            called_earlier=called,
            replayed=dict(self._replayed),
        )

    def resume(self, carried: CarriedCalls) -> None:
        self.records = list(carried.records)
        self.earlier = carried.earlier
        self._called_earlier = carried.called_earlier
        self.cost_usd = carried.cost_usd
        self._replayed = dict(carried.replayed)

    def _next_recorded(self, tool: str) -> RecordedResult | None:
        results = self._recorded.get(tool, ())
        at = self._replayed.get(tool, 0)
        if at >= len(results):
            return None
        self._replayed[tool] = at + 1
        return results[at]

    async def call(
        self, step: int, index: int, request: ToolCallRequest, approved_by: str | None
    ) -> Message:
        contract = self._spec.tool(request.tool)
        assert contract is not None  # noqa: S101 -- the allow-list was checked by the caller
        return await self._invoke(contract, _Call(request, step, index, approved_by))

    def refuse_arguments(self, step: int, index: int, request: ToolCallRequest) -> Message:
        """A call whose arguments the model activity found unusable: no activity, no attempt;
        the model gets the reason back as the tool's answer, and the call is on the record."""
        contract = self._spec.tool(request.tool)
        assert contract is not None  # noqa: S101 -- the allow-list was checked by the caller
        assert request.error is not None  # noqa: S101 -- only refused calls come here
        call = _Call(request, step, index, None)
        key = f"{self._context().run_id}/{step}/{index}"
        now = workflow.now()
        message = f"invalid arguments: {request.error}"
        self._record(
            call,
            contract,
            key=key,
            started=now,
            status="error",
            attempts=0,
            error=(REFUSED_ARGUMENTS, False, message),
        )
        return self.answer(request, {"error": message})

    def record_child(
        self,
        step: int,
        index: int,
        request: ToolCallRequest,
        approved_by: str | None,
        *,
        child_id: str,
        started: datetime,
        failure: tuple[str, str] | None,
    ) -> None:
        """An agent called as a tool, on the record like any call: its key is the child's run
        id, a failure's error class its category."""
        contract = self._spec.tool(request.tool)
        assert contract is not None  # noqa: S101 -- the allow-list was checked by the caller
        self._record(
            _Call(request, step, index, approved_by),
            contract,
            key=child_id,
            started=started,
            status="error" if failure else "success",
            attempts=1,
            error=(failure[0], False, failure[1]) if failure else None,
        )

    async def _invoke(self, contract: ToolPolicy, call: _Call) -> Message:
        context = self._context()
        key = f"{context.run_id}/{call.step}/{call.index}"
        if call.fallback_for:
            key += f"/{contract.name}"
        options = activity_options(contract)
        started = workflow.now()
        summary = contract.name
        if call.fallback_for:
            summary += f" (fallback for {call.fallback_for})"
        try:
            output = await workflow.execute_activity(
                activity_type(contract),
                ToolInput(
                    tool=contract.name,
                    params=call.request.args,
                    context=context,
                    idempotency_key=key,
                    recorded=self._next_recorded(contract.name) if self._recorded else None,
                ),
                result_type=ToolOutput,
                start_to_close_timeout=options.start_to_close_timeout,
                schedule_to_close_timeout=_cap(
                    options.schedule_to_close_timeout, self._remaining()
                ),
                heartbeat_timeout=options.heartbeat_timeout,
                retry_policy=options.retry_policy,
                summary=summary,
            )
        except ActivityError as err:
            failure, message = _classify(err, contract)
            self._record(
                call,
                contract,
                key=key,
                started=started,
                status="error",
                attempts=failure.attempts,
                error=(failure.error_class, failure.retryable, message),
            )
            if failure.category is None:
                return self.answer(call.request, {"error": message})
            if failure.fallback_eligible and contract.fallback and call.fallback_for is None:
                fallback = self._spec.tool(contract.fallback)
                if fallback is not None and self._remaining() > timedelta(0):
                    return await self._invoke(fallback, replace(call, fallback_for=contract.name))
            raise RunFailure(failure.category, message, field=f"tools.{contract.name}") from None
        self.cost_usd += output.metadata.cost_usd
        self._record(
            call,
            contract,
            key=key,
            started=started,
            status=output.status,
            attempts=output.metadata.attempt,
        )
        return self.answer(call.request, output.data)

    @staticmethod
    def answer(request: ToolCallRequest, data: dict[str, object]) -> Message:
        return Message(
            role="tool",
            name=request.tool,
            tool_call_id=request.call_id,
            content=json.dumps(data, separators=(",", ":"), default=str),
        )

    def _record(
        self,
        call: _Call,
        contract: ToolPolicy,
        *,
        key: str,
        started: datetime,
        status: str,
        attempts: int,
        error: tuple[str, bool, str] | None = None,
    ) -> None:
        error_class, retryable, message = error or (None, None, None)
        self.records.append(
            ToolCallRecord.model_validate(
                {
                    "call_id": call.request.call_id,
                    "step": call.step,
                    "tool": contract.name,
                    "status": status,
                    "attempts": attempts,
                    "idempotency_key": key,
                    "started_at": started,
                    "finished_at": workflow.now(),
                    "error_class": error_class,
                    "retryable": retryable,
                    "message": message,
                    "fallback_for": call.fallback_for,
                    "approved_by": call.approved_by,
                }
            )
        )
