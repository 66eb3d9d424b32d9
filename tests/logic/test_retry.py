"""Contract -> retry policy, and exception -> error class: pure functions, property-tested."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from agentrun.activities import model, tools
from agentrun.contracts.names import ErrorType
from agentrun.contracts.tools import RetrySpec, SideEffect, ToolContract
from agentrun.logic.retry import (
    HEARTBEAT_TIMEOUT,
    activity_options,
    classify_exception,
    classify_status,
    effective_error,
    may_retry,
)
from agentrun.settings import Settings
from agentrun.workflows.options import MODEL_HEARTBEAT_TIMEOUT, MODEL_RETRY

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
    assert (options.heartbeat_timeout is not None) == (contract.timeout > HEARTBEAT_TIMEOUT)


@given(contracts)
def test_a_dead_worker_is_noticed_within_the_heartbeat_timeout_whatever_the_tools_timeout(
    contract: ToolContract,
) -> None:
    """A worker killed mid-call is noticed by the heartbeat timeout, or sooner by the call's own
    timeout: never later than HEARTBEAT_TIMEOUT, however long the tool may take."""
    options = activity_options(contract)
    noticed = options.heartbeat_timeout or options.start_to_close_timeout
    assert noticed <= HEARTBEAT_TIMEOUT
    assert noticed <= options.start_to_close_timeout


def test_a_killed_workers_calls_are_retried_within_five_seconds() -> None:
    """The recovery target (docs/performance.md): the heartbeat timeout, the first retry
    interval and then the wait on the dead worker's sticky queue for the run's next workflow task
    add up to at most 5 s, for a default tool and for the model (bench.kill_recovery measures
    them; this keeps a change of one from silently breaking the sum)."""
    sticky = timedelta(seconds=Settings().sticky_queue_timeout_s)
    assert HEARTBEAT_TIMEOUT + RetrySpec().initial_interval + sticky <= timedelta(seconds=5)
    assert MODEL_RETRY.initial_interval is not None
    assert MODEL_HEARTBEAT_TIMEOUT + MODEL_RETRY.initial_interval + sticky <= timedelta(seconds=5)


def test_activities_beat_several_times_per_heartbeat_timeout() -> None:
    """A late beat or two (a busy event loop) must not pass for a dead worker."""
    assert HEARTBEAT_TIMEOUT.total_seconds() >= tools.HEARTBEAT_EVERY_S * 3
    assert MODEL_HEARTBEAT_TIMEOUT.total_seconds() >= model.HEARTBEAT_EVERY_S * 3


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
