"""Settings decide what the worker process exports; nothing is installed unless asked for."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from temporalio.runtime import Runtime

from agentrun.observability import telemetry
from agentrun.settings import Settings


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> list[TracerProvider]:
    """Captures the global provider instead of setting it: it can be set once per process."""
    calls: list[TracerProvider] = []
    monkeypatch.setattr(trace, "set_tracer_provider", calls.append)
    return calls


def test_no_exporter_installs_no_provider(installed: list[TracerProvider]) -> None:
    assert telemetry.configure_tracing(Settings()) is None
    assert installed == []


@pytest.mark.parametrize("exporter", ["console", "otlp-grpc", "otlp-http"])
def test_each_exporter_installs_a_provider(installed: list[TracerProvider], exporter: str) -> None:
    settings = Settings.model_validate(
        {"otel_exporter": exporter, "otel_endpoint": "http://127.0.0.1:4318/v1/traces"}
    )
    provider = telemetry.configure_tracing(settings)
    assert provider is not None
    assert installed == [provider]
    assert provider.resource.attributes["service.name"] == telemetry.SERVICE_NAME
    provider.shutdown()


def test_runtime_without_metrics_bind_is_the_default() -> None:
    assert telemetry.build_runtime(Settings()) is Runtime.default()
