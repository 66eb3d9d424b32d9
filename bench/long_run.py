"""One run of 10,000 tool calls: ``python -m bench.long_run [--calls N] [--write-docs]``.

A scripted agent asks for ten tool calls a step (each with its own arguments, so no loop) until
it has made ``--calls`` of them, then answers. No budget, deadline or review stops it. Temporal
would end such a run at 50,000 history events; agentrun continues it as new whenever Temporal
suggests (docs/lifecycle.md), with the worker's default settings. Reported: how many executions
the run took, events and bytes per execution (read back from the server), the largest event (the
carried state travels in each execution's first), wall time, the worker's memory, the model call's
time in the first and last execution (what grows with the conversation), and whether the run's
status and its record in the store hold every call.
"""

import argparse
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlmodel import col
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.client import AgentRunClient
from agentrun.client.histories import executions
from agentrun.contracts import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
    StateDeadlines,
)
from agentrun.contracts.agents import ScriptCall
from agentrun.contracts.names import ACTIVITY_MODEL_CALL, SEARCH_ATTRIBUTES
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.converter import DATA_CONVERTER
from agentrun.observability.logging import configure_logging
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.migrate import upgrade
from agentrun.store.models import ToolCallRow
from agentrun.workers.worker import build_worker, tune_gc
from bench._docs import PERFORMANCE, add_write_docs_flag, run_and_exit, write_section
from bench.overhead import DEV_SERVER_ARGS, TEMPORAL_BIN

INTRO = """\
A run that long would pass Temporal's 50,000-event limit; it [continues as new](lifecycle.md#\
long-runs-continue-as-new) instead, carrying its state into a fresh history.
What grows with a run had to stay flat per call. Each model call used to read and decode
the whole conversation from the store, and the scripted model to decode every tool result
and re-dump every message to count tokens: at 2,000 calls a model call took 32 ms against
12 ms at the start, and with 11,000 messages that work alone took ~350 ms a call (measured
outside a run). The conversation store now keeps the conversations a worker served last and
reads back only the previous reply (the one message a retry elsewhere can change), and the
scripted model reads the conversation from the end and dumps each message once. What still
grows: the model call, 5 to 23 ms over the run (the scripted model's own pass over the
conversation is ~6 ms of it at the end, measured outside a run; the rest is not broken down
here), and the carried state, 12 bytes a distinct call (the loop detector's digests), which each
execution's history holds twice (its start, and its continue-as-new event).

"""
CALLS = 10_000
PER_STEP = 10
AGENT = "long-run"
# Temporal refuses a payload over 2 MB (the carried state is one) and ends a run at 50,000 events.
PAYLOAD_LIMIT = 2 * 1024 * 1024
EVENT_LIMIT = 50_000


class Key(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class Found(BaseModel):
    key: str
    value: str


class NoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def lookup(params: Key, ctx: ToolContext) -> Found:  # noqa: ARG001 -- tool signature
    return Found(key=params.key, value=f"value-{params.key}")


LOOKUP = define_tool(lookup, name="lookup", description="Look a key up.", params=Key, output=Found)


def agent(calls: int) -> AgentDefinition:
    steps = -(-calls // PER_STEP)
    script = [
        ScriptStep(
            calls=tuple(
                ScriptCall(tool="lookup", args={"key": f"s{step}-c{index}"})
                for index in range(min(PER_STEP, calls - step * PER_STEP))
            )
        )
        for step in range(steps)
    ]
    script.append(ScriptStep(final={"last": "{{tools.lookup.value}}", "calls": calls}))
    spec = AgentSpec(
        name=AGENT,
        version="1",
        system_prompt="Look every key up, then report the last value.",
        model=ModelSettings(scripted=ScriptedOptions(script=tuple(script))),
        tools=(LOOKUP.contract,),
        max_steps=min(10_000, steps + 1),
        deadlines=StateDeadlines(executing=timedelta(hours=6)),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=NoInput, tools=(LOOKUP,))


@dataclass(frozen=True)
class Execution:
    events: int
    bytes: int
    largest_event: int
    model_ms: float  # the model activity's median time, started to completed


@dataclass(frozen=True)
class Figures:
    calls: int
    wall_s: float
    executions: list[Execution]
    rss_mb: float
    peak_rss_mb: float
    state: str
    status_calls: int
    usage_calls: int
    stored_calls: int


def _execution(history: WorkflowHistory) -> Execution:
    started: dict[int, float] = {}
    model: set[int] = set()
    durations: list[float] = []
    for event in history.events:
        at = event.event_time.ToMicroseconds() / 1000
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == ACTIVITY_MODEL_CALL:
                model.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started[event.activity_task_started_event_attributes.scheduled_event_id] = at
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
            if scheduled in model and scheduled in started:
                durations.append(at - started[scheduled])
    sizes = [event.ByteSize() for event in history.events]
    return Execution(
        events=len(sizes),
        bytes=sum(sizes),
        largest_event=max(sizes),
        model_ms=statistics.median(durations) if durations else 0.0,
    )


def _rss_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak (the worker runs in it)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    now = int(fields["VmRSS"].split()[0]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return now, peak


async def measure(calls: int) -> Figures:
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(TEMPORAL_BIN),
        dev_server_extra_args=DEV_SERVER_ARGS,
    )
    registry = AgentRegistry()
    registry.register(agent(calls))
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), task_queue="bench-long-run")
        upgrade(settings.effective_database_url())
        async with env, build_worker(env.client, settings, registry):
            tune_gc(settings)  # as a worker process does
            runs = AgentRunClient(env.client, task_queue=settings.task_queue)
            started = time.perf_counter()
            run_id = await runs.start(RunRequest(agent=AGENT, request_id="long-run"))
            result = await runs.result(run_id)
            wall = time.perf_counter() - started
            rss, peak = _rss_mb()
            status = await runs.status(run_id)
            chain = await executions(env.client, run_id)
        if result.state is not RunState.COMPLETED:
            raise RuntimeError(f"the run ended {result.state}: {result.failure}")
        engine = make_engine(settings.effective_database_url())
        try:
            with session_factory(engine)() as session:
                stored = session.execute(
                    select(func.count(func.distinct(col(ToolCallRow.idempotency_key)))).where(
                        col(ToolCallRow.run_id) == run_id
                    )
                ).scalar_one()
        finally:
            engine.dispose()
    return Figures(
        calls=calls,
        wall_s=wall,
        executions=[_execution(history) for history in chain],
        rss_mb=rss,
        peak_rss_mb=peak,
        state=result.state.value,
        status_calls=status.tool_calls_earlier + len(status.tool_calls),
        usage_calls=status.usage.tool_calls,
        stored_calls=int(stored),
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(f: Figures) -> str:
    events = [e.events for e in f.executions]
    sizes = [e.bytes for e in f.executions]
    largest = max(e.largest_event for e in f.executions)
    first, last = f.executions[0], f.executions[-1]
    complete = f.status_calls == f.usage_calls == f.stored_calls == f.calls
    within = max(events) < EVENT_LIMIT and largest < PAYLOAD_LIMIT
    figures = [
        ("run", f"{f.state} in {f.wall_s:,.0f} s ({f.calls / f.wall_s:,.0f} tool calls/s)"),
        (f"executions (continue-as-new: {len(f.executions) - 1})", f"{len(f.executions)}"),
        (
            "events per execution, median / max",
            f"{statistics.median(events):,.0f} / {max(events):,} (limit {EVENT_LIMIT:,})",
        ),
        (
            "history bytes per execution, median / max",
            f"{statistics.median(sizes):,.0f} / {max(sizes):,}",
        ),
        ("history events / bytes, all executions", f"{sum(events):,} / {sum(sizes):,}"),
        (
            "largest event (an execution's start, with what it carried)",
            f"{largest:,} bytes (limit {PAYLOAD_LIMIT:,})",
        ),
        (
            "model call, median in the first / last execution",
            f"{first.model_ms:.1f} ms / {last.model_ms:.1f} ms",
        ),
        ("worker process RSS at the end / peak", f"{f.rss_mb:,.0f} MB / {f.peak_rss_mb:,.0f} MB"),
        (
            "calls in the status (shown + earlier) / its usage / the store's record",
            f"{f.status_calls:,} / {f.usage_calls:,} / {f.stored_calls:,}",
        ),
    ]
    intro = (
        f"One run of {f.calls:,} tool calls ({PER_STEP} a step, {f.calls // PER_STEP:,} model "
        "calls, scripted model) on a worker with default settings, so the run continues as new "
        "when Temporal suggests it; SQLite run record store on, in-memory dev server "
        f"(`{' '.join(DEV_SERVER_ARGS)}`), one worker process, 2 cores."
    )
    verdicts = (
        f"Complete (all {f.calls:,} calls counted in the status and rows in the record): "
        f"{_verdict(complete)}. Every execution within Temporal's limits (events, payload "
        f"size): {_verdict(within)}."
    )
    rows = [intro, "", "| figure | value |", "|---|---|"]
    rows += [f"| {name} | {value} |" for name, value in figures]
    rows += [
        "",
        verdicts,
        "",
        "Reproduce with `python -m bench.long_run --write-docs` (`--calls N` for a shorter run).",
    ]
    return "\n".join(rows)


async def _main(calls: int, write_docs: bool) -> int:
    configure_logging("WARNING", "console")
    figures = await measure(calls)
    text = table(figures)
    print(text)
    for number, execution in enumerate(figures.executions, start=1):
        print(
            f"execution {number}: {execution.events} events, {execution.bytes:,} bytes, "
            f"largest event {execution.largest_event:,}, model call {execution.model_ms:.1f} ms",
            file=sys.stderr,
        )
    if write_docs:
        write_section("long_run", text, heading="## One run of 10,000 tool calls", intro=INTRO)
        print(f"wrote the figures into {PERFORMANCE}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=CALLS, help="tool calls in the run")
    add_write_docs_flag(parser)
    args = parser.parse_args()
    run_and_exit(_main(args.calls, args.write_docs))


if __name__ == "__main__":
    main()
