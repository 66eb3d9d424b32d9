"""What the run record costs: ``python -m bench.record [--write-docs] [--database-url URL]``.

Two agentrun workers in one process, against one dev server, run the same refund agent: one with
the run record store and OpenTelemetry tracing on (spans batched to an OTLP/HTTP receiver in its
own process, as a collector would be), one with both off. Runs alternate between the sides, so the
machine is the same for both and only recording differs. Targets (issue 3): throughput with the
record on at least 0.95 of off, and the same history events per tool call.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from scipy import stats
from sqlalchemy import text
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient, connect
from agentrun.contracts.names import SEARCH_ATTRIBUTES
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.converter import DATA_CONVERTER
from agentrun.observability.logging import configure_logging
from agentrun.observability.telemetry import SERVICE_NAME, tracing_interceptors
from agentrun.settings import Settings
from agentrun.store.audit import verify_chain
from agentrun.store.db import make_engine, session_factory
from agentrun.store.migrate import upgrade
from agentrun.workers.worker import build_worker, tune_gc
from bench import steps
from bench._docs import PERFORMANCE, add_write_docs_flag, run_and_exit, write_section
from bench._measure import Batch, RunOnce, batch_throughput, child_cpu_s, percentile, timed
from bench._sides import BenchError, agentrun_runner, bench_registry
from bench.overhead import DEV_SERVER_ARGS, TEMPORAL_BIN

X = "\N{MULTIPLICATION SIGN}"
SIDES = ("on", "off")
# Step counts whose difference gives the events one more tool call adds to a run.
SLOPE_STEPS = (5, 50)
BOOTSTRAP_SEED = 20261129
Samples = dict[str, list[float]]


@asynccontextmanager
async def _otlp_sink() -> AsyncIterator[str]:
    """The receiver's URL; the receiver runs in a child process until the block ends."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        sink = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench._otlp_sink", str(port_file)
        )
        try:
            for _ in range(200):
                if port_file.exists() and port_file.read_text():
                    break
                await asyncio.sleep(0.05)
            else:
                raise BenchError("the OTLP receiver did not start")
            yield f"http://127.0.0.1:{port_file.read_text()}"
        finally:
            sink.terminate()
            await asyncio.wait_for(sink.wait(), 10)


def _spans_received(sink: str) -> int:
    with urllib.request.urlopen(f"{sink}/count", timeout=10) as reply:  # noqa: S310 -- local URL
        return int(reply.read())


async def _events(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


async def _per_tool_call(client: Client, task_queue: str, tag: str) -> float:
    """Events one more tool call adds: the slope between a 5-step and a 50-step run."""
    runs = AgentRunClient(client, task_queue=task_queue)
    counts = []
    for n in SLOPE_STEPS:
        run_id = await runs.start(RunRequest(agent=f"steps-{n}", request_id=f"{tag}-slope-{n}"))
        result = await runs.result(run_id)
        if result.state is not RunState.COMPLETED:
            raise BenchError(f"{n}-step run ended {result.state}: {result.failure}")
        counts.append(await _events(client, run_id))
    return (counts[1] - counts[0]) / (SLOPE_STEPS[1] - SLOPE_STEPS[0])


def _record_figures(url: str, runs: int) -> dict[str, float]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            report = verify_chain(session)
            if not report.ok:
                raise BenchError(f"the audit chain does not verify: {report.message}")
            count: Callable[[str], int] = lambda table: session.execute(  # noqa: E731
                text(f"SELECT count(*) FROM {table}")  # noqa: S608 -- fixed table names
            ).scalar_one()
            return {
                "runs": count("runs") / runs,
                "tool calls": count("tool_calls") / runs,
                "model calls": count("model_calls") / runs,
                "audit events": count("audit_events") / runs,
            }
    finally:
        engine.dispose()


async def _measure(
    args: argparse.Namespace, runners: dict[str, RunOnce], tag: str
) -> tuple[Samples, Samples, dict[str, list[Batch]]]:
    """Latency and CPU (worker, client and server) of sequential runs, then batch throughput."""
    for i in range(args.warmup):
        for side in SIDES:
            await runners[side](f"{tag}-warm-{side}-{i}")
    latency: Samples = {side: [] for side in SIDES}
    sequential_cpu: Samples = {side: [] for side in SIDES}
    for i in range(args.runs):
        order = SIDES if i % 2 == 0 else SIDES[::-1]
        for side in order:
            own, server = time.process_time(), child_cpu_s()
            latency[side].append(await timed(runners[side], f"{tag}-lat-{side}-{i}"))
            sequential_cpu[side].append((time.process_time() - own + child_cpu_s() - server) * 1000)
    batches: dict[str, list[Batch]] = {side: [] for side in SIDES}
    for r in range(args.rounds):
        order = SIDES if r % 2 == 0 else SIDES[::-1]
        for side in order:
            batch = await batch_throughput(runners[side], f"{tag}-tp-{side}-{r}", args.concurrency)
            batches[side].append(batch)
            print(
                f"  round {r + 1} record {side}: {batch.runs_per_s:.1f} runs/s, CPU per run "
                f"{batch.own_cpu_ms:.0f} ms worker+client, {batch.server_cpu_ms:.0f} ms server",
                flush=True,
            )
    return latency, sequential_cpu, batches


@dataclass(frozen=True)
class Figure:
    """One row: the two sides' values, or (a paired statistic) only their ratio."""

    name: str
    on: float | None
    off: float | None
    ratio: float
    target: str = ""

    @classmethod
    def sides(cls, name: str, on: float, off: float, target: str = "") -> "Figure":
        return cls(name, on, off, on / off, target)


def paired_ratios(batches: dict[str, list[Batch]]) -> list[float]:
    """On/off throughput of each round's two adjacent batches.

    The machine's speed drifts by ±20 % over minutes on a shared VM, which moves both sides of
    a round together; a ratio within the round cancels the drift that a ratio of the two
    sides' medians (taken over different minutes) keeps.
    """
    rounds = zip(batches["on"], batches["off"], strict=True)
    return [on.runs_per_s / off.runs_per_s for on, off in rounds]


def median_interval(ratios: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A bootstrap confidence interval for the median of the paired ratios.

    One pair moves by up to ±15 % on this VM, so the median of a few pairs alone cannot say
    whether a miss (or a pass) is more than luck; the interval can. Seeded: the same rounds
    always give the same interval.
    """
    if len(set(ratios)) < 2:
        return ratios[0], ratios[0]
    result = stats.bootstrap(
        (np.asarray(ratios),),
        np.median,
        confidence_level=confidence,
        method="percentile",
        random_state=BOOTSTRAP_SEED,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _rows(
    latency: Samples,
    sequential_cpu: Samples,
    batches: dict[str, list[Batch]],
    events: dict[str, int],
    slope: dict[str, float],
) -> list[Figure]:
    def mean_cpu(side: str, pick: Callable[[Batch], float]) -> float:
        return sum(pick(b) for b in batches[side]) / len(batches[side])

    def row(name: str, value: Callable[[str], float], target: str = "") -> Figure:
        return Figure.sides(name, value("on"), value("off"), target)

    pairs = paired_ratios(batches)
    low, high = median_interval(pairs)
    return [
        row("latency p50 (ms)", lambda s: percentile(latency[s], 0.5) * 1e3),
        row("latency p95 (ms)", lambda s: percentile(latency[s], 0.95) * 1e3),
        row("throughput (runs/s, best round)", lambda s: max(b.runs_per_s for b in batches[s])),
        row(
            "throughput (runs/s, median round)",
            lambda s: percentile([b.runs_per_s for b in batches[s]], 0.5),
        ),
        Figure(
            f"throughput on/off, median of {len(pairs)} paired rounds "
            f"(95 % CI {low:.2f} to {high:.2f}; range {min(pairs):.2f} to {max(pairs):.2f})",
            None,
            None,
            percentile(pairs, 0.5),
            "≥ 0.95",
        ),
        row("history events per tool call", lambda s: slope[s], "= 1.00"),
        row("history events per run", lambda s: events[s]),
        row(
            "CPU per sequential run, all processes (ms, median)",
            lambda s: percentile(sequential_cpu[s], 0.5),
        ),
        row("CPU per run, worker+client (ms)", lambda s: mean_cpu(s, lambda b: b.own_cpu_ms)),
        row("CPU per run, dev server (ms)", lambda s: mean_cpu(s, lambda b: b.server_cpu_ms)),
    ]


def _verdict(figure: Figure) -> str:
    if not figure.target:
        return ""
    ratio = round(figure.ratio, 2)
    limit = float(figure.target.split()[1])
    ok = ratio >= limit if figure.target.startswith("≥") else ratio == limit
    return "PASS" if ok else "MISS"


def _cell(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}"


def _markdown(rows: list[Figure], stored: dict[str, float], notes: str) -> str:
    lines = [
        "| figure | record on | record off | on/off | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for f in rows:
        decimals = 1 if "runs/s" in f.name or "per tool call" in f.name else 0
        target = f.target.replace("= ", "") + X if f.target else "—"
        lines.append(
            f"| {f.name} | {_cell(f.on, decimals)} | {_cell(f.off, decimals)} | "
            f"{f.ratio:.2f}{X} | {target} | {_verdict(f)} |"
        )
    written = ", ".join(f"{v:.1f} {k}" for k, v in stored.items())
    return "\n".join([notes, "", *lines, "", f"Written per run with the record on: {written}."])


async def _main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    configure_logging("WARNING", "console")
    tag = uuid.uuid4().hex[:8]
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(TEMPORAL_BIN),
        dev_server_extra_args=DEV_SERVER_ARGS,
    )
    registry = bench_registry()
    for n in SLOPE_STEPS:
        registry.register(steps.agent(n))
    try:
        async with _otlp_sink() as sink:
            with tempfile.TemporaryDirectory(prefix="agentrun-bench-") as tmp:
                on = Settings(
                    data_dir=Path(tmp) / "on",
                    task_queue="bench-record-on",
                    database_url=args.database_url,
                    store_enabled=args.only != "tracing",
                )
                off = Settings(
                    data_dir=Path(tmp) / "off", task_queue="bench-record-off", store_enabled=False
                )
                on.data_dir.mkdir(parents=True)
                upgrade(on.effective_database_url())
                provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
                provider.add_span_processor(
                    BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink}/v1/traces"))
                )
                target = env.client.service_client.config.target_host
                interceptors = tracing_interceptors(provider) if args.only != "store" else []
                traced = await connect(target, interceptors=interceptors)
                clients = {"on": traced, "off": env.client}
                settings = {"on": on, "off": off}
                async with (
                    build_worker(
                        traced,
                        on,
                        registry,
                        tracer_provider=provider if args.only != "store" else None,
                    ),
                    build_worker(env.client, off, registry),
                ):
                    tune_gc(on)  # as `agentrun worker` does; one process, so both sides
                    runners = {
                        s: agentrun_runner(clients[s], settings[s].task_queue) for s in SIDES
                    }
                    latency, sequential_cpu, batches = await _measure(args, runners, tag)
                    events = {s: await _events(clients[s], f"{tag}-lat-{s}-0") for s in SIDES}
                    slope = {
                        s: await _per_tool_call(clients[s], settings[s].task_queue, f"{tag}-{s}")
                        for s in SIDES
                    }
                provider.force_flush()
                total_runs = args.warmup + args.runs + args.rounds * args.concurrency
                spans = _spans_received(sink) / (total_runs + len(SLOPE_STEPS))
                stored = (
                    _record_figures(on.effective_database_url(), total_runs + len(SLOPE_STEPS))
                    if on.store_enabled
                    else {}
                )
                provider.shutdown()
    finally:
        await env.shutdown()
    rows = _rows(latency, sequential_cpu, batches, events, slope)
    stored = {"spans exported": spans, **stored}
    database = "PostgreSQL" if args.database_url else "SQLite"
    notes = (
        f"Measured {datetime.now(UTC).date().isoformat()} on {os.cpu_count()} cores: the refund "
        f"agent (5 tool calls, 6 model calls, scripted model) with the run record ({database}, "
        "write-behind) and tracing (batched OTLP/HTTP to a receiver process) on, against the "
        "same worker with both off, in one process and dev server; "
        f"{args.warmup} warm-up runs each; latency over {args.runs} sequential runs each "
        f"(interleaved); throughput in {args.rounds} rounds of {args.concurrency} concurrent "
        "runs per side, the two sides back to back in each round (alternating which goes "
        "first), judged on the median of the rounds' on/off ratios (with a bootstrap 95 % "
        "confidence interval); events per tool call "
        "from a 5- and a 50-step run; "
        f"benchmark took {time.perf_counter() - started:.0f} s."
    )
    section = _markdown(rows, stored, notes)
    print()
    print(section)
    if args.write_docs:
        write_section("record", section, heading="## What recording costs")
        print(f"wrote the figures into {PERFORMANCE}")
    missed = [f.name for f in rows if _verdict(f) == "MISS"]
    if missed:
        print("MISSED: " + ", ".join(missed))
    return 1 if missed and args.check else 0


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.record", description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="sequential runs per side")
    parser.add_argument("--concurrency", type=int, default=50, help="runs per throughput batch")
    parser.add_argument("--rounds", type=int, default=15, help="throughput batches per side")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per side")
    parser.add_argument("--database-url", help="record to this database (default: SQLite)")
    parser.add_argument(
        "--only",
        choices=("store", "tracing"),
        help="turn on only this half of recording, to see what each costs",
    )
    add_write_docs_flag(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if args.only and args.write_docs:
        parser.error("--write-docs publishes the full comparison: leave out --only")
    for name in ("runs", "concurrency", "rounds", "warmup"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main() -> None:
    run_and_exit(_main(_parse(sys.argv[1:])))


if __name__ == "__main__":
    main()
