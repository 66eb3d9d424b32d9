"""Tool contract -> Temporal activity options, and exception -> error classification."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

from agentrun.contracts.names import ErrorType
from agentrun.contracts.tools import SideEffect, ToolPolicy

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


# How long a tool call may go without a heartbeat before Temporal retries it elsewhere: a worker
# killed mid-call is noticed within this (plus the contract's first retry interval), whatever the
# tool's own timeout. Two seconds, because a kill is meant to cost a run at most 5 s, this plus
# the first retry interval plus the sticky queue's timeout (docs/performance.md); not less,
# because a worker whose event loop stalls this long (a tool blocking it) then has its calls
# retried under it. The activity heartbeats every quarter of it (the SDK sends at most one beat
# per 0.8 x the timeout, the latest it was given).
HEARTBEAT_TIMEOUT = timedelta(seconds=2)


@dataclass(frozen=True)
class ToolActivityOptions:
    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    retry_policy: RetryPolicy


def may_retry(contract: ToolPolicy) -> bool:
    """Retrying is safe unless the call has a side effect that the tool cannot deduplicate."""
    return contract.side_effect is not SideEffect.NON_IDEMPOTENT or contract.accepts_idempotency_key


def activity_options(contract: ToolPolicy) -> ToolActivityOptions:
    spec = contract.retry
    attempts = spec.max_attempts if may_retry(contract) else 1
    return ToolActivityOptions(
        start_to_close_timeout=contract.timeout,
        schedule_to_close_timeout=contract.total_timeout,
        # A call that may not outlast the heartbeat timeout needs none: its own start-to-close
        # timeout notices a dead worker as soon, and the call is spared the heartbeat task.
        heartbeat_timeout=HEARTBEAT_TIMEOUT if contract.timeout > HEARTBEAT_TIMEOUT else None,
        retry_policy=RetryPolicy(
            initial_interval=spec.initial_interval,
            backoff_coefficient=spec.backoff,
            maximum_interval=max(spec.max_interval, spec.initial_interval),
            # Permanent errors are raised with non_retryable=True by the tool wrapper, so the
            # policy need not list their types in every scheduled activity.
            maximum_attempts=attempts,
        ),
    )


@dataclass(frozen=True)
class ErrorClass:
    error_type: str  # an ErrorType value, used as ApplicationError.type
    error_class: str  # a finer label for records and metrics, e.g. "http_503"
    retryable: bool
    status_code: int | None = None


def classify_status(status_code: int | None, retryable: bool | None = None) -> ErrorClass:
    """A failure a tool reported with an HTTP-like status (``agentrun.agents.ToolError``).

    ``retryable`` overrides the status-based class when the tool knows better; with no status,
    the failure is retryable unless the tool says otherwise.
    """
    if status_code is None:
        retry = True if retryable is None else retryable
        kind = ErrorType.TOOL_UNAVAILABLE if retry else ErrorType.TOOL_REJECTED
        return ErrorClass(kind, "tool_error", retry)
    retry = status_code in RETRYABLE_STATUS if retryable is None else retryable
    kind = ErrorType.TOOL_UNAVAILABLE if retry else ErrorType.TOOL_REJECTED
    return ErrorClass(kind, f"http_{status_code}", retry, status_code)


def classify_exception(exc: BaseException) -> ErrorClass:
    """Any other exception a tool raised: timeouts and lost connections are worth a retry, and so
    is an unknown error (the contract's attempts bound it)."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return ErrorClass(ErrorType.TOOL_TIMEOUT, "timeout", True)
    if isinstance(exc, ConnectionError):
        return ErrorClass(ErrorType.TOOL_UNAVAILABLE, "connection", True)
    return ErrorClass(ErrorType.TOOL_INTERNAL, type(exc).__name__, True)


def effective_error(contract: ToolPolicy, error: ErrorClass) -> ErrorClass:
    """A failure of a tool that may not be retried is reported as non-retryable."""
    if error.retryable and not may_retry(contract):
        return ErrorClass(ErrorType.NOT_RETRIED, error.error_class, False, error.status_code)
    return error
