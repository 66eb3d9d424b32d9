"""Budgets: the effective limits of a run and whether its spend has broken them."""

from dataclasses import dataclass
from typing import TypeVar

from agentrun.contracts.agents import Budget, BudgetAction
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


def added(a: Usage, b: Usage) -> Usage:
    return Usage(
        model_calls=a.model_calls + b.model_calls,
        tool_calls=a.tool_calls + b.tool_calls,
        tokens=a.tokens + b.tokens,
        model_cost_usd=a.model_cost_usd + b.model_cost_usd,
        tool_cost_usd=a.tool_cost_usd + b.tool_cost_usd,
    )


def child_share(
    budget: Budget, committed_tokens: int, committed_cost: float, ways: int, steps_taken: int
) -> Budget | str:
    """What one of ``ways`` children started together may spend: an equal part of what the
    parent has neither spent nor promised to children still running, and at most the steps the
    parent has left (each child may take them all: steps are counted per run); or why nothing
    is left.
    The parts never add up to more than the parent has left, so its budget holds however the
    children spend; a child's budget fails when spent, never extended by a review."""
    tokens = None
    if budget.max_tokens is not None:
        tokens = (budget.max_tokens - committed_tokens) // ways
        if tokens < 1:
            return "no tokens left in the budget for it"
    cost = None
    if budget.max_cost_usd is not None:
        cost = (budget.max_cost_usd - committed_cost) / ways
        if cost <= 0:
            return "no cost left in the budget for it"
    steps = None
    if budget.max_steps is not None:
        steps = budget.max_steps - steps_taken
        if steps < 1:
            return "no steps left in the budget for it"
    return Budget(
        max_tokens=tokens, max_cost_usd=cost, max_steps=steps, on_exceeded=BudgetAction.FAIL
    )


class RunLedger:
    """What a run has spent and may spend: usage totals, the budget, and its extensions.

    ``usage`` is the run's own spend; ``children`` what each run it called as a tool has spent
    so far (as they report it). Budgets are checked against both together."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.budget = Budget()
        self._granted = Budget()  # the budget as first set; each approval grants it again
        self.children: dict[str, Usage] = {}

    def total(self) -> Usage:
        """The run's spend with its children's: what its status shows and its budget caps."""
        total = self.usage
        for spent in self.children.values():
            total = added(total, spent)
        return total

    def charge_child(self, run_id: str, spent: Usage) -> None:
        """A child's spend so far; a report older than one already charged changes nothing."""
        known = self.children.get(run_id)
        if known is None or (
            spent.cost_usd >= known.cost_usd and spent.tokens.total >= known.tokens.total
        ):
            self.children[run_id] = spent

    def set_budget(self, budget: Budget) -> None:
        self.budget = self._granted = budget

    def extend(self) -> None:
        self.budget = extended(self.budget, self._granted)

    @property
    def granted(self) -> Budget:
        """The budget as first set (what an approved extension grants again)."""
        return self._granted

    def resume(
        self, usage: Usage, budget: Budget, granted: Budget, children: dict[str, Usage]
    ) -> None:
        """The ledger of a run that continued as new: its spend, extensions and all."""
        self.usage, self.budget, self._granted = usage, budget, granted
        self.children = dict(children)

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
        total = self.total()
        return spend_breach(self.budget, total.tokens.total, total.cost_usd)

    def step_breach(self, steps_taken: int) -> Breach | None:
        return step_breach(self.budget, steps_taken)
