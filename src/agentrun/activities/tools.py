"""One activity per tool: validates params, runs the tool, validates and wraps its output.

The wrapper, not the tool, enforces the contract: a tool that "succeeds" with output breaking its
schema raises a non-retryable ``ContractViolation`` instead of reaching the model.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from opentelemetry.trace import Tracer
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentrun.activities.errors import classify, first_problem, tool_failure
from agentrun.activities.faults import FaultSource
from agentrun.activities.record import RunRecorder
from agentrun.agents.registry import AgentRegistry, ToolContext, ToolDefinition, ToolFn
from agentrun.contracts.evaluation import RunMode
from agentrun.contracts.faults import FaultMode, FaultRule
from agentrun.contracts.names import ErrorType
from agentrun.contracts.pricing import PriceTable
from agentrun.contracts.tools import (
    SideEffect,
    ToolContract,
    ToolInput,
    ToolMetadata,
    ToolOutput,
    ToolStatus,
    activity_type,
)
from agentrun.logic.retry import HEARTBEAT_TIMEOUT, ErrorClass, activity_options, effective_error
from agentrun.observability.metrics import PerWorker, ToolInstruments
from agentrun.observability.tracing import ToolAttempt, activity_tracer, tool_span

log = structlog.get_logger(__name__)

# A quarter of the heartbeat timeout: the SDK sends at most one heartbeat per 0.8 x the timeout,
# the latest it was given, so a fresh one must be there each time it sends.
HEARTBEAT_EVERY_S = HEARTBEAT_TIMEOUT.total_seconds() / 4
# An output travels in Temporal payloads (the activity's result, then, escaped again, the model's
# next input) whose hard limit is 2 MB: past it the workflow task fails on every retry and the run
# is stuck. Capping the JSON form here keeps every copy well below that limit.
MAX_OUTPUT_BYTES = 256 * 1024


class PartialResult:
    """Returned by a tool whose result is usable but incomplete (envelope status ``partial``)."""

    def __init__(self, data: Any) -> None:
        self.data = data


ToolActivity = Callable[[ToolInput], Awaitable[ToolOutput]]


async def _heartbeat_forever() -> None:
    """Beats while the tool runs, so a killed worker's call is retried within the heartbeat
    timeout, not at the end of the tool's own. The first beat waits an interval: most calls end
    sooner and so cost no heartbeat RPC (the server counts the timeout from the attempt's start
    until the first beat)."""
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY_S)
        activity.heartbeat()


def _note(level: int, event: str, **fields: Any) -> None:
    """Log a tool outcome without ever changing it: a broken log set-up (the demo's once) must
    not turn a tool's http_503 into a retryable AttributeError raised from the except branch."""
    try:
        log.log(level, event, **fields)
    except Exception:  # whatever logging raises, the call's outcome stands
        logging.getLogger(__name__).exception("could not log %r", event)


def _as_plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _violation(tool: str, attempt: int, field: str, message: str) -> ApplicationError:
    error = ErrorClass(ErrorType.CONTRACT_VIOLATION, "contract_violation", False)
    # No traceback: a validation error quotes the offending output (maybe PII).
    _note(logging.ERROR, "tool output violates its contract", field=field)
    return tool_failure(
        tool, error, attempt, f"output breaks contract at {field}: {message}", field
    )


def _observed(
    contract: ToolContract,
    tracer: Tracer | None,
    recorder: RunRecorder | None,
    attempt: ToolActivity,
) -> ToolActivity:
    """Every attempt, however it ends, is one span, one observation of each tool metric and
    one row in the run record."""
    tool = contract.name
    spans = activity_tracer(tracer)
    instruments = PerWorker(ToolInstruments.create)

    async def run_tool(call: ToolInput) -> ToolOutput:
        started = time.perf_counter()
        outcome = ToolAttempt()
        try:
            with tool_span(spans, tool, call.idempotency_key, outcome):
                output = await attempt(call)
                outcome.status = output.status
                return output
        finally:
            seconds = time.perf_counter() - started
            instruments.get().record(tool, outcome, seconds)
            if recorder is not None:
                recorder.tool_attempt(
                    call,
                    attempt=activity.info().attempt,
                    status=outcome.outcome,
                    error_class=outcome.error_class,
                    retryable=outcome.retryable,
                    duration_ms=seconds * 1000,
                    retention=contract.retention,
                )

    return run_tool


def _stand_in(tool: ToolDefinition, call: ToolInput, attempt: int) -> ToolFn:
    """What answers this call: the tool; in an evaluation, the production run's recorded result
    when the case has one, else for a tool with side effects its dry run, never the tool."""
    contract = tool.contract
    recorded = call.recorded
    if recorded is not None:
        if recorded.error is not None:
            error = ErrorClass(ErrorType.RECORDED_FAILURE, recorded.error, recorded.retryable)
            raise tool_failure(contract.name, error, attempt, f"recorded failure: {recorded.error}")
        data = recorded.data

        async def replay(params: BaseModel, ctx: ToolContext) -> object:  # noqa: ARG001
            return data

        return replay
    if call.context.mode is RunMode.LIVE or contract.side_effect is SideEffect.NONE:
        return tool.fn
    if tool.dry_run is None:
        error = ErrorClass(ErrorType.NO_DRY_RUN, "no_dry_run", False)
        raise tool_failure(
            contract.name,
            error,
            attempt,
            f"{contract.name} has side effects ({contract.side_effect}) and declares no dry run: "
            f"a {call.context.mode} run never calls it for real (add dry_run= to the tool)",
        )
    return tool.dry_run


def _injected(contract: ToolContract, fault: FaultRule, attempt: int) -> ApplicationError:
    error = ErrorClass(ErrorType.TOOL_UNAVAILABLE, "injected_fault", True, 503)
    message = f"injected fault {fault.fault_id} (drill): service unavailable"
    return tool_failure(contract.name, error, attempt, message)


def _params(tool: ToolDefinition, call: ToolInput, attempt: int) -> BaseModel:
    try:
        return tool.params_model.model_validate(call.params)
    except ValidationError as err:
        field, msg = first_problem(err, "params")
        error = ErrorClass(ErrorType.INVALID_PARAMS, "invalid_params", False)
        raise tool_failure(tool.contract.name, error, attempt, f"{field}: {msg}", field) from None


async def _answer(
    contract: ToolContract,
    answer: ToolFn,
    params: BaseModel,
    ctx: ToolContext,
    fault: FaultRule | None,
    *,
    heartbeats: bool,
) -> Any:
    """The tool's (or its stand-in's) raw answer, with a drill's fault applied; a failure
    raised as the contract classifies it."""
    if fault is not None:
        _note(logging.WARNING, "injected fault", fault_id=fault.fault_id, mode=fault.mode)
        if fault.mode is FaultMode.ERROR:
            raise _injected(contract, fault, ctx.attempt)
    heartbeat = asyncio.create_task(_heartbeat_forever()) if heartbeats else None
    try:
        if fault is not None and fault.mode is FaultMode.SLOW:
            await asyncio.sleep(fault.delay_s)
        raw = await answer(params, ctx)
    except ApplicationError:
        raise
    except Exception as exc:
        error = effective_error(contract, classify(exc))
        _note(
            logging.WARNING,
            "tool call failed",
            error_class=error.error_class,
            retryable=error.retryable,
        )
        raise tool_failure(
            contract.name, error, ctx.attempt, str(exc) or error.error_class
        ) from exc
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
    if fault is not None and fault.mode is FaultMode.MALFORMED:
        return {"injected_fault": fault.fault_id}
    return raw


def _checked(tool: ToolDefinition, raw: Any, attempt: int) -> tuple[ToolStatus, dict[str, Any]]:
    """The output as its contract allows it, JSON-ready, or a contract violation."""
    contract = tool.contract
    status: ToolStatus = "success"
    if isinstance(raw, PartialResult):
        status, raw = "partial", raw.data
    try:
        data = tool.output_model.model_validate(_as_plain(raw))
        plain = data.model_dump(mode="json")
        size = len(to_json(plain))
    except ValidationError as err:
        field, msg = first_problem(err, "data")
        raise _violation(contract.name, attempt, field, msg) from None
    except PydanticSerializationError as err:
        # Not JSON at all (lone surrogates, unknown types): no retry can make it so.
        raise _violation(contract.name, attempt, "data", f"not JSON-encodable: {err}") from None
    if size > MAX_OUTPUT_BYTES:
        message = f"{size} bytes as JSON; the limit is {MAX_OUTPUT_BYTES}"
        raise _violation(contract.name, attempt, "data", message)
    return status, plain


def build_tool_activity(
    tool: ToolDefinition,
    data_dir: Path,
    *,
    prices: PriceTable | None = None,
    tracer: Tracer | None = None,
    recorder: RunRecorder | None = None,
    faults: FaultSource | None = None,
) -> ToolActivity:
    contract = tool.contract
    # Every tool whose timeout is longer than the heartbeat timeout heartbeats; the others are
    # noticed as soon by their own timeout.
    heartbeats = activity_options(contract).heartbeat_timeout is not None

    async def run_tool(call: ToolInput) -> ToolOutput:
        attempt = activity.info().attempt
        started = time.perf_counter()
        params = _params(tool, call, attempt)
        ctx = ToolContext(call.context, call.idempotency_key, attempt, data_dir)
        answer = _stand_in(tool, call, attempt)
        fault = await faults.pick(call, attempt) if faults is not None else None
        raw = await _answer(contract, answer, params, ctx, fault, heartbeats=heartbeats)
        status, plain = _checked(tool, raw, attempt)
        duration_ms = (time.perf_counter() - started) * 1000
        _note(logging.DEBUG, "tool call succeeded", duration_ms=round(duration_ms, 2))
        return ToolOutput(
            status=status,
            data=plain,
            metadata=ToolMetadata(
                attempt=attempt,
                duration_ms=round(duration_ms, 3),
                cost_usd=prices.tool_cost(contract.name, duration_ms) if prices else 0.0,
            ),
        )

    return activity.defn(name=activity_type(contract))(
        _observed(contract, tracer, recorder, run_tool)
    )


def build_tool_activities(
    registry: AgentRegistry,
    data_dir: Path,
    *,
    prices: PriceTable | None = None,
    tracer: Tracer | None = None,
    recorder: RunRecorder | None = None,
    faults: FaultSource | None = None,
) -> list[ToolActivity]:
    return [
        build_tool_activity(
            tool, data_dir, prices=prices, tracer=tracer, recorder=recorder, faults=faults
        )
        for tool in registry.tools()
        if tool.contract.agent is None  # an agent called as a tool is a child run, not an activity
    ]
