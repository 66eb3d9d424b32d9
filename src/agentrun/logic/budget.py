"""Budgets: the effective limits of a run and whether its spend has broken them."""

from dataclasses import dataclass
from typing import TypeVar

from agentrun.contracts.agents import Budget
from agentrun.contracts.model import TokenUsage
from agentrun.contracts.runs import Usage

N = TypeVar("N", int, float)


def _tighter(a: N | None, b: N | None) -> N | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def effective_budget(agent: Budget, request: Budget | None, max_steps: int) -> Budget:
    """The agent's budget, tightened by the caller's; the agent's max_steps always applies."""
    steps = _tighter(agent.max_steps, max_steps)
    if request is None:
        return agent.model_copy(update={"max_steps": steps})
    return Budget(
        max_tokens=_tighter(agent.max_tokens, request.max_tokens),
        max_cost_usd=_tighter(agent.max_cost_usd, request.max_cost_usd),
        max_steps=_tighter(steps, request.max_steps),
        on_exceeded=agent.on_exceeded,
    )


@dataclass(frozen=True)
class Breach:
    field: str
    message: str


def spend_breach(budget: Budget, tokens: int, cost_usd: float) -> Breach | None:
    """Checked after every model and tool call: the first call over the limit is the last."""
    if budget.max_tokens is not None and tokens > budget.max_tokens:
        return Breach("budget.max_tokens", f"token budget exceeded: {tokens} > {budget.max_tokens}")
    if budget.max_cost_usd is not None and cost_usd > budget.max_cost_usd:
        return Breach(
            "budget.max_cost_usd",
            f"cost budget exceeded: ${cost_usd:.6f} > ${budget.max_cost_usd:.6f}",
        )
    return None


def step_breach(budget: Budget, steps_taken: int) -> Breach | None:
    """Checked before every model call."""
    if budget.max_steps is not None and steps_taken >= budget.max_steps:
        return Breach("max_steps", f"step limit reached: {budget.max_steps} model calls")
    return None


def extended(budget: Budget, original: Budget) -> Budget:
    """A reviewer's approval grants the original budget once more on each limited measure."""
    return Budget(
        max_tokens=None
        if budget.max_tokens is None or original.max_tokens is None
        else budget.max_tokens + original.max_tokens,
        max_cost_usd=None
        if budget.max_cost_usd is None or original.max_cost_usd is None
        else budget.max_cost_usd + original.max_cost_usd,
        max_steps=None
        if budget.max_steps is None or original.max_steps is None
        else budget.max_steps + original.max_steps,
        on_exceeded=budget.on_exceeded,
    )


class RunLedger:
    """What a run has spent and may spend: usage totals, the budget, and its extensions."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.budget = Budget()
        self._granted = Budget()  # the budget as first set; each approval grants it again

    def set_budget(self, budget: Budget) -> None:
        self.budget = self._granted = budget

    def extend(self) -> None:
        self.budget = extended(self.budget, self._granted)

    def model_call(self, tokens: TokenUsage, cost_usd: float) -> None:
        usage = self.usage
        self.usage = Usage(
            model_calls=usage.model_calls + 1,
            tool_calls=usage.tool_calls,
            tokens=usage.tokens + tokens,
            model_cost_usd=usage.model_cost_usd + cost_usd,
            tool_cost_usd=usage.tool_cost_usd,
        )

    def tool_call(self) -> None:
        self.usage = self.usage.model_copy(update={"tool_calls": self.usage.tool_calls + 1})

    def tool_cost(self, total_usd: float) -> None:
        self.usage = self.usage.model_copy(update={"tool_cost_usd": total_usd})

    def spend_breach(self) -> Breach | None:
        return spend_breach(self.budget, self.usage.tokens.total, self.usage.cost_usd)

    def step_breach(self, steps_taken: int) -> Breach | None:
        return step_breach(self.budget, steps_taken)
