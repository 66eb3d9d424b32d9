"""Worker memory per run parked in review: ``python -m bench.parked [--runs N] [--write-docs]``.

A run waiting for a person may wait for days, so what it costs a worker while it waits bounds how
many a worker can hold: the goal is 10,000 parked runs on one worker under 400 MB. The worker is
a real ``agentrun worker`` process of its own (its RSS read from /proc, so this benchmark's client
does not count), serving a test agent that calls one quick tool and then waits for a final review.
Runs are parked in waves, RSS is read at each checkpoint, and a sample of the parked runs is then
approved and must complete: a run evicted from the worker's cache resumes by replay.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.cli.devserver import DevServer, free_port
from agentrun.client import AgentRunClient
from agentrun.contracts import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)
from agentrun.contracts.agents import StateDeadlines
from agentrun.contracts.names import SA_AGENT_STATE
from agentrun.contracts.review import Decision, ReviewDecision
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from bench._docs import PERFORMANCE, ROOT, add_write_docs_flag, run_and_exit, write_section

AGENT = "parked"
TASK_QUEUE = "bench-parked"
REVIEWER = "bench-reviewer"
GOAL_RUNS = 10_000
GOAL_MB = 400.0
CHECKPOINTS = (1_000, 10_000)
# Runs started per wave before waiting for them to park: enough to keep the worker busy, few
# enough that runs in flight stay well inside the worker's cache (a smaller cache than the runs
# in flight makes every task replay, which measures eviction rather than parking).
WAVE = 250
START_CONCURRENCY = 50
# More than ~1,200 concurrent long polls per namespace hit the server's poller limit: sample
# runs are approved and awaited this many at a time.
APPROVE_BATCH = 50
SETTLE_S = 5.0
PARK_TIMEOUT_S = 600.0
MB = 1024 * 1024


class NoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Key(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class Found(BaseModel):
    value: str


async def lookup(params: Key, ctx: ToolContext) -> Found:  # noqa: ARG001 -- tool signature
    """A quick read: the run does a little real work before it parks."""
    return Found(value=f"value-{params.key}")


LOOKUP = define_tool(lookup, name="lookup", description="Look a key up.", params=Key, output=Found)


def parked_agent() -> AgentDefinition:
    """One tool call, then a final answer that always goes to review, with a review deadline
    long enough that no run times out while the benchmark parks the rest."""
    script = (ScriptStep(tool="lookup", args={"key": "k"}), ScriptStep(final={"answer": "done"}))
    spec = AgentSpec(
        name=AGENT,
        version="1",
        system_prompt="Look the key up, then answer.",
        model=ModelSettings(scripted=ScriptedOptions(script=script)),
        tools=(LOOKUP.contract,),
        review=ReviewPolicy(mode=ReviewMode.ALWAYS, sample_rate=0.0),
        deadlines=StateDeadlines(reviewing=timedelta(days=7)),
        reviewers=(REVIEWER,),
    )
    return AgentDefinition(spec=spec, input_model=NoInput, tools=(LOOKUP,))


def register(registry: AgentRegistry) -> None:
    """The worker process loads this module as its agent module (AGENTRUN_AGENT_MODULES)."""
    registry.register(parked_agent())


# ----------------------------------------------------------------- the worker process


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of a process in MB, from /proc: what the OS charges it."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def rss_mb(self) -> float:
        if self.process.poll() is not None:
            raise BenchError(f"the worker exited {self.process.returncode}: {self.tail()}")
        return memory_mb(self.process.pid)[0]

    def tail(self) -> str:
        return " | ".join(self.log.read_text(errors="replace").splitlines()[-5:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class BenchError(RuntimeError):
    pass


def start_worker(address: str, data_dir: Path, cache: int | None) -> WorkerProcess:
    """``agentrun worker`` as deployed (record store on, SQLite), serving only the test agent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AGENTRUN_"))}
    env.update(
        TEMPORAL_ADDRESS=address,
        AGENTRUN_DATA_DIR=str(data_dir),
        AGENTRUN_AGENT_MODULES="bench.parked",
        AGENTRUN_TASK_QUEUE=TASK_QUEUE,
        AGENTRUN_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH")))),
    )
    if cache is not None:
        env["AGENTRUN_MAX_CACHED_WORKFLOWS"] = str(cache)
    log = data_dir / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentrun.cli", "worker", "--json"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
        )
    worker = WorkerProcess(process, log)
    deadline = time.monotonic() + 60
    while "worker_started" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise BenchError(f"the worker did not start: {worker.tail()}")
        time.sleep(0.1)
    return worker


# ----------------------------------------------------------------- parking and approving


async def count_parked(client: AgentRunClient, prefix: str) -> int:
    """Runs of ours (ids starting with ``prefix``) that visibility shows waiting for review."""
    query = (
        f"{SA_AGENT_STATE.name} = '{RunState.REVIEWING.value}' AND WorkflowId STARTS_WITH "
        f"'{prefix}-'"
    )
    return (await client.temporal.count_workflows(query)).count


async def park(client: AgentRunClient, prefix: str, first: int, stop: int) -> list[str]:
    """Start runs ``prefix-first`` .. ``prefix-(stop-1)`` in waves, each wave parked in review
    before the next starts; the runs before ``first`` must still be parked."""
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def start(run_id: str) -> None:
        async with gate:
            await client.start(RunRequest(agent=AGENT, request_id=run_id))

    ids = [f"{prefix}-{i}" for i in range(first, stop)]
    for at in range(first, stop, WAVE):
        end = min(at + WAVE, stop)
        await asyncio.gather(*(start(f"{prefix}-{i}") for i in range(at, end)))
        deadline = time.monotonic() + PARK_TIMEOUT_S
        while (parked := await count_parked(client, prefix)) < end:
            if time.monotonic() > deadline:
                raise BenchError(f"runs did not park: {parked} of {end}")
            await asyncio.sleep(0.25)
    return ids


async def approve(client: AgentRunClient, ids: list[str]) -> int:
    """Approve ``ids`` a batch at a time and wait for each to end; returns how many completed."""

    async def one(run_id: str) -> bool:
        await client.review(
            run_id, ReviewDecision(decision=Decision.APPROVE, reviewer=REVIEWER, comment="ok")
        )
        return (await client.result(run_id)).state is RunState.COMPLETED

    completed = 0
    for first in range(0, len(ids), APPROVE_BATCH):
        batch = ids[first : first + APPROVE_BATCH]
        completed += sum(await asyncio.gather(*(one(run_id) for run_id in batch)))
    return completed


async def settled_rss(worker: WorkerProcess) -> float:
    """RSS once the worker has had a few seconds with nothing to do (last of three reads)."""
    await asyncio.sleep(SETTLE_S)
    readings = []
    for _ in range(3):
        readings.append(worker.rss_mb())
        await asyncio.sleep(1)
    return readings[-1]


# ----------------------------------------------------------------- the benchmark


@dataclass(frozen=True)
class Checkpoint:
    runs: int
    rss_mb: float
    park_s: float


@dataclass(frozen=True)
class Result:
    cache: int | None
    baseline_mb: float
    checkpoints: list[Checkpoint]
    approved: int
    completed: int
    peak_mb: float
    elapsed_s: float


async def measure(runs: int, cache: int | None, sample: int) -> Result:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agentrun-parked-") as tmp:
        data_dir = Path(tmp)
        server = DevServer(port=free_port(), headless=True, log_file=data_dir / "server.log")
        await server.astart()
        worker: WorkerProcess | None = None
        try:
            worker = start_worker(server.address, data_dir, cache)
            client = await AgentRunClient.connect(server.address, task_queue=TASK_QUEUE)
            # Warm-up: the first runs import and cache what every later run shares.
            warm = await park(client, "warm", 0, 20)
            if await approve(client, warm) != len(warm):
                raise BenchError("warm-up runs did not complete")
            baseline = await settled_rss(worker)
            print(f"worker RSS after warm-up: {baseline:.0f} MB", flush=True)
            points: list[Checkpoint] = []
            ids: list[str] = []
            for target in [c for c in CHECKPOINTS if c < runs] + [runs]:
                t0 = time.perf_counter()
                ids += await park(client, "parked", len(ids), target)
                rss = await settled_rss(worker)
                points.append(Checkpoint(target, rss, time.perf_counter() - t0))
                per_run = (rss - baseline) * 1024 / target
                print(f"{target:>6} parked: RSS {rss:.0f} MB ({per_run:.1f} KB/run)", flush=True)
            chosen = ids[:: max(1, len(ids) // sample)][:sample]
            completed = await approve(client, chosen)
            peak = memory_mb(worker.process.pid)[1]
        finally:
            if worker is not None:
                worker.stop()
            await server.astop()
    return Result(
        cache, baseline, points, len(chosen), completed, peak, time.perf_counter() - started
    )


def report(result: Result) -> str:
    cache = result.cache if result.cache is not None else "default"
    rows = [
        "| runs parked | worker RSS (MB) | added per parked run (KB) | time to park (s) |",
        "|---|---|---|---|",
        f"| 0 (after warm-up) | {result.baseline_mb:,.0f} | — | — |",
    ]
    for point in result.checkpoints:
        per_run = (point.rss_mb - result.baseline_mb) * 1024 / point.runs
        rows.append(
            f"| {point.runs:,} | {point.rss_mb:,.0f} | {per_run:,.1f} | {point.park_s:,.0f} |"
        )
    last = result.checkpoints[-1]
    ok = last.runs >= GOAL_RUNS and last.rss_mb < GOAL_MB
    verdict = "PASS" if ok else ("MISS" if last.runs >= GOAL_RUNS else "not measured")
    return "\n".join(
        [
            (
                f"Measured {datetime.now(UTC).date().isoformat()} on {os.cpu_count()} cores: one "
                f"`agentrun worker` process (record store on, SQLite; workflow cache: {cache}) "
                "serving a test agent that calls one quick tool, then waits for a final review; "
                "in-memory dev server; RSS from /proc after the worker idled "
                f"{SETTLE_S:g} s; peak RSS {result.peak_mb:,.0f} MB; benchmark took "
                f"{result.elapsed_s:,.0f} s."
            ),
            "",
            *rows,
            "",
            (
                f"Goal: {GOAL_RUNS:,} parked runs under {GOAL_MB:g} MB: {verdict} "
                f"({last.rss_mb:,.0f} MB at {last.runs:,}). Approved afterwards: "
                f"{result.completed} of {result.approved} sampled runs completed."
            ),
        ]
    )


async def _main(args: argparse.Namespace) -> int:
    result = await measure(args.runs, args.cache, args.sample)
    text = report(result)
    print()
    print(text)
    if args.write_docs:
        write_section("parked", text, heading="## Memory per parked run")
        print(f"wrote the figures into {PERFORMANCE}")
    return 0 if result.completed == result.approved else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parked", description=__doc__)
    parser.add_argument("--runs", type=int, default=GOAL_RUNS, help="runs to park")
    parser.add_argument(
        "--cache",
        type=int,
        default=None,
        help="the worker's max_cached_workflows (default: its own)",
    )
    parser.add_argument("--sample", type=int, default=100, help="parked runs approved at the end")
    add_write_docs_flag(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.runs < 1 or args.sample < 1:
        parser.error("--runs and --sample must be at least 1")
    run_and_exit(_main(args))


if __name__ == "__main__":
    main()
