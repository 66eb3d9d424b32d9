"""History bytes per step as a run grows: ``python -m bench.steps [--write-docs]``.

The peers carry the whole conversation into every model activity, so their bytes per step grow
with the number of steps; agentrun keeps the conversation in its store and sends only what is
new, so bytes per step should stay flat (target: at 200 steps within 1.2x of 5 steps).
"""

import argparse
import sysconfig
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from temporalio.testing import WorkflowEnvironment

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


def agent(steps: int) -> AgentDefinition:
    script = [ScriptStep(tool="lookup", args={"key": f"k{i}"}) for i in range(steps)]
    script.append(ScriptStep(final={"last": "{{tools.lookup.value}}", "steps": steps}))
    spec = AgentSpec(
        name=f"steps-{steps}",
        version="1",
        system_prompt="Look up every key, then report the last value.",
        model=ModelSettings(scripted=ScriptedOptions(script=tuple(script))),
        tools=(LOOKUP.contract,),
        max_steps=steps + 1,
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=NoInput, tools=(LOOKUP,))


async def measure() -> dict[int, tuple[int, int]]:
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
    figures: dict[int, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        upgrade(Settings(data_dir=Path(data_dir)).effective_database_url())
        settings = Settings(data_dir=Path(data_dir), task_queue="bench-steps")
        async with env, build_worker(env.client, settings, registry):
            runs = AgentRunClient(env.client, task_queue="bench-steps")
            for n in STEPS:
                run_id = await runs.start(RunRequest(agent=f"steps-{n}"))
                result = await runs.result(run_id)
                if result.state is not RunState.COMPLETED:
                    raise RuntimeError(f"{n}-step run ended {result.state}: {result.failure}")
                history = await env.client.get_workflow_handle(run_id).fetch_history()
                size = sum(e.ByteSize() for e in history.events)
                figures[n] = (len(history.events), size)
    return figures


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
    text = table(await measure())
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
