"""Contract -> retry policy, and exception -> error class: pure functions, property-tested."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from agentrun.contracts.names import ErrorType
from agentrun.contracts.tools import RetrySpec, SideEffect, ToolContract
from agentrun.logic.retry import (
    HEARTBEAT_AFTER,
    activity_options,
    classify_exception,
    classify_status,
    effective_error,
    may_retry,
)

SCHEMA: dict[str, object] = {"type": "object"}

contracts = st.builds(
    ToolContract,
    name=st.from_regex(r"^[a-z][a-z0-9_]{0,20}$", fullmatch=True),
    description=st.just("t"),
    input_schema=st.just(SCHEMA),
    output_schema=st.just(SCHEMA),
    side_effect=st.sampled_from(list(SideEffect)),
    accepts_idempotency_key=st.booleans(),
    timeout=st.timedeltas(min_value=timedelta(milliseconds=10), max_value=timedelta(minutes=10)),
    retry=st.builds(
        RetrySpec,
        max_attempts=st.integers(1, 100),
        initial_interval=st.timedeltas(timedelta(milliseconds=1), timedelta(seconds=60)),
        backoff=st.floats(1.0, 10.0),
        max_interval=st.timedeltas(timedelta(milliseconds=1), timedelta(minutes=10)),
    ),
)


@given(contracts)
def test_retry_policy_follows_the_contract(contract: ToolContract) -> None:
    options = activity_options(contract)
    policy = options.retry_policy
    assert options.start_to_close_timeout == contract.timeout
    assert policy.backoff_coefficient == contract.retry.backoff
    assert policy.maximum_interval is not None
    assert policy.maximum_interval >= policy.initial_interval
    if contract.side_effect is SideEffect.NON_IDEMPOTENT and not contract.accepts_idempotency_key:
        assert policy.maximum_attempts == 1
    else:
        assert policy.maximum_attempts == contract.retry.max_attempts
    assert (options.heartbeat_timeout is not None) == (contract.timeout > HEARTBEAT_AFTER)


@given(contracts, st.integers(100, 599))
def test_a_tool_that_may_not_retry_never_reports_retryable(
    contract: ToolContract, status: int
) -> None:
    error = effective_error(contract, classify_status(status))
    if not may_retry(contract):
        assert error.retryable is False


def test_status_codes_classify_as_the_contract_says() -> None:
    for code in (429, 502, 503, 504):
        err = classify_status(code)
        assert (err.error_type, err.retryable, err.error_class) == (
            ErrorType.TOOL_UNAVAILABLE,
            True,
            f"http_{code}",
        )
    for code in (400, 401, 403, 404, 409, 422):
        err = classify_status(code)
        assert (err.error_type, err.retryable) == (ErrorType.TOOL_REJECTED, False)


def test_timeouts_connection_errors_and_overrides() -> None:
    assert classify_exception(TimeoutError()).error_type == ErrorType.TOOL_TIMEOUT
    assert classify_exception(ConnectionRefusedError()).retryable is True
    assert classify_status(503, retryable=False).retryable is False
    assert classify_exception(KeyError("bug")).error_class == "KeyError"
