"""``agentrun eval add-case``: production runs become regression cases.

A run's history holds all a case needs: the request (its input), each tool call's result or
failure in order (replayed offline by the case), and how the run ended (the reviewer's verdict
as the expectation). Read with the client's data converter, so encrypted payloads decode where
the keys are configured. No worker is needed.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from agentrun.cli.common import (
    AddressOpt,
    CliError,
    NamespaceOpt,
    build_settings,
    guarded,
    local_registry,
    one_line,
    open_client,
    out,
)
from agentrun.cli.evaluate import DatasetOpt, eval_app
from agentrun.cli.retention import parse_duration
from agentrun.client.histories import executions
from agentrun.contracts.evaluation import EvalCase, RecordedResult
from agentrun.contracts.names import AGENT_RUN_WORKFLOW, TOOL_ACTIVITY_PREFIX
from agentrun.contracts.runs import RunRequest, RunResult
from agentrun.contracts.tools import ToolErrorDetail, ToolOutput
from agentrun.logic.evaluation.dataset import DatasetError, case_line, parse_dataset
from agentrun.logic.evaluation.from_runs import case_from_run
from agentrun.settings import Settings

_SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
_COMPLETED = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
_FAILED = EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
_TIMED_OUT = EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT


async def _decode(converter: DataConverter, payloads: Any, kind: type[Any]) -> Any:
    [value] = await converter.decode(list(payloads), [kind])
    return value


async def _tool_calls(
    history: WorkflowHistory, converter: DataConverter
) -> list[tuple[str, RecordedResult]]:
    """Each tool activity's outcome, in the order the run scheduled them."""
    scheduled: dict[int, str] = {}
    outcomes: dict[int, RecordedResult] = {}
    for event in history.events:
        if event.event_type == _SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            if name.startswith(TOOL_ACTIVITY_PREFIX):
                scheduled[event.event_id] = name.removeprefix(TOOL_ACTIVITY_PREFIX)
        elif event.event_type == _COMPLETED:
            done = event.activity_task_completed_event_attributes
            if done.scheduled_event_id in scheduled:
                output: ToolOutput = await _decode(converter, done.result.payloads, ToolOutput)
                outcomes[done.scheduled_event_id] = RecordedResult(data=output.data)
        elif event.event_type in (_FAILED, _TIMED_OUT):
            outcomes |= await _failure(event, scheduled, converter)
    return [(scheduled[key], outcomes[key]) for key in sorted(scheduled) if key in outcomes]


async def _failure(
    event: HistoryEvent, scheduled: dict[int, str], converter: DataConverter
) -> dict[int, RecordedResult]:
    if event.event_type == _TIMED_OUT:
        timed_out = event.activity_task_timed_out_event_attributes
        return {timed_out.scheduled_event_id: RecordedResult(error="timeout", retryable=True)}
    attrs = event.activity_task_failed_event_attributes
    if attrs.scheduled_event_id not in scheduled:
        return {}
    info = attrs.failure.application_failure_info
    error, retryable = "failed", not info.non_retryable
    if info.details.payloads:
        try:
            detail: ToolErrorDetail = await _decode(
                converter, info.details.payloads, ToolErrorDetail
            )
            error, retryable = detail.error_class, detail.retryable
        except Exception:  # noqa: BLE001, S110 -- an older detail shape: the defaults say enough
            pass
    return {attrs.scheduled_event_id: RecordedResult(error=error, retryable=retryable)}


async def _ending(history: WorkflowHistory, converter: DataConverter) -> RunResult | None:
    last = history.events[-1]
    if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        payloads = last.workflow_execution_completed_event_attributes.result.payloads
        result: RunResult = await _decode(converter, payloads, RunResult)
        return result
    if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        details = last.workflow_execution_failed_event_attributes.failure
        payloads = details.application_failure_info.details.payloads
        if payloads:
            ended: RunResult = await _decode(converter, payloads, RunResult)
            return ended
    return None


async def _histories(client: Client, run_id: str) -> list[WorkflowHistory]:
    """All the run's histories: a long run continues as new, each execution with its calls."""
    try:
        return await executions(client, run_id)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise CliError(f"no run with id {run_id!r}") from None
        raise CliError(f"run {run_id}: {one_line(err.message)}") from None


async def case_of(settings: Settings, run_id: str, known_tools: set[str]) -> EvalCase:
    client = await open_client(settings)
    chain = await _histories(client.temporal, run_id)
    first = chain[0].events[0].workflow_execution_started_event_attributes
    if first.workflow_type.name != AGENT_RUN_WORKFLOW:
        raise CliError(f"{run_id} is not an agent run ({first.workflow_type.name})")
    converter = client.temporal.data_converter
    request: RunRequest = await _decode(converter, first.input.payloads, RunRequest)
    if request.evaluation is not None:
        raise CliError(f"run {run_id} is itself an evaluation case ({request.evaluation.case_id})")
    result = await _ending(chain[-1], converter)
    if result is None:
        raise CliError(f"run {run_id} has not ended (or was cancelled or terminated): no case")
    calls = [call for history in chain for call in await _tool_calls(history, converter)]
    return case_from_run(run_id, request, calls, result, known_tools)


async def failed_since_ids(settings: Settings, since: str) -> list[str]:
    """The queue's FAILED agent runs (not evaluation cases) started in the window."""
    window = parse_duration("--failed-since", since, "24h or 7d")
    start = (datetime.now(UTC) - window).isoformat()
    client = await open_client(settings)
    query = (
        f"WorkflowType = '{AGENT_RUN_WORKFLOW}' AND ExecutionStatus = 'Failed' "
        f"AND TaskQueue = '{settings.task_queue}' AND StartTime >= '{start}'"
    )
    ids = [execution.id async for execution in client.temporal.list_workflows(query)]
    return sorted(run_id for run_id in ids if "--" not in run_id)  # case runs: <eval>--<case>


def _known_tools() -> set[str]:
    return {tool.contract.name for tool in local_registry().tools()}


@eval_app.command("add-case")
@guarded
def eval_add_case(
    run_ids: Annotated[
        list[str] | None, typer.Argument(help="Runs to add.", show_default=False)
    ] = None,
    *,
    dataset: DatasetOpt,
    failed_since: Annotated[
        str | None,
        typer.Option("--failed-since", help="Also every FAILED run started in this window."),
    ] = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Append runs to DATASET as regression cases (created if missing): their input, their
    tools' recorded results, and how they ended as the expectation. A run already there is
    skipped."""
    settings = build_settings(address, namespace)
    existing = _existing(dataset)

    async def build() -> list[EvalCase]:
        wanted = list(run_ids or [])
        if failed_since:
            wanted += [r for r in await failed_since_ids(settings, failed_since) if r not in wanted]
        if not wanted:
            raise CliError("name a run, or give --failed-since")
        tools = _known_tools()
        return [await case_of(settings, run_id, tools) for run_id in wanted]

    cases = asyncio.run(build())
    fresh = [case for case in cases if case.id not in existing]
    with dataset.open("a", encoding="utf-8") as sink:
        for case in fresh:
            sink.write(case_line(case) + "\n")
    for case in cases:
        verb = "added" if case in fresh else "already there:"
        out.print(f"{verb} {case.id} ({case.source})", highlight=False, markup=False)


def _existing(path: Path) -> set[str]:
    if not path.exists():
        return set()
    try:
        return {case.id for case in parse_dataset(path.read_text(encoding="utf-8"), path.name)}
    except DatasetError as err:
        raise CliError(f"{err} (fix it before adding cases)") from None
