"""Tool contracts at run time: retries, permanent errors, fallbacks, violations, guards."""

from agentrun.client import AgentRunClient
from agentrun.contracts import FailureCategory, RunRequest, RunState
from agentrun.contracts.runs import RunResult, RunStatus
from tests.support.waiting import eventually


async def _run(runs: AgentRunClient, agent: str, **input_: object) -> tuple[RunResult, RunStatus]:
    run_id = await runs.start(RunRequest(agent=agent, input=input_))
    result = await runs.result(run_id)
    return result, await runs.status(run_id)


async def test_503_then_success_is_retried_and_attempts_counted(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "flaky", key="a")
    assert result.state is RunState.COMPLETED
    assert result.output == {"value": "a@attempt2"}
    [call] = status.tool_calls
    assert (call.tool, call.status, call.attempts) == ("flaky_read", "success", 2)


async def test_retries_exhausted_fail_with_category(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "flaky-exhausted", key="b")
    assert result.failure is not None
    assert result.failure.category is FailureCategory.TOOL_ERROR_EXHAUSTED
    [call] = status.tool_calls
    assert (call.status, call.attempts, call.error_class, call.retryable) == (
        "error",
        3,
        "http_503",
        True,
    )


async def test_permanent_4xx_is_not_retried(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "strict", key="c")
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.TOOL_ERROR_PERMANENT
    [call] = status.tool_calls
    assert (call.attempts, call.error_class, call.retryable) == (1, "http_404", False)


async def test_non_idempotent_tool_is_never_blindly_retried(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "unsafe", key="d")
    assert result.failure is not None
    assert result.failure.category is FailureCategory.TOOL_ERROR_PERMANENT
    [call] = status.tool_calls
    assert call.attempts == 1
    assert call.error_class == "http_503"


async def test_timeout_switches_to_fallback(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "slow", key="e")
    assert result.state is RunState.COMPLETED
    assert result.output == {"value": "from-fallback"}
    primary, fallback = status.tool_calls
    assert (primary.tool, primary.status, primary.error_class) == ("slow_read", "error", "timeout")
    assert (fallback.tool, fallback.fallback_for, fallback.status) == (
        "fast_read",
        "slow_read",
        "success",
    )


async def test_malformed_tool_output_is_a_contract_violation(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "malformed", key="f")
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.CONTRACT_VIOLATION
    assert "data.value" in result.failure.message
    assert status.output is None  # never reached the model


async def test_invalid_input_fails_naming_the_field(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "refund", order_id="abc", reason="x", amount=5)
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.INVALID_INPUT
    assert result.failure.field == "input.order_id"
    assert [t.target for t in status.transitions] == [
        RunState.INIT,
        RunState.PREPARING,
        RunState.FAILED,
    ]


async def test_unknown_agent_is_a_clear_error(runs: AgentRunClient) -> None:
    result, _ = await _run(runs, "no-such-agent")
    assert result.failure is not None
    assert result.failure.category is FailureCategory.INVALID_INPUT
    assert result.failure.field == "agent"
    assert "unknown agent 'no-such-agent'" in result.failure.message
    assert "refund" in result.failure.message


async def test_unknown_version_is_a_clear_error(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="echo", version="99", input={"key": "v"}))
    result = await runs.result(run_id)
    assert result.failure is not None
    assert result.failure.field == "version"
    assert "no version '99'" in result.failure.message


async def test_max_steps_ends_the_run(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "long", key="g")
    assert result.failure is not None
    assert result.failure.category is FailureCategory.BUDGET_EXCEEDED
    assert status.step == 3
    assert len(status.tool_calls) == 3


async def test_loop_detection_stops_repeated_identical_calls(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "looping", key="h")
    assert result.failure is not None
    assert result.failure.category is FailureCategory.LOOP_DETECTED
    assert len(status.tool_calls) == 2  # the third identical call never ran


async def test_tool_outside_allow_list_is_denied(runs: AgentRunClient) -> None:
    result, status = await _run(runs, "forbidden", key="delete_everything")
    assert result.failure is not None
    assert result.failure.category is FailureCategory.POLICY_DENIED
    assert "delete_everything" in result.failure.message
    assert status.tool_calls == []


async def test_shipping_503_is_retried_and_a_dead_carrier_falls_back(runs: AgentRunClient) -> None:
    for order, expected_source, attempts in (("1002", "live", 2), ("1003", "cache", 3)):
        run_id = await runs.start(
            RunRequest(agent="refund", input={"order_id": order, "reason": "late", "amount": 20})
        )
        status = await _wait_tools(runs, run_id, 2)
        calls = [c for c in status.tool_calls if c.tool.startswith("get_shipping_status")]
        assert calls[0].attempts == attempts
        if expected_source == "cache":
            assert calls[0].status == "error"
            assert calls[1].tool == "get_shipping_status_cached"
            assert calls[1].fallback_for == "get_shipping_status"
        else:
            assert calls[0].status == "success"
        await runs.cancel(run_id)


async def _wait_tools(runs: AgentRunClient, run_id: str, count: int) -> RunStatus:
    return await eventually(
        lambda: runs.status(run_id),
        lambda s: sum(1 for c in s.tool_calls if c.status == "success") >= count,
    )
