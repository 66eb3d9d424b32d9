"""Measuring runs: wall-clock latency, batch throughput and what a run leaves in history.

History is measured from the server's own record (events and their protobuf sizes), not from
our payloads, because that is what the server stores, replays and bills.
"""

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

RunOnce = Callable[[str], Awaitable[dict[str, Any]]]
# Maps both sides' activity type names onto one name per step, so the breakdown lines up.
Rename = Callable[[str], str]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks, so small samples still give stable p95s."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


async def timed(run_once: RunOnce, workflow_id: str) -> float:
    started = time.perf_counter()
    await run_once(workflow_id)
    return time.perf_counter() - started


def child_cpu_s() -> float:
    """CPU seconds of our child processes (the dev server), read from /proc; 0 where there is none.

    On two cores the server and the worker compete for the same CPU, so a throughput ratio is
    explained by how much CPU each side's run costs in each process.
    """
    total = 0
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Batch:
    runs_per_s: float
    # CPU milliseconds per run in this process (workers and client) and in the dev server.
    own_cpu_ms: float
    server_cpu_ms: float


async def batch_throughput(run_once: RunOnce, prefix: str, count: int) -> Batch:
    """Runs per second for ``count`` runs started together, first start to last result."""
    own, server = time.process_time(), child_cpu_s()
    started = time.perf_counter()
    await asyncio.gather(*(run_once(f"{prefix}-{i}") for i in range(count)))
    elapsed = time.perf_counter() - started
    return Batch(
        runs_per_s=count / elapsed,
        own_cpu_ms=(time.process_time() - own) * 1000 / count,
        server_cpu_ms=(child_cpu_s() - server) * 1000 / count,
    )


@dataclass
class HistoryStats:
    """Per-run history size, plus a breakdown to explain a difference between two workflows."""

    events: int = 0
    bytes: int = 0
    # "EVENT_TYPE [activity]" -> [events, bytes, microseconds], per run. The time is what the
    # worker took: workflow task started -> completed, activity started -> completed.
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    # (activity type, input JSON, result JSON) of the last run measured, in call order.
    calls: list[tuple[str, Any, Any]] = field(default_factory=list)


def _payload_json(payloads: Any) -> Any:
    items = list(payloads.payloads)
    return json.loads(items[0].data) if items else None


def _micros(event: HistoryEvent, started: HistoryEvent | None) -> int:
    if started is None:
        return 0
    delta = event.event_time.ToDatetime() - started.event_time.ToDatetime()
    return int(delta.total_seconds() * 1_000_000)


def _kind(event: HistoryEvent, activity_types: dict[int, str], rename: Rename) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    attrs = event.WhichOneof("attributes")
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        activity_type = event.activity_task_scheduled_event_attributes.activity_type.name
        return f"{name} [{rename(activity_type)}]"
    if attrs and attrs.startswith("activity_task_"):
        scheduled = getattr(event, attrs).scheduled_event_id
        return f"{name} [{rename(activity_types.get(scheduled, '?'))}]"
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and event.event_id < 5:
        return f"{name} (first)"
    return name


async def history_stats(
    client: Client, workflow_ids: Sequence[str], rename: Rename
) -> HistoryStats:
    stats = HistoryStats()
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        by_id = {event.event_id: event for event in history.events}
        activity_types: dict[int, str] = {}
        inputs: dict[int, Any] = {}
        stats.calls = []
        for event in history.events:
            size = event.ByteSize()
            stats.events += 1
            stats.bytes += size
            micros = 0
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                activity_types[event.event_id] = attrs.activity_type.name
                inputs[event.event_id] = _payload_json(attrs.input)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done = event.activity_task_completed_event_attributes
                scheduled = done.scheduled_event_id
                stats.calls.append(
                    (activity_types[scheduled], inputs[scheduled], _payload_json(done.result))
                )
                micros = _micros(event, by_id.get(done.started_event_id))
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                started_id = event.workflow_task_completed_event_attributes.started_event_id
                micros = _micros(event, by_id.get(started_id))
            entry = stats.by_kind.setdefault(_kind(event, activity_types, rename), [0, 0, 0])
            entry[0] += 1
            entry[1] += size
            entry[2] += micros
    runs = len(workflow_ids)
    stats.events //= runs
    stats.bytes //= runs
    stats.by_kind = {k: [v // runs for v in values] for k, values in stats.by_kind.items()}
    return stats


def tool_exchanges(
    stats: HistoryStats, prefix: str, tools: Sequence[str]
) -> list[tuple[str, Any, Any]]:
    """(tool, arguments, result data) as the tool saw them, unwrapped from any envelope."""
    exchanges = []
    for activity_type, call_input, result in stats.calls:
        if activity_type.removeprefix(prefix) not in tools:
            continue
        args = call_input.get("params", call_input)
        data = result.get("data", result) if isinstance(result, dict) else result
        exchanges.append((activity_type.removeprefix(prefix), args, data))
    return exchanges


def same_work(ours: list[tuple[str, Any, Any]], bare: list[tuple[str, Any, Any]]) -> list[str]:
    """Differences between two runs' tool calls once run-specific ids are masked out.

    Record ids derive from each run's idempotency key, so they differ by design; everything else
    (which tools, in which order, with which arguments and results) must match.
    """

    def mask(exchanges: list[tuple[str, Any, Any]]) -> list[str]:
        ids = [
            str(data[key])
            for _, _, data in exchanges
            if isinstance(data, dict)
            for key in ("refund_id", "email_id", "note_id")
            if key in data
        ]
        masked = []
        for exchange in exchanges:
            text = json.dumps(exchange, sort_keys=True)
            for n, record_id in enumerate(ids):
                text = text.replace(record_id, f"<id{n}>")
            masked.append(text)
        return masked

    ours_masked, bare_masked = mask(ours), mask(bare)
    if not ours_masked:
        return ["no tool calls found in the agentrun history"]
    if len(ours_masked) != len(bare_masked):
        return [f"{len(ours_masked)} tool calls vs {len(bare_masked)}"]
    return [
        f"call {n + 1}: {a} vs {b}"
        for n, (a, b) in enumerate(zip(ours_masked, bare_masked, strict=True))
        if a != b
    ]
