"""Temporal's tracing interceptor with one span per model or tool call instead of three.

Temporal's ``TracingInterceptor`` gives every activity a zero-duration ``StartActivity`` span in
the workflow and a ``RunActivity`` span around its execution. For the activities that open a GenAI
span of their own (``chat {model}``, ``execute_tool {tool}``) both are duplicates: the GenAI span
covers the same execution, carries the Temporal ids, and is what an operator reads. Dropping them
leaves a refund run 16 spans instead of 39, and tracing ~3 ms of worker CPU per run instead of
~11 (docs/performance.md, "What recording costs"). Temporal's newer ``OpenTelemetryPlugin`` makes
the same choice by default (``add_temporal_spans=False``); ``AGENTRUN_OTEL_TEMPORAL_SPANS=true``
brings them back.

Every other span is Temporal's own: the client's, ``RunWorkflow``, update and signal handlers,
``CompleteWorkflow``, and ``RunActivity`` for activities without a GenAI span.
"""

from collections.abc import Mapping
from typing import Any

import opentelemetry.context
from opentelemetry.trace import Tracer
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    WorkflowInterceptorClassInput,
)

from agentrun.contracts.names import ACTIVITY_MODEL_CALL, TOOL_ACTIVITY_PREFIX

# Decoded trace contexts kept, one per run in flight (far more than a worker's slots).
_CONTEXTS_KEPT = 4096
# The span Temporal's workflow interceptor opens for every scheduled activity.
_START_ACTIVITY = "StartActivity:"


def opens_genai_span(activity_type: str) -> bool:
    """Whether an activity's own code opens a ``chat`` or ``execute_tool`` span."""
    return activity_type == ACTIVITY_MODEL_CALL or activity_type.startswith(TOOL_ACTIVITY_PREFIX)


class AgentTracingInterceptor(TracingInterceptor):
    """Client and worker interceptor: Temporal's spans, less the duplicates of GenAI spans."""

    def __init__(self, tracer: Tracer | None = None) -> None:
        super().__init__(tracer)
        self._contexts: dict[tuple[bytes, bytes], opentelemetry.context.Context] = {}

    def intercept_activity(
        self,
        next: ActivityInboundInterceptor,  # noqa: A002 -- the SDK's parameter name
    ) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, super().intercept_activity(next), self)

    def workflow_interceptor_class(
        self, class_input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(class_input)  # registers the extern its spans use
        return _WorkflowInbound

    def context_of(self, headers: Mapping[str, Payload]) -> opentelemetry.context.Context | None:
        """The caller's trace context carried in an activity's headers, if any.

        Every activity of a run carries the same header (the run's own, forwarded), and
        decoding it cost about as much as a span, so decoded contexts are kept (they are
        immutable) for as long as a worker holds that many runs.
        """
        payload = headers.get(self.header_key)
        if not payload:
            return None
        key = (payload.metadata.get("encoding", b""), payload.data)
        context = self._contexts.get(key)
        if context is None:
            carrier = self.payload_converter.from_payloads([payload])[0]
            if not carrier:
                return None
            context = self.text_map_propagator.extract(carrier)
            if len(self._contexts) >= _CONTEXTS_KEPT:
                self._contexts.clear()
            self._contexts[key] = context
        return context


class _ActivityInbound(ActivityInboundInterceptor):
    """GenAI activities run in the caller's context, so their own span is the activity's span."""

    def __init__(
        self,
        next: ActivityInboundInterceptor,  # noqa: A002 -- the SDK's parameter name
        traced: ActivityInboundInterceptor,
        root: AgentTracingInterceptor,
    ) -> None:
        super().__init__(next)
        self._traced = traced
        self._root = root

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:  # noqa: A002 -- SDK name
        if not opens_genai_span(activity.info().activity_type):
            return await self._traced.execute_activity(input)
        context = self._root.context_of(input.headers)
        token = opentelemetry.context.attach(context) if context is not None else None
        try:
            return await self.next.execute_activity(input)
        finally:
            if token is not None:
                opentelemetry.context.detach(token)


class _WorkflowInbound(TracingWorkflowInboundInterceptor):
    """Schedules activities with the run's trace context but without a ``StartActivity`` span.

    The context an activity gets is the one the run itself was started with (the workflow's own
    header, forwarded as is), which is also where Temporal's ``StartActivity`` spans hang: the
    tree keeps its shape, and nothing depends on replay.
    """

    def _completed_span(
        self,
        span_name: str,
        *,
        add_to_outbound: Any = None,
        **kwargs: Any,
    ) -> None:
        # Temporal's outbound interceptor has no public hook per call kind: the span it asks
        # for by name is where a scheduled activity can be told apart.
        if span_name.startswith(_START_ACTIVITY) and add_to_outbound is not None:
            header = workflow.info().headers.get(self.header_key)
            if header is not None:
                add_to_outbound.headers = {**add_to_outbound.headers, self.header_key: header}
            return
        super()._completed_span(span_name, add_to_outbound=add_to_outbound, **kwargs)
