"""Agents that exist only for tests: each isolates one behaviour of the platform.

Loaded by name (``tests.support.agents``) so subprocess workers in crash tests get them too.
"""

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentrun.agents.errors import ToolError
from agentrun.agents.refund.tools import (
    LOOKUP_ORDER_TOOL,
    RefundParams,
    RefundReceipt,
    issue_refund,
)
from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.contracts.agents import (
    AgentSpec,
    Budget,
    BudgetAction,
    EscalationAction,
    EscalationPolicy,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
    StateDeadlines,
)
from agentrun.contracts.tools import RetrySpec, SideEffect

FAST_RETRY = RetrySpec(
    max_attempts=3, initial_interval=timedelta(milliseconds=100), max_interval=timedelta(seconds=1)
)


class KeyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    fail_times: int = 0


class Value(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str


class Answer(BaseModel):
    """The declared output of the ``typed-output`` agent: a reviewer's edit must fit it."""

    model_config = ConfigDict(extra="forbid")

    answer: str
    key: str


class ProbeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = "k"


async def _echo(params: KeyParams, ctx: ToolContext) -> Value:
    return Value(value=params.key)


async def _flaky(params: KeyParams, ctx: ToolContext) -> Value:
    if ctx.attempt <= params.fail_times:
        raise ToolError("upstream unavailable", status_code=503)
    return Value(value=f"{params.key}@attempt{ctx.attempt}")


async def _reject(params: KeyParams, ctx: ToolContext) -> Value:
    raise ToolError(f"no such record {params.key}", status_code=404)


async def _slow(params: KeyParams, ctx: ToolContext) -> Value:
    await asyncio.sleep(5)
    return Value(value="slow")


async def _fast(params: KeyParams, ctx: ToolContext) -> Value:
    return Value(value="from-fallback")


async def _malformed(params: KeyParams, ctx: ToolContext) -> dict[str, Any]:
    return {"value": 123, "debug": "not in the schema"}


async def _always_503(params: KeyParams, ctx: ToolContext) -> Value:
    raise ToolError("upstream unavailable", status_code=503)


TOOLS = {
    "echo": define_tool(
        _echo, name="echo", description="Echo a key.", params=KeyParams, output=Value
    ),
    "flaky_read": define_tool(
        _flaky,
        name="flaky_read",
        description="503 for the first fail_times attempts.",
        params=KeyParams,
        output=Value,
        side_effect=SideEffect.IDEMPOTENT,
        retry=FAST_RETRY,
    ),
    "strict_read": define_tool(
        _reject,
        name="strict_read",
        description="Always 404.",
        params=KeyParams,
        output=Value,
        retry=FAST_RETRY,
    ),
    "slow_read": define_tool(
        _slow,
        name="slow_read",
        description="Too slow for its timeout.",
        params=KeyParams,
        output=Value,
        timeout=timedelta(seconds=1),
        retry=RetrySpec(max_attempts=1),
        fallback="fast_read",
    ),
    "fast_read": define_tool(
        _fast,
        name="fast_read",
        description="Fallback for slow_read.",
        params=KeyParams,
        output=Value,
    ),
    "malformed_read": define_tool(
        _malformed,
        name="malformed_read",
        description="Succeeds with output breaking its schema.",
        params=KeyParams,
        output=Value,
    ),
    "unsafe_write": define_tool(
        _always_503,
        name="unsafe_write",
        description="Non-idempotent, no key support; 503.",
        params=KeyParams,
        output=Value,
        side_effect=SideEffect.NON_IDEMPOTENT,
        retry=FAST_RETRY,
    ),
    "gated_write": define_tool(
        _echo,
        name="gated_write",
        description="Always needs approval.",
        params=KeyParams,
        output=Value,
        side_effect=SideEffect.IDEMPOTENT,
        requires_approval=True,
    ),
}


async def _refund_then_hang(params: RefundParams, ctx: ToolContext) -> RefundReceipt:
    """Refunds, then (first attempt only) hangs: the window in which crash tests kill the worker."""
    receipt = await issue_refund(params, ctx)
    if ctx.attempt == 1:
        await asyncio.sleep(30)
    return receipt


SLOW_REFUND = define_tool(
    _refund_then_hang,
    name="slow_refund",
    description="issue_refund that hangs after writing.",
    params=RefundParams,
    output=RefundReceipt,
    side_effect=SideEffect.NON_IDEMPOTENT,
    accepts_idempotency_key=True,
    timeout=timedelta(seconds=4),
    retry=RetrySpec(max_attempts=3, initial_interval=timedelta(milliseconds=200)),
)


class CrashInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str
    amount: float


def crashy_refund_agent() -> AgentDefinition:
    tools = (LOOKUP_ORDER_TOOL, SLOW_REFUND)
    spec = AgentSpec(
        name="crashy-refund",
        version="1",
        system_prompt="Refund agent whose refund tool hangs once.",
        model=ModelSettings(
            scripted=ScriptedOptions(
                script=(
                    ScriptStep(tool="lookup_order", args={"order_id": "{{input.order_id}}"}),
                    ScriptStep(
                        tool="slow_refund",
                        args={
                            "order_id": "{{input.order_id}}",
                            "amount": "{{input.amount}}",
                            "reason": "crash drill",
                        },
                    ),
                    ScriptStep(final={"refund_id": "{{tools.slow_refund.refund_id}}"}),
                )
            )
        ),
        tools=tuple(t.contract for t in tools),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=CrashInput, tools=tools)


def probe_agent(
    name: str,
    steps: list[ScriptStep],
    *,
    review: ReviewMode = ReviewMode.NEVER,
    max_steps: int = 10,
    reviewing: timedelta = timedelta(minutes=5),
    escalation: EscalationPolicy | None = None,
    executing: timedelta = timedelta(minutes=30),
    init: timedelta = timedelta(seconds=30),
    budget: Budget | None = None,
    output_model: type[BaseModel] | None = None,
) -> AgentDefinition:
    used = {s.tool for s in steps if s.tool in TOOLS}
    used |= {f for n in list(used) if (f := TOOLS[n].contract.fallback) is not None}
    tools = tuple(TOOLS[n] for n in TOOLS if n in used)
    spec = AgentSpec(
        name=name,
        version="1",
        system_prompt=f"Test agent {name}.",
        model=ModelSettings(scripted=ScriptedOptions(script=tuple(steps))),
        tools=tuple(t.contract for t in tools),
        max_steps=max_steps,
        budget=budget or Budget(),
        review=ReviewPolicy(mode=review, sample_rate=0.0),
        reviewers=("alice", "bob"),
        deadlines=StateDeadlines(init=init, reviewing=reviewing, executing=executing),
        escalation=escalation or EscalationPolicy(),
    )
    return AgentDefinition(
        spec=spec, input_model=ProbeInput, tools=tools, output_model=output_model
    )


def call(tool: str, **args: Any) -> ScriptStep:
    return ScriptStep(tool=tool, args={"key": "{{input.key}}", **args})


DONE = ScriptStep(final={"answer": "done", "key": "{{input.key}}"})
LAST_VALUE = ScriptStep(final={"value": "{{tools.flaky_read.value}}"})


def definitions() -> list[AgentDefinition]:
    short = timedelta(seconds=2)
    return [
        probe_agent("echo", [call("echo"), DONE]),
        probe_agent("flaky", [call("flaky_read", fail_times=1), LAST_VALUE]),
        probe_agent("flaky-exhausted", [call("flaky_read", fail_times=5), LAST_VALUE]),
        probe_agent("strict", [call("strict_read"), DONE]),
        probe_agent(
            "slow", [call("slow_read"), ScriptStep(final={"value": "{{tools.slow_read.value}}"})]
        ),
        probe_agent("malformed", [call("malformed_read"), DONE]),
        probe_agent("unsafe", [call("unsafe_write"), DONE]),
        probe_agent("looping", [call("echo")] * 6 + [DONE], max_steps=20),
        probe_agent(
            "long",
            [ScriptStep(tool="echo", args={"key": f"k{i}"}) for i in range(10)] + [DONE],
            max_steps=3,
        ),
        probe_agent(
            "budgeted", [ScriptStep(tool="echo", args={"key": f"b{i}"}) for i in range(8)] + [DONE]
        ),
        probe_agent(
            "budget-review",
            [ScriptStep(tool="echo", args={"key": f"r{i}"}) for i in range(8)] + [DONE],
            budget=Budget(max_steps=2, on_exceeded=BudgetAction.REVIEW),
        ),
        # The model asks for a tool the agent does not have (its name comes from the input).
        probe_agent("forbidden", [ScriptStep(tool="{{input.key}}", args={}), DONE]),
        probe_agent("reviewed", [call("echo"), DONE], review=ReviewMode.ALWAYS),
        probe_agent(
            "typed-output", [call("echo"), DONE], review=ReviewMode.ALWAYS, output_model=Answer
        ),
        probe_agent("init-deadline", [call("echo"), DONE], init=timedelta(seconds=1)),
        probe_agent(
            "typed-output-broken",
            [call("echo"), ScriptStep(final={"answer": "no key"})],
            output_model=Answer,
        ),
        probe_agent("gated", [call("gated_write"), DONE]),
        probe_agent(
            "timeout-reject", [call("echo"), DONE], review=ReviewMode.ALWAYS, reviewing=short
        ),
        probe_agent(
            "timeout-approve",
            [call("echo"), DONE],
            review=ReviewMode.ALWAYS,
            reviewing=short,
            escalation=EscalationPolicy(action=EscalationAction.AUTO_APPROVE),
        ),
        probe_agent(
            "timeout-escalate",
            [call("echo"), DONE],
            review=ReviewMode.ALWAYS,
            reviewing=short,
            escalation=EscalationPolicy(
                action=EscalationAction.ESCALATE,
                escalation_reviewers=("carol",),
                escalation_deadline=short,
            ),
        ),
        probe_agent(
            "two-tools",
            [
                ScriptStep(tool="echo", args={"key": "alpha-key"}),
                ScriptStep(tool="echo", args={"key": "beta-key"}),
                DONE,
            ],
            review=ReviewMode.ALWAYS,
        ),
    ]


def register(registry: AgentRegistry) -> None:
    for definition in [*definitions(), crashy_refund_agent()]:
        registry.register(definition)
