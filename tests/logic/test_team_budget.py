"""Children's budget shares and their spend on the parent's ledger (logic.budget)."""

import pytest

from agentrun.contracts.agents import Budget, BudgetAction
from agentrun.contracts.model import TokenUsage
from agentrun.contracts.runs import Usage
from agentrun.logic.budget import RunLedger, added, child_share


def _usage(tokens: int, cost: float = 0.0) -> Usage:
    return Usage(model_calls=1, tokens=TokenUsage(input_tokens=tokens), model_cost_usd=cost)


@pytest.mark.parametrize("ways", [1, 2, 3, 7])
def test_shares_never_add_up_to_more_than_is_left(ways: int) -> None:
    budget = Budget(max_tokens=10_000, max_cost_usd=1.0, max_steps=20)
    committed_tokens, committed_cost = 1_234, 0.25
    shares = []
    for left in range(ways, 0, -1):  # as a step starts them: each takes its part of the rest
        share = child_share(budget, committed_tokens, committed_cost, left, steps_taken=3)
        assert isinstance(share, Budget)
        shares.append(share)
        committed_tokens += share.max_tokens or 0
        committed_cost += share.max_cost_usd or 0.0
    assert sum(s.max_tokens or 0 for s in shares) <= 10_000 - 1_234
    assert sum(s.max_cost_usd or 0.0 for s in shares) <= 0.75 + 1e-9
    tokens = [s.max_tokens or 0 for s in shares]
    assert max(tokens) - min(tokens) <= 1
    for share in shares:
        assert share.max_steps == 17  # steps are per run: each child may take what is left
        assert share.on_exceeded is BudgetAction.FAIL  # never extended by a child's reviewer


def test_an_unlimited_measure_stays_unlimited() -> None:
    share = child_share(Budget(max_tokens=100), 0, 5.0, 2, steps_taken=0)
    assert share == Budget(max_tokens=50, on_exceeded=BudgetAction.FAIL)


@pytest.mark.parametrize(
    ("budget", "tokens", "cost", "steps", "reason"),
    [
        (Budget(max_tokens=100), 100, 0.0, 0, "no tokens left"),
        (Budget(max_tokens=100), 99, 0.0, 0, "no tokens left"),  # 1 token for 2 ways: 0 each
        (Budget(max_cost_usd=0.5), 0, 0.5, 0, "no cost left"),
        (Budget(max_steps=4), 0, 0.0, 4, "no steps left"),
    ],
)
def test_nothing_left_is_a_reason_not_a_share(
    budget: Budget, tokens: int, cost: float, steps: int, reason: str
) -> None:
    share = child_share(budget, tokens, cost, 2, steps_taken=steps)
    assert isinstance(share, str)
    assert reason in share


def test_children_spend_counts_against_the_budget_once_each() -> None:
    ledger = RunLedger()
    ledger.set_budget(Budget(max_tokens=1_000))
    ledger.model_call(TokenUsage(input_tokens=300), 0.01)
    ledger.charge_child("c1", _usage(200))
    ledger.charge_child("c1", _usage(400))  # a later report of the same child replaces it
    ledger.charge_child("c2", _usage(250))
    assert ledger.total().tokens.total == 300 + 400 + 250
    assert ledger.usage.tokens.total == 300  # its own spend, apart
    assert ledger.spend_breach() is None
    ledger.charge_child("c2", _usage(301))
    breach = ledger.spend_breach()
    assert breach is not None
    assert breach.field == "budget.max_tokens"


def test_an_older_report_does_not_undo_a_newer_one() -> None:
    ledger = RunLedger()
    ledger.charge_child("c1", _usage(400, 0.2))
    ledger.charge_child("c1", _usage(200, 0.1))  # signals arriving late: ignored
    assert ledger.total().tokens.total == 400
    assert ledger.total().cost_usd == pytest.approx(0.2)


def test_added_sums_every_measure() -> None:
    a = Usage(model_calls=1, tool_calls=2, tokens=TokenUsage(input_tokens=3, output_tokens=4))
    b = Usage(model_calls=10, tool_calls=20, model_cost_usd=0.5, tool_cost_usd=0.25)
    total = added(a, b)
    assert (total.model_calls, total.tool_calls, total.tokens.total) == (11, 22, 7)
    assert total.cost_usd == pytest.approx(0.75)
