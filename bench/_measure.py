"""Measuring runs: wall-clock latency, batch throughput and what a run leaves in history.

History is measured from the server's own record (events and their protobuf sizes), not from
our payloads, because that is what the server stores, replays and bills.
"""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

RunOnce = Callable[[str], Awaitable[dict[str, Any]]]


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


async def batch_throughput(run_once: RunOnce, prefix: str, count: int) -> float:
    """Runs per second for ``count`` runs started together, first start to last result."""
    started = time.perf_counter()
    await asyncio.gather(*(run_once(f"{prefix}-{i}") for i in range(count)))
    return count / (time.perf_counter() - started)


@dataclass
class HistoryStats:
    """Per-run history size, plus a breakdown to explain a difference between two workflows."""

    events: int = 0
    bytes: int = 0
    # "EVENT_TYPE [activity]" -> [events, bytes], summed over the runs measured.
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    # activity type -> (input JSON, result JSON) of the last run measured, in call order.
    calls: list[tuple[str, Any, Any]] = field(default_factory=list)


def _payload_json(payloads: Any) -> Any:
    items = list(payloads.payloads)
    return json.loads(items[0].data) if items else None


def _kind(event: HistoryEvent, activity_types: dict[int, str]) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    attrs = event.WhichOneof("attributes")
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return f"{name} [{event.activity_task_scheduled_event_attributes.activity_type.name}]"
    if attrs and attrs.startswith("activity_task_"):
        scheduled = getattr(event, attrs).scheduled_event_id
        return f"{name} [{activity_types.get(scheduled, '?')}]"
    return name


async def history_stats(client: Client, workflow_ids: Sequence[str]) -> HistoryStats:
    stats = HistoryStats()
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        activity_types: dict[int, str] = {}
        inputs: dict[int, Any] = {}
        stats.calls = []
        for event in history.events:
            size = event.ByteSize()
            stats.events += 1
            stats.bytes += size
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
            entry = stats.by_kind.setdefault(_kind(event, activity_types), [0, 0])
            entry[0] += 1
            entry[1] += size
    runs = len(workflow_ids)
    stats.events //= runs
    stats.bytes //= runs
    stats.by_kind = {k: [n // runs, b // runs] for k, (n, b) in stats.by_kind.items()}
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

    def mask(exchanges: list[tuple[str, Any, Any]]) -> str:
        text = json.dumps(exchanges, sort_keys=True)
        for _, _, data in exchanges:
            if isinstance(data, dict):
                for key in ("refund_id", "email_id", "note_id"):
                    if key in data:
                        text = text.replace(str(data[key]), f"<{key}>")
        return text

    if mask(ours) == mask(bare):
        return []
    problems = [f"tool calls differ: {len(ours)} vs {len(bare)} calls"]
    for (tool_a, args_a, _), (tool_b, args_b, _) in zip(ours, bare, strict=False):
        if tool_a != tool_b or set(args_a) != set(args_b):
            problems.append(f"{tool_a}{sorted(args_a)} vs {tool_b}{sorted(args_b)}")
    return problems
