"""The lean tracing interceptor's pure parts: which activities it spares, and its context cache."""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter

from agentrun.contracts.names import (
    ACTIVITY_MODEL_CALL,
    ACTIVITY_PREPARE_RUN,
    ACTIVITY_RETENTION_PURGE,
    tool_activity_name,
)
from agentrun.observability.tracing_interceptor import AgentTracingInterceptor, opens_genai_span

HEADER = "_tracer-data"


def _header_of_span(provider: TracerProvider) -> tuple[dict[str, Payload], int]:
    """The header Temporal would send for a span, and that span's trace id."""
    interceptor = AgentTracingInterceptor(provider.get_tracer("test"))
    with provider.get_tracer("test").start_as_current_span("caller") as span:
        carrier: dict[str, str] = {}
        interceptor.text_map_propagator.inject(carrier)
    payload = PayloadConverter.default.to_payloads([carrier])[0]
    return {HEADER: payload}, span.get_span_context().trace_id


def test_only_model_and_tool_activities_lose_temporal_spans() -> None:
    assert opens_genai_span(ACTIVITY_MODEL_CALL)
    assert opens_genai_span(tool_activity_name("lookup_order"))
    assert not opens_genai_span(ACTIVITY_PREPARE_RUN)
    assert not opens_genai_span(ACTIVITY_RETENTION_PURGE)


def test_context_of_decodes_a_header_once_and_keeps_runs_apart() -> None:
    provider = TracerProvider()
    interceptor = AgentTracingInterceptor(provider.get_tracer("test"))
    first, first_trace = _header_of_span(provider)
    second, second_trace = _header_of_span(provider)

    context = interceptor.context_of(first)
    assert context is not None
    assert trace.get_current_span(context).get_span_context().trace_id == first_trace
    assert interceptor.context_of(dict(first)) is context

    other = interceptor.context_of(second)
    assert other is not None
    assert trace.get_current_span(other).get_span_context().trace_id == second_trace
    assert interceptor.context_of({}) is None
