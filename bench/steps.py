"""History bytes per step as a run grows: ``python -m bench.steps [--write-docs]``.

The peers carry the whole conversation into every model activity, so their bytes per step grow
with the number of steps; agentrun keeps the conversation in its store and sends only what is
new, so bytes per step should stay flat (target: at 200 steps within 1.2x of 5 steps).

The same runs go through the OpenAI provider too, against a local server speaking the Chat
Completions protocol (the official SDK, real HTTP) that answers each step with the same tool
call: a real provider's call should add no history bytes beyond what the scripted model's adds
(target: within 1.05x per step at 200 steps).
"""

import argparse
import itertools
import json
import sysconfig
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from temporalio.testing import WorkflowEnvironment
from tests.support.fake_openai import Canned, FakeOpenAI, completion

from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.client import AgentRunClient
from agentrun.contracts import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)
from agentrun.contracts.names import SEARCH_ATTRIBUTES
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.converter import DATA_CONVERTER
from agentrun.observability.logging import configure_logging
from agentrun.settings import Settings
from agentrun.store.migrate import upgrade
from agentrun.workers.worker import build_worker
from bench._docs import PERFORMANCE, add_write_docs_flag, run_and_exit, write_section

STEPS = (5, 50, 200)
TARGET = 1.2
PROVIDER_TARGET = 1.05
OPENAI_MODEL = "openai:gpt-4o-mini"


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class NoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Found(BaseModel):
    key: str
    value: str
    notes: str


async def lookup(params: Lookup, ctx: ToolContext) -> Found:  # noqa: ARG001 -- tool signature
    """A read returning ~150 bytes, like a small record lookup."""
    return Found(key=params.key, value=f"value-{params.key}", notes="x" * 100)


LOOKUP = define_tool(
    lookup, name="lookup", description="Look a key up.", params=Lookup, output=Found
)


def agent(steps: int, model: str = "scripted:scripted-1") -> AgentDefinition:
    script = [ScriptStep(tool="lookup", args={"key": f"k{i}"}) for i in range(steps)]
    script.append(ScriptStep(final={"last": "{{tools.lookup.value}}", "steps": steps}))
    provider, name = model.split(":", 1)
    spec = AgentSpec(
        name=f"steps-{steps}" + ("" if provider == "scripted" else f"-{provider}"),
        version="1",
        system_prompt="Look up every key, then report the last value.",
        model=ModelSettings(
            provider=provider, model=name, scripted=ScriptedOptions(script=tuple(script))
        ),
        tools=(LOOKUP.contract,),
        max_steps=steps + 1,
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=NoInput, tools=(LOOKUP,))


def canned_run(steps: int) -> list[Canned]:
    """What the server answers for one run: the scripted model's moves, over the wire."""
    ids = itertools.count(1)
    calls = [
        Canned(
            body=completion(tool_calls=(("lookup", json.dumps({"key": f"k{i}"})),), call_ids=ids)
        )
        for i in range(steps)
    ]
    final = json.dumps({"last": f"value-k{steps - 1}", "steps": steps})
    return [*calls, Canned(body=completion(content=final))]


async def measure() -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(Path(sysconfig.get_path("scripts")) / "temporal"),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "history.transferProcessorMaxPollRPS=1000",
        ],
    )
    registry = AgentRegistry()
    for n in STEPS:
        registry.register(agent(n))
        registry.register(agent(n, OPENAI_MODEL))
    scripted: dict[int, tuple[int, int]] = {}
    openai: dict[int, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as data_dir, FakeOpenAI() as server:
        upgrade(Settings(data_dir=Path(data_dir)).effective_database_url())
        settings = Settings(data_dir=Path(data_dir), task_queue="bench-steps")
        environ = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "bench"}
        async with env, build_worker(env.client, settings, registry, environ=environ):
            runs = AgentRunClient(env.client, task_queue="bench-steps")
            for n in STEPS:
                scripted[n] = await _history(runs, f"steps-{n}")
                server.queue(*canned_run(n))
                openai[n] = await _history(runs, f"steps-{n}-openai")
    return scripted, openai


async def _history(runs: AgentRunClient, agent_name: str) -> tuple[int, int]:
    """(events, bytes) of one completed run's history."""
    run_id = await runs.start(RunRequest(agent=agent_name))
    result = await runs.result(run_id)
    if result.state is not RunState.COMPLETED:
        raise RuntimeError(f"{agent_name} run ended {result.state}: {result.failure}")
    history = await runs.temporal.get_workflow_handle(run_id).fetch_history()
    return len(history.events), sum(e.ByteSize() for e in history.events)


def provider_table(scripted: dict[int, tuple[int, int]], openai: dict[int, tuple[int, int]]) -> str:
    rows = [
        "| steps | scripted bytes per step | OpenAI provider bytes per step | OpenAI/scripted |",
        "|---|---|---|---|",
    ]
    for n in STEPS:
        ratio = openai[n][1] / scripted[n][1]
        rows.append(f"| {n} | {scripted[n][1] / n:,.0f} | {openai[n][1] / n:,.0f} | {ratio:.2f}x |")
    last = openai[STEPS[-1]][1] / scripted[STEPS[-1]][1]
    verdict = "PASS" if last <= PROVIDER_TARGET else "MISS"
    rows.append("")
    rows.append(
        f"Target: a real provider's run within {PROVIDER_TARGET}x of the scripted one's history"
        f" at {STEPS[-1]} steps: {verdict} ({last:.2f}x)."
    )
    return "\n".join(rows)


def table(figures: dict[int, tuple[int, int]]) -> str:
    base = figures[STEPS[0]][1] / STEPS[0]
    rows = [
        "| steps | events | history bytes | bytes per step | vs 5 steps |",
        "|---|---|---|---|---|",
    ]
    for n, (events, size) in figures.items():
        rows.append(f"| {n} | {events} | {size:,} | {size / n:,.0f} | {size / n / base:.2f}x |")
    last = figures[STEPS[-1]][1] / STEPS[-1] / base
    verdict = "PASS" if last <= TARGET else "MISS"
    rows.append("")
    rows.append(
        f"Target: bytes per step at {STEPS[-1]} steps within {TARGET}x of {STEPS[0]} steps:"
        f" {verdict} ({last:.2f}x)."
    )
    return "\n".join(rows)


async def _main(write_docs: bool) -> int:
    configure_logging("WARNING", "console")
    scripted, openai = await measure()
    text = table(scripted) + "\n\n" + provider_table(scripted, openai)
    print(text)
    if write_docs:
        write_section("steps", text, heading="## History bytes per step")
        print(f"wrote the figures into {PERFORMANCE}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_write_docs_flag(parser)
    run_and_exit(_main(parser.parse_args().write_docs))


if __name__ == "__main__":
    main()
