"""Traces, metrics and logs: GenAI spans and activity metrics, the worker's tracing and
log-context interceptors, OpenTelemetry and Prometheus set-up, and structured JSON logging."""
