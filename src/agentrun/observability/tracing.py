"""GenAI spans for the model and tool activities (OpenTelemetry GenAI semantic conventions).

The spans start in the current context, which the tracing interceptor has set to the run's trace
(observability.tracing_interceptor), so they nest in the run without any plumbing of our own; they
are the activity's span, so they carry Temporal's ids for it as Temporal's ``RunActivity`` span
would. Attributes are names, ids and counts only: params, outputs, prompts and exception
messages can hold secrets or personal data, so they never reach a span.
"""

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentrun.contracts.model import TokenUsage
from agentrun.contracts.tools import ToolErrorDetail, ToolStatus

# The one instrumentation scope of every span agentrun makes (client, model and tool calls).
TRACER_NAME: Final = "agentrun"

# Attribute names from the GenAI conventions (now kept in their own repository, so spelled here).
OPERATION: Final = "gen_ai.operation.name"
PROVIDER: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
RESPONSE_MODEL: Final = "gen_ai.response.model"
INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
AGENT_NAME: Final = "gen_ai.agent.name"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
ERROR_TYPE: Final = "error.type"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
# Temporal's own attribute names, as its interceptor puts them on RunActivity spans.
ACTIVITY_ID: Final = "temporalActivityID"
WORKFLOW_ID: Final = "temporalWorkflowID"
WORKFLOW_RUN_ID: Final = "temporalRunID"


def _temporal_ids() -> dict[str, str]:
    """The activity's Temporal ids, which link a span to the run's page in the Temporal UI."""
    if not activity.in_activity():
        return {}
    info = activity.info()
    return {
        ACTIVITY_ID: info.activity_id,
        WORKFLOW_ID: info.workflow_id or "",
        WORKFLOW_RUN_ID: info.workflow_run_id or "",
    }


@contextmanager
def _genai_span(
    tracer: Tracer, name: str, kind: SpanKind, attributes: Mapping[str, str]
) -> Iterator[Span]:
    """A span whose failure is recorded as its error class only, never its message."""
    with tracer.start_as_current_span(
        name,
        kind=kind,
        attributes={**attributes, **_temporal_ids()},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as exc:
            _fail(span, classify_failure(exc)[0])
            raise


@contextmanager
def invoke_agent_span(tracer: Tracer, *, agent: str, run_id: str) -> Iterator[Span]:
    """The CLIENT span of a service invoking an agent: the root of the run's one trace.

    It covers the request (the run goes on asynchronously, as a remote agent's would); every
    span of the run, in the workflow and its activities, is its descendant through Temporal's
    headers. The run id is the conversation id: reviews and status calls refer to it.
    """
    attributes = {OPERATION: "invoke_agent", AGENT_NAME: agent, CONVERSATION_ID: run_id}
    with _genai_span(tracer, f"invoke_agent {agent}", SpanKind.CLIENT, attributes) as span:
        yield span


def activity_tracer(tracer: Tracer | None = None) -> Tracer:
    """The given tracer, else one that follows the global provider even if it is set later."""
    return tracer or trace.get_tracer(TRACER_NAME)


def _fail(span: Span, error_type: str) -> None:
    # The status description repeats the class, never the message (which may quote params).
    span.set_attribute(ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, error_type))


@contextmanager
def chat_span(tracer: Tracer, *, provider: str, model: str, agent: str) -> Iterator[Span]:
    """A CLIENT span around one provider call; usage is added by :func:`record_chat_response`."""
    attributes = {OPERATION: "chat", PROVIDER: provider, REQUEST_MODEL: model, AGENT_NAME: agent}
    with _genai_span(tracer, f"chat {model}", SpanKind.CLIENT, attributes) as span:
        yield span


def record_chat_response(span: Span, model: str, usage: TokenUsage) -> None:
    span.set_attributes(
        {
            RESPONSE_MODEL: model,
            INPUT_TOKENS: usage.input_tokens,
            OUTPUT_TOKENS: usage.output_tokens,
        }
    )


@dataclass
class ToolAttempt:
    """How one attempt of a tool call ended, for the span and for the metrics."""

    status: ToolStatus | None = None
    error_class: str | None = None
    retryable: bool | None = None  # None: the worker cannot tell (cancelled or timed out)

    @property
    def outcome(self) -> str:
        return self.status or "error"


def classify_failure(exc: BaseException) -> tuple[str, bool | None]:
    """The error class and retryability of a failed attempt, as the run status records them."""
    if isinstance(exc, ApplicationError):
        detail = exc.details[0] if exc.details else None
        if isinstance(detail, ToolErrorDetail):
            return detail.error_class, detail.retryable
        return exc.type or type(exc).__name__, not exc.non_retryable
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled", None
    return type(exc).__name__, True


@contextmanager
def tool_span(tracer: Tracer, tool: str, call_id: str, attempt: ToolAttempt) -> Iterator[Span]:
    """An INTERNAL span around one attempt; a failure fills ``attempt`` and marks the span."""
    attributes = {OPERATION: "execute_tool", TOOL_NAME: tool, TOOL_CALL_ID: call_id}
    try:
        with _genai_span(tracer, f"execute_tool {tool}", SpanKind.INTERNAL, attributes) as span:
            yield span
    except BaseException as exc:
        attempt.status = "error"
        attempt.error_class, attempt.retryable = classify_failure(exc)
        raise
