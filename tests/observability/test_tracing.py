"""The span tree of a run with two tool calls and one review, and of a failing tool call."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient, connect
from agentrun.contracts import Decision, ReviewDecision, RunRequest
from agentrun.contracts.states import RunState
from agentrun.observability import tracing
from agentrun.observability.telemetry import tracing_interceptors
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.queries import get_run, list_audit_events
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_review

# What one run of "two-tools" (echo twice, then the final answer, then a review) must produce.
RUN_SPANS = {
    "invoke_agent two-tools": 1,
    "StartWorkflow:AgentRun": 1,
    "RunWorkflow:AgentRun": 1,
    "RunActivity:agentrun.prepare_run": 1,
    "chat scripted-1": 3,
    "execute_tool echo": 2,
    "ValidateUpdate:submit_review": 1,
    "HandleUpdate:submit_review": 1,
    "CompleteWorkflow:AgentRun": 1,
}
TEMPORAL_IDS = (tracing.ACTIVITY_ID, tracing.WORKFLOW_ID, tracing.WORKFLOW_RUN_ID)
SECRETS = ("alpha-key", "beta-key", "Test agent two-tools.")


@dataclass
class Traced:
    client: Client
    runs: AgentRunClient
    settings: Settings
    provider: TracerProvider
    exporter: InMemorySpanExporter


@pytest.fixture
async def traced(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # this test's own, not the process-wide one
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = await connect(
        temporal_env.client.service_client.config.target_host,
        interceptors=tracing_interceptors(provider),
    )
    migrate_data_dir(tmp_path)
    settings = Settings(
        data_dir=tmp_path,
        agent_modules=TEST_AGENT_MODULES,
        task_queue=f"traced-{uuid.uuid4().hex[:8]}",
    )
    yield Traced(client, AgentRunClient(client, settings.task_queue), settings, provider, exporter)
    provider.shutdown()


def _is_query(span: ReadableSpan) -> bool:
    return span.name.startswith(("QueryWorkflow:", "HandleQuery:"))


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> Iterator[ReadableSpan]:
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        yield span


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _temporal_ids(span: ReadableSpan) -> dict[str, Any]:
    """The span's workflow id, and whether it names a workflow run (its id is random)."""
    attrs = _attrs(span)
    return {
        tracing.WORKFLOW_ID: attrs[tracing.WORKFLOW_ID],
        tracing.WORKFLOW_RUN_ID: bool(attrs[tracing.WORKFLOW_RUN_ID]),
    }


def _parent(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, span.name
    return by_id[span.parent.span_id]


def one_trace_root(
    run_spans: list[ReadableSpan], by_id: dict[int, ReadableSpan], run_id: str
) -> ReadableSpan:
    """The run's spans form one trace under the caller's invoke_agent span; that span."""
    (root,) = [s for s in run_spans if s.name == "invoke_agent two-tools"]
    assert root.parent is None
    assert root.kind is SpanKind.CLIENT
    assert _attrs(root) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "two-tools",
        "gen_ai.conversation.id": run_id,
    }
    (start,) = [s for s in run_spans if s.name == "StartWorkflow:AgentRun"]
    assert _parent(start, by_id) is root
    assert {s.context.trace_id for s in run_spans} == {root.context.trace_id}
    for span in run_spans:
        if span is not root:
            assert root in list(_ancestors(span, by_id)), span.name
    return root


def stored_trace_ids(settings: Settings, run_id: str) -> set[str | None]:
    """The trace ids on the run's row and on every audit event of the run."""
    engine = make_engine(settings.effective_database_url())
    try:
        with session_factory(engine)() as session:
            stored = get_run(session, run_id)
            assert stored is not None
            return {stored.trace_id} | {e.trace_id for e in list_audit_events(session, run_id)}
    finally:
        engine.dispose()


async def test_span_tree_of_a_reviewed_run_with_two_tool_calls(traced: Traced) -> None:
    runs = traced.runs
    async with build_worker(traced.client, traced.settings, tracer_provider=traced.provider):
        run_id = await runs.start(RunRequest(agent="two-tools", input={"key": "k"}))
        await wait_for_review(runs, run_id)
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
        result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED

    spans = traced.exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    (update_call,) = [s for s in spans if s.name == "StartWorkflowUpdate:submit_review"]
    run_spans = [s for s in spans if not _is_query(s) and s is not update_call]
    assert Counter(s.name for s in run_spans) == RUN_SPANS

    # One trace for the whole run, rooted at the caller's invoke_agent span.
    root = one_trace_root(run_spans, by_id, run_id)

    # The review arrives as its own client call, linked from the workflow's handler spans.
    for name in ("ValidateUpdate:submit_review", "HandleUpdate:submit_review"):
        (handler,) = [s for s in run_spans if s.name == name]
        assert [link.context.span_id for link in handler.links] == [update_call.context.span_id]

    # Ask a fresh worker (empty cache) for the status: it replays the whole history.
    async with build_worker(traced.client, traced.settings, tracer_provider=traced.provider):
        status = await runs.status(run_id)
    replayed = traced.exporter.get_finished_spans()
    assert Counter(s.name for s in replayed if not _is_query(s)) == Counter(
        s.name for s in spans if not _is_query(s)
    )
    assert len(replayed) == len(spans) + 2  # only this query's client and handler spans

    # The run knows its trace: in its status and in its stored record.
    trace_id = format(root.context.trace_id, "032x")
    assert status.trace_id == trace_id
    assert stored_trace_ids(traced.settings, run_id) == {trace_id}

    # Model and tool activities are their GenAI spans, in the run's context, with Temporal's ids.
    (start,) = [s for s in run_spans if s.name == "StartWorkflow:AgentRun"]
    tools = [s for s in run_spans if s.name == "execute_tool echo"]
    chats = [s for s in run_spans if s.name == "chat scripted-1"]
    for span in tools + chats:
        assert _parent(span, by_id) is start
        assert _temporal_ids(span) == {tracing.WORKFLOW_ID: run_id, tracing.WORKFLOW_RUN_ID: True}
    assert len({_attrs(s)[tracing.ACTIVITY_ID] for s in tools + chats}) == 5
    for span in tools:
        assert span.kind is SpanKind.INTERNAL
        assert span.status.status_code is StatusCode.UNSET
        assert set(_attrs(span)) - set(TEMPORAL_IDS) == {
            "gen_ai.operation.name",
            "gen_ai.tool.name",
            "gen_ai.tool.call.id",
        }
        assert _attrs(span)["gen_ai.tool.name"] == "echo"
    assert sorted(_attrs(s)["gen_ai.tool.call.id"] for s in tools) == sorted(
        c.idempotency_key for c in status.tool_calls
    )

    assert len(chats) == status.usage.model_calls
    for span in chats:
        assert span.kind is SpanKind.CLIENT
        attrs = _attrs(span)
        named = {k for k in attrs if not k.startswith("gen_ai.usage.")} - set(TEMPORAL_IDS)
        assert {k: attrs[k] for k in named} == {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "scripted",
            "gen_ai.request.model": "scripted-1",
            "gen_ai.response.model": "scripted-1",
            "gen_ai.agent.name": "two-tools",
        }
    tokens = status.usage.tokens
    assert (status.usage.model_calls, status.usage.tool_calls) == (3, 2)
    assert tokens.input_tokens > 0
    assert tokens.output_tokens > 0
    assert sum(int(_attrs(s)["gen_ai.usage.input_tokens"]) for s in chats) == tokens.input_tokens
    assert sum(int(_attrs(s)["gen_ai.usage.output_tokens"]) for s in chats) == (
        tokens.output_tokens
    )

    # Params, outputs and prompts stay out of every span.
    for span in replayed:
        for value in _attrs(span).values():
            assert not any(secret in str(value) for secret in SECRETS), (span.name, value)


async def test_failing_tool_span_carries_the_error_class(traced: Traced) -> None:
    async with build_worker(traced.client, traced.settings, tracer_provider=traced.provider):
        run_id = await traced.runs.start(RunRequest(agent="strict", input={"key": "k"}))
        result = await traced.runs.result(run_id)
        status = await traced.runs.status(run_id)
    assert result.state is RunState.FAILED
    (record,) = status.tool_calls
    (span,) = [s for s in traced.exporter.get_finished_spans() if s.name.startswith("execute_")]
    assert span.name == "execute_tool strict_read"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == record.error_class
    assert _attrs(span)["error.type"] == record.error_class
    assert not span.events  # no recorded exception: its message may quote the params


async def test_temporal_spans_setting_brings_back_the_activity_spans(
    temporal_env: WorkflowEnvironment, traced: Traced
) -> None:
    """With AGENTRUN_OTEL_TEMPORAL_SPANS, each activity also has Temporal's two spans."""
    client = await connect(
        temporal_env.client.service_client.config.target_host,
        interceptors=tracing_interceptors(traced.provider, temporal_spans=True),
    )
    settings = traced.settings.model_copy(update={"otel_temporal_spans": True})
    runs = AgentRunClient(client, settings.task_queue)
    async with build_worker(client, settings, tracer_provider=traced.provider):
        run_id = await runs.start(RunRequest(agent="strict", input={"key": "k"}))
        await runs.result(run_id)
    spans = traced.exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    names = Counter(s.name for s in spans)
    for activity in ("agentrun.prepare_run", "agentrun.model_call", "tool.strict_read"):
        assert names[f"StartActivity:{activity}"] == names[f"RunActivity:{activity}"] >= 1
    (span,) = [s for s in spans if s.name == "execute_tool strict_read"]
    assert _parent(span, by_id).name == "RunActivity:tool.strict_read"
    assert _parent(_parent(span, by_id), by_id).name == "StartActivity:tool.strict_read"
