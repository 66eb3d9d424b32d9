"""Budgets at run time: the run stops at the first call over the limit, never one step late."""

from agentrun.client import AgentRunClient
from agentrun.contracts import Budget, Decision, FailureCategory, ReviewDecision, RunRequest
from agentrun.contracts.runs import RunStatus
from tests.support.waiting import eventually, wait_for_review


async def _finished(runs: AgentRunClient, budget: Budget, agent: str = "budgeted") -> RunStatus:
    run_id = await runs.start(RunRequest(agent=agent, input={"key": "b"}, budget=budget))
    await runs.result(run_id)
    return await runs.status(run_id)


async def test_token_and_cost_budgets_stop_at_the_breaching_call(runs: AgentRunClient) -> None:
    # Spend after exactly k model calls, measured with step budgets (deterministic model).
    after = [await _finished(runs, Budget(max_steps=k)) for k in (2, 3)]
    tokens2, tokens3 = (s.usage.tokens.total for s in after)
    cost2, cost3 = (s.usage.cost_usd for s in after)
    assert tokens3 > tokens2 > 0
    assert cost3 > cost2 > 0

    for budget, field in (
        (Budget(max_tokens=tokens2 + 1), "budget.max_tokens"),
        (Budget(max_cost_usd=(cost2 + cost3) / 2), "budget.max_cost_usd"),
    ):
        status = await _finished(runs, budget)
        assert status.failure is not None
        assert status.failure.category is FailureCategory.BUDGET_EXCEEDED
        assert status.failure.field == field
        assert status.usage.model_calls == 3  # the third call crossed the limit ...
        assert len(status.tool_calls) == 2  # ... and the tool it asked for never ran
        assert status.budget == budget.model_copy(update={"max_steps": 10})


async def test_a_caller_cannot_loosen_the_agent_budget(runs: AgentRunClient) -> None:
    run_id = await runs.start(
        RunRequest(agent="budget-review", input={"key": "x"}, budget=Budget(max_steps=50))
    )
    status = await wait_for_review(runs, run_id, kind="budget")
    assert status.usage.model_calls == 2
    assert status.budget is not None
    assert status.budget.max_steps == 2
    await runs.cancel(run_id)


async def test_budget_review_extends_once_per_approval(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="budget-review", input={"key": "r"}))
    first = await wait_for_review(runs, run_id, kind="budget")
    assert first.pending_review is not None
    assert "step limit reached: 2" in first.pending_review.reason
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
    second = await eventually(
        lambda: runs.status(run_id),
        lambda s: (
            s.pending_review is not None and s.pending_review.review_id.startswith("budget-2-")
        ),
    )
    assert second.usage.model_calls == 4
    assert second.budget is not None
    assert second.budget.max_steps == 4
    await runs.review(
        run_id, ReviewDecision(decision=Decision.REJECT, reviewer="bob", comment="too costly")
    )
    result = await runs.result(run_id)
    assert result.failure is not None
    assert result.failure.category is FailureCategory.BUDGET_EXCEEDED
    assert "too costly" in result.failure.message
