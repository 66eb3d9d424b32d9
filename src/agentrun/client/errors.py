"""The client's errors, and Temporal's failures said the way a person reads them.

Temporal answers "not found" both for a run that never existed and for one that has ended, and
reports an unreachable server as a chain of Rust transport errors. A caller needs the reason in
one line: which it is, and what to do about it.
"""

import re
from datetime import UTC, datetime

from pydantic_core import PydanticSerializationError, to_json
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError, FailureError

from agentrun.contracts.names import ErrorType
from agentrun.contracts.review import MAX_EDIT_BYTES, ReviewDecision
from agentrun.contracts.runs import MAX_INPUT_BYTES, Failure, RunRequest, RunResult
from agentrun.contracts.states import FailureCategory, RunState
from agentrun.errors import UserError

# The longest a quoted server message may run on a caller's one line.
MAX_QUOTED = 200


class AgentRunError(UserError):
    """A caller-facing error: the message is one line that says what is wrong."""


class RunNotFound(AgentRunError):
    """No run has this id in this namespace: a typo, or a run of another namespace."""


class RunClosed(AgentRunError):
    """The run has ended, so a review or a cancel has nothing left to act on.

    Said apart from :class:`RunNotFound`: "no run with id" sends a person hunting for a typo
    when the run is right there, failed or completed.
    """


class IdempotencyConflict(AgentRunError):
    """A ``request_id`` reused for a different request.

    Returning the earlier run would hand the caller a run that does something else as if it were
    theirs (payment APIs refuse a reused idempotency key the same way).
    """


def one_line(err: BaseException) -> str:
    text = err.message if isinstance(err, FailureError) else str(err)
    return " ".join(text.split()) or type(err).__name__


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def utc_time(at: datetime | None, now: datetime | None = None) -> str:
    """The time of day for today (what a person just watched); the date too for older ends."""
    if at is None:
        return "an unknown time"
    at = at.astimezone(UTC)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return at.strftime("%H:%M:%S UTC" if at.date() == today else "%Y-%m-%d %H:%M:%S UTC")


# Execution statuses whose AgentState search attribute says how the run itself ended; Temporal
# ending it (terminate, timeout) leaves that attribute at the state the run was in.
_ENDED_BY_THE_RUN = {
    WorkflowExecutionStatus.COMPLETED,
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.CANCELED,
}


def closed_message(
    run_id: str,
    *,
    status: WorkflowExecutionStatus | None,
    agent_state: str | None,
    closed_at: datetime | None,
    category: str | None,
    action: str,
) -> str:
    """``run X is FAILED (review_timeout at 16:34:56 UTC): nothing to review``."""
    when = utc_time(closed_at)
    if status in _ENDED_BY_THE_RUN and agent_state:
        label = agent_state
    else:
        name = status.name if status is not None else "closed"
        label = name + (f" (while {agent_state})" if agent_state else "")
    detail = f"({category} at {when})" if category else f"at {when}"
    return f"run {run_id} is {label} {detail}: nothing to {action}"


# Client.connect raises one RuntimeError quoting Rust's transport error chain. What a person
# needs from it is which of these it was (first match wins); the raw text is kept only when none
# matches.
_CONNECT_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("ConnectionRefused", "Connection refused"), "connection refused{hint}"),
    (("dns error", "failed to lookup address"), "unknown host {host!r}"),
    (("TimeoutExpired", "Timeout expired", "timed out", "TimedOut"), "no answer (timed out){hint}"),
    (("NetworkUnreachable", "HostUnreachable", "No route to host"), "host unreachable"),
    (("certificate", "tls handshake", "TLS handshake", "rustls"), "TLS handshake failed"),
    (("grpc-status header missing",), "not a Temporal frontend (it answered HTTP {http})"),
    (("h2 protocol error", "http2 error"), "not a Temporal frontend (it does not speak gRPC)"),
    (
        ("connection closed", "ConnectionReset", "Connection reset", "BrokenPipe"),
        "the server closed the connection (not a Temporal frontend, or TLS expected?)",
    ),
)
_HINT = " (is `agentrun server` running?)"


def connect_reason(address: str, err: Exception) -> str:
    """Why ``Client.connect`` failed, in a few words."""
    text = " ".join(str(err).split())
    if isinstance(err, ValueError):  # the SDK's own parse of the address
        return f"invalid address ({text.removeprefix('invalid target URL: ')})"
    http = re.search(r"HTTP status code (\d+)", text)
    host = address.rsplit(":", 1)[0] if ":" in address else address
    for markers, reason in _CONNECT_REASONS:
        if any(marker in text for marker in markers):
            return reason.format(hint=_HINT, host=host, http=http.group(1) if http else "?")
    return shorten(text.removeprefix("Failed client connect: "))


def unencodable_field(request: RunRequest) -> str:
    """The first field (``input.<key>`` inside the input) that JSON cannot carry: a lone
    surrogate, an object that is not data, nesting too deep. ``request`` when none alone is."""
    for name, value in request:
        parts = value.items() if name == "input" else [(None, value)]
        for key, part in parts:
            try:
                to_json(part)
            except PydanticSerializationError:
                return name if key is None else f"{name}.{key}"
    return "request"


def check_edit(decision: ReviewDecision) -> None:
    """The run refuses these too; checked here first because an update within a few KB of
    Temporal's 2 MB limit cannot even be refused cleanly (the refusal quotes it)."""
    if decision.output is None:
        return
    try:
        size = len(to_json(decision.output))
    except PydanticSerializationError as err:
        raise AgentRunError(f"review refused: output: not JSON ({one_line(err)})") from None
    if size > MAX_EDIT_BYTES:
        raise AgentRunError(
            f"review refused: output is {size} bytes as JSON; the limit is {MAX_EDIT_BYTES}"
        )


def oversize(request: RunRequest) -> str:
    """On a refused start, whether the input alone is over agentrun's own limit: Temporal's
    refusal of a too-large payload does not say which field made it so."""
    size = len(to_json(request.input))
    return (
        f" (input is {size} bytes; the limit is {MAX_INPUT_BYTES})"
        if size > MAX_INPUT_BYTES
        else ""
    )


def result_of_failure(run_id: str, err: WorkflowFailureError) -> RunResult:
    """A FAILED or CANCELLED run is a result too: the run raises its RunResult in the failure's
    details; a failure without one (a bug, a termination) still becomes a result."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.details:
        try:
            return RunResult.model_validate(cause.details[0])
        except ValueError:
            pass
    if isinstance(cause, CancelledError):
        return RunResult(
            run_id=run_id,
            state=RunState.CANCELLED,
            failure=Failure(category=FailureCategory.CANCELLED, message="cancelled"),
        )
    # A request the workflow could not even decode (sent by another client) is bad input.
    undecodable = isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_PAYLOAD
    category = FailureCategory.INVALID_INPUT if undecodable else FailureCategory.INTERNAL
    return RunResult(
        run_id=run_id,
        state=RunState.FAILED,
        failure=Failure(category=category, message=one_line(cause or err)),
    )
