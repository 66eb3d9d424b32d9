"""Agents whose one slow call a worker is killed in (tests/workflows/test_kill_recovery.py and
``python -m tests.support.kill_recovery``).

Loaded by name (``tests.support.kill_agents``) by ``agentrun worker`` subprocesses. A slow tool's
attempt appends ``attempt pid time`` to a file under the data dir before it hangs, so the test
knows the call is in flight, on which worker, and how often the tool was entered; a retried
attempt returns at once. The slow model is the openai provider against tests/support/fake_openai
with a delayed canned answer queued by the test.
"""

import asyncio
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from agentrun.agents.registry import (
    AgentDefinition,
    AgentRegistry,
    ToolContext,
    ToolDefinition,
    define_tool,
)
from agentrun.contracts.agents import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)
from agentrun.contracts.tools import SideEffect

# Longer than any tool timeout here: a first attempt ends only by its worker's death or timeout.
HANG_S = 60.0
CALLS_DIR = "kill-calls"


class KeyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class Value(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str


def calls_file(data_dir: Path, tool: str, key: str) -> Path:
    """Where ``tool``'s attempts for the run started with input ``key`` are written."""
    return data_dir / CALLS_DIR / f"{key}.{tool}"


def calls(data_dir: Path, tool: str, key: str) -> list[tuple[int, int, float]]:
    """Every attempt of ``tool`` in that run so far: (attempt, worker pid, time.time())."""
    path = calls_file(data_dir, tool, key)
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(int(a), int(pid), float(at)) for a, pid, at in rows]


def _hanging(tool: str, side_effect: SideEffect, description: str) -> ToolDefinition:
    async def hang(params: KeyInput, ctx: ToolContext) -> Value:
        path = calls_file(ctx.data_dir, tool, params.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:  # one short line: no need to leave the event loop
            out.write(f"{ctx.attempt} {os.getpid()} {time.time()}\n")
        if ctx.attempt == 1:
            await asyncio.sleep(HANG_S)
        return Value(value=f"{params.key}@attempt{ctx.attempt}")

    return define_tool(
        hang,
        name=tool,
        description=description,
        params=KeyInput,
        output=Value,
        side_effect=side_effect,
    )


# The contract defaults (10 s timeout, 3 attempts, 1 s first retry interval): the common tool.
HANG_READ = _hanging(
    "hang_read", SideEffect.IDEMPOTENT, "Hangs on its first attempt; a retry answers at once."
)
# Non-idempotent without idempotency-key support: called at most once, whatever happens.
ONCE_WRITE = _hanging(
    "once_write", SideEffect.NON_IDEMPOTENT, "A side effect that cannot be deduplicated; hangs."
)


def _agent(name: str, model: ModelSettings, tools: tuple[ToolDefinition, ...]) -> AgentDefinition:
    spec = AgentSpec(
        name=name,
        version="1",
        system_prompt=f"Kill-recovery agent {name}.",
        model=model,
        tools=tuple(t.contract for t in tools),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=KeyInput, tools=tools)


def _scripted(tool: str) -> ModelSettings:
    steps = (
        ScriptStep(tool=tool, args={"key": "{{input.key}}"}),
        ScriptStep(final={"value": f"{{{{tools.{tool}.value}}}}"}),
    )
    return ModelSettings(scripted=ScriptedOptions(script=steps))


def definitions() -> list[AgentDefinition]:
    return [
        _agent("kill-tool", _scripted("hang_read"), (HANG_READ,)),
        _agent("kill-once", _scripted("once_write"), (ONCE_WRITE,)),
        # No tools: the fake server answers at once with a final answer (after the delay the
        # test queues for the first request).
        _agent("kill-model", ModelSettings(provider="openai", model="gpt-4o-mini"), ()),
    ]


def register(registry: AgentRegistry) -> None:
    for definition in definitions():
        registry.register(definition)
