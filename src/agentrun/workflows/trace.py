"""The run's trace id, read where the workflow can read it deterministically.

Temporal's tracing interceptor carries the caller's span context in the start event's headers
and makes it current around the workflow, so the OpenTelemetry trace id of the run is part of
its history: a replay reads the same id. A run started without tracing (the plain ``temporal``
CLI, a client without the interceptor) has no trace; it keeps an id of its own, drawn from the
workflow's deterministic random source, so logs and the store still correlate by one id.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from opentelemetry import trace


def run_trace_id(fallback: str) -> str:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else fallback
