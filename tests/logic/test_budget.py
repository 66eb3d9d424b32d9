"""Budgets: callers tighten, never loosen; breaches are found at the first call over the limit."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentrun.contracts.agents import Budget, BudgetAction
from agentrun.contracts.pricing import DEFAULT_PRICES, ModelPrice, PriceTable
from agentrun.logic.budget import effective_budget, extended, spend_breach, step_breach

limits = st.one_of(st.none(), st.integers(1, 10_000))
costs = st.one_of(st.none(), st.floats(0.001, 100.0))
budgets = st.builds(Budget, max_tokens=limits, max_cost_usd=costs, max_steps=limits)


@given(agent=budgets, request=st.one_of(st.none(), budgets), max_steps=st.integers(1, 100))
def test_a_caller_can_only_tighten(agent: Budget, request: Budget | None, max_steps: int) -> None:
    budget = effective_budget(agent, request, max_steps)
    assert budget.max_steps is not None
    assert budget.max_steps <= max_steps
    for name in ("max_tokens", "max_cost_usd", "max_steps"):
        value, mine = getattr(budget, name), getattr(agent, name)
        if mine is not None:
            assert value is not None
            assert value <= mine
        if request is not None and getattr(request, name) is not None:
            assert value is not None
            assert value <= getattr(request, name)


def test_breaches_name_the_limit() -> None:
    budget = Budget(max_tokens=100, max_cost_usd=0.01, max_steps=3)
    assert spend_breach(budget, 100, 0.01) is None  # at the limit is within it
    over_tokens = spend_breach(budget, 101, 0.0)
    assert over_tokens is not None
    assert over_tokens.field == "budget.max_tokens"
    over_cost = spend_breach(budget, 1, 0.02)
    assert over_cost is not None
    assert over_cost.field == "budget.max_cost_usd"
    assert step_breach(budget, 2) is None
    assert step_breach(budget, 3) is not None
    assert spend_breach(Budget(), 10**9, 10**6) is None


def test_approval_grants_the_original_budget_again() -> None:
    original = Budget(max_tokens=100, max_steps=2, on_exceeded=BudgetAction.REVIEW)
    twice = extended(extended(original, original), original)
    assert (twice.max_tokens, twice.max_steps, twice.max_cost_usd) == (300, 6, None)


def test_prices() -> None:
    table = PriceTable(models={"m": ModelPrice(input_per_mtok=1.0, output_per_mtok=4.0)})
    assert table.model_cost("m", 1_000_000, 250_000) == 2.0
    assert table.model_cost("unknown", 1, 1) is None
    assert PriceTable(tool_seconds={"t": 0.5}).tool_cost("t", 2000) == 1.0
    assert DEFAULT_PRICES.model_cost("scripted-1", 1000, 1000) is not None


def test_ledger_accumulates_and_breaches_after_the_crossing_call() -> None:
    from agentrun.contracts.model import TokenUsage
    from agentrun.logic.budget import RunLedger

    ledger = RunLedger()
    ledger.set_budget(Budget(max_tokens=100, on_exceeded=BudgetAction.REVIEW))
    ledger.model_call(TokenUsage(input_tokens=60, output_tokens=40), 0.01)
    ledger.tool_call()
    ledger.tool_cost(0.002)
    assert ledger.spend_breach() is None
    ledger.model_call(TokenUsage(input_tokens=1, output_tokens=0), 0.0)
    assert ledger.spend_breach() is not None
    assert (ledger.usage.model_calls, ledger.usage.tool_calls) == (2, 1)
    assert ledger.usage.cost_usd == 0.012
    ledger.extend()
    assert ledger.budget.max_tokens == 200
    assert ledger.spend_breach() is None


def test_dated_snapshots_and_cached_tokens_are_priced() -> None:
    """Providers answer with dated model names, and bill cache reads lower."""
    mini = DEFAULT_PRICES.price_of("gpt-4o-mini-2024-07-18")
    assert mini is not None
    assert mini == DEFAULT_PRICES.models["gpt-4o-mini"]  # not gpt-4o's price
    assert DEFAULT_PRICES.price_of("gpt-4o-2024-08-06") == DEFAULT_PRICES.models["gpt-4o"]
    assert DEFAULT_PRICES.price_of("claude-sonnet-4-5-20250929") is not None
    assert DEFAULT_PRICES.price_of("gpt-4") is None
    full = DEFAULT_PRICES.model_cost("gpt-4o-mini", 1_000_000, 0)
    half_cached = DEFAULT_PRICES.model_cost(
        "gpt-4o-mini", 1_000_000, 0, cached_input_tokens=500_000
    )
    assert full == pytest.approx(0.15)
    assert half_cached == pytest.approx(0.075 + 0.0375)
