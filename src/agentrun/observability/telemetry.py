"""Tracing and metrics wiring for worker processes, chosen by Settings at the entrypoint.

Nothing here runs at import time: tests and embedders build their own providers and runtimes, and
only the CLI's worker turns the process-wide tracer provider on. Exporter packages (gRPC in
particular) are imported only when selected, so a worker without tracing does not pay for them.
"""

from collections.abc import Mapping, Sequence
from typing import Final

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from agentrun.contracts.names import Metric
from agentrun.observability.tracing import TRACER_NAME
from agentrun.observability.tracing_interceptor import AgentTracingInterceptor
from agentrun.settings import Settings

SERVICE_NAME: Final = "agentrun-worker"

# Temporal's default buckets suit millisecond values; ours are seconds, from a quick tool call
# to a review that waits for hours, so they need their own boundaries to be readable.
_QUICK_S: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_SLOW_S: Final = (
    0.1,
    0.5,
    1.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    14400.0,
    86400.0,
)
HISTOGRAM_BUCKETS: Final[Mapping[str, Sequence[float]]] = {
    Metric.TOOL_DURATION: _QUICK_S,
    Metric.STATE_DURATION: _SLOW_S,
    Metric.RUN_DURATION: _SLOW_S,
    Metric.REVIEW_LATENCY: _SLOW_S,
}


def _exporter(settings: Settings) -> SpanExporter:
    # Imported on demand: each OTLP exporter drags in its transport (grpcio, requests).
    if settings.otel_exporter == "otlp-grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=settings.otel_endpoint)
    if settings.otel_exporter == "otlp-http":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter(endpoint=settings.otel_endpoint)
    return ConsoleSpanExporter()


def configure_tracing(settings: Settings) -> TracerProvider | None:
    """Install the process-wide tracer provider that the interceptor and activities use.

    OTLP exporters get a batch processor: a synchronous one cost 5-12 % of runs/s on a 2-core box
    (docs/performance.md).
    The console exporter is for a developer watching one worker, so it prints as spans end.
    """
    if settings.otel_exporter == "none":
        return None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current  # OpenTelemetry allows one global provider per process
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    exporter = _exporter(settings)
    if settings.otel_exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def build_runtime(settings: Settings) -> Runtime:
    """The Temporal runtime for a worker's client; with ``metrics_bind`` it serves /metrics.

    SDK metrics and our activity/workflow metrics both leave through this runtime's meter, so
    one scrape shows them together. A runtime binds its port once: build one per process.
    """
    if settings.metrics_bind is None:
        return Runtime.default()
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=settings.metrics_bind,
                histogram_bucket_overrides=HISTOGRAM_BUCKETS,
            )
        )
    )


def tracing_interceptors(
    provider: TracerProvider | None = None, *, temporal_spans: bool = False
) -> list[TracingInterceptor]:
    """Temporal's tracing interceptor; with no provider it follows the global one (even later).

    Without ``temporal_spans``, model and tool activities get no ``StartActivity`` and
    ``RunActivity`` spans: their GenAI spans stand for them (observability.tracing_interceptor).
    """
    tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
    if temporal_spans:
        return [TracingInterceptor(tracer)]
    return [AgentTracingInterceptor(tracer)]


def worker_interceptors(
    client: Client, provider: TracerProvider | None = None, *, temporal_spans: bool = False
) -> list[TracingInterceptor]:
    """What a worker adds on top of its client's interceptors.

    The SDK hands a client's worker interceptors to every worker built on it, so a second
    TracingInterceptor here would emit every span twice.
    """
    if any(isinstance(i, TracingInterceptor) for i in client.config()["interceptors"]):
        return []
    return tracing_interceptors(provider, temporal_spans=temporal_spans)


def flush_tracing(timeout_ms: int = 5000) -> None:
    """Export spans still batched in the process-wide provider (before a hard exit)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_ms)
        provider.shutdown()
