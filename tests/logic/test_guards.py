"""Loop detection, approval rules, review routing and reviewer authorisation."""

from agentrun.contracts.agents import ReviewMode, ReviewPolicy
from agentrun.contracts.names import ErrorType
from agentrun.contracts.states import FailureCategory
from agentrun.contracts.tools import ToolContract
from agentrun.logic.failures import classify_tool_failure
from agentrun.logic.guards import LoopDetector, approval_reason, review_reason, reviewer_refusal


def _contract(**kw: object) -> ToolContract:
    return ToolContract.model_validate(
        {"name": "t", "description": "", "input_schema": {}, "output_schema": {}, **kw}
    )


def test_loop_detector_counts_identical_calls_only() -> None:
    loops = LoopDetector(threshold=3)
    assert not loops.record("a", {"x": 1, "y": 2})
    assert not loops.record("a", {"y": 2, "x": 1})
    assert not loops.record("a", {"x": 2, "y": 2})
    assert loops.record("a", {"x": 1, "y": 2})


def test_approval_above_threshold_and_always() -> None:
    refund = _contract(approval_above={"amount": 100})
    assert approval_reason(refund, {"amount": 100}) is None
    assert approval_reason(refund, {"amount": 100.01}) == "t.amount=100.01 is above 100"
    assert approval_reason(refund, {"amount": "1000"}) is None  # schema validation rejects it later
    assert approval_reason(refund, {"amount": True}) is None
    assert approval_reason(_contract(requires_approval=True), {}) == "t always requires approval"


def test_review_routing() -> None:
    always = ReviewPolicy(mode=ReviewMode.ALWAYS)
    assert review_reason(always, 1.0, 0.99) is not None
    low = ReviewPolicy(mode=ReviewMode.LOW_CONFIDENCE, confidence_threshold=0.7, sample_rate=0.01)
    assert review_reason(low, 0.5, 0.5) is not None
    assert review_reason(low, 0.9, 0.5) is None
    assert review_reason(low, 0.9, 0.005) == "quality sample (1% of runs)"
    never = ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0)
    assert review_reason(never, 0.0, 0.0) is None


def test_reviewer_authorisation_fails_closed() -> None:
    assert reviewer_refusal("alice", ("alice",)) is None
    assert reviewer_refusal("mallory", ("alice", "bob")) is not None
    assert reviewer_refusal("alice", ()) == "no reviewers are configured for this review"


def test_tool_failure_classification() -> None:
    violation = classify_tool_failure(
        error_type=ErrorType.CONTRACT_VIOLATION,
        non_retryable=True,
        timed_out=False,
        retries_exhausted=False,
        error_class=None,
        attempt=None,
        max_attempts=3,
    )
    assert violation.category is FailureCategory.CONTRACT_VIOLATION
    assert not violation.fallback_eligible
    timeout = classify_tool_failure(
        error_type=None,
        non_retryable=False,
        timed_out=True,
        retries_exhausted=True,
        error_class=None,
        attempt=None,
        max_attempts=3,
    )
    assert (timeout.category, timeout.fallback_eligible, timeout.attempts) == (
        FailureCategory.TOOL_ERROR_EXHAUSTED,
        True,
        3,
    )
    invalid = classify_tool_failure(
        error_type=ErrorType.INVALID_PARAMS,
        non_retryable=True,
        timed_out=False,
        retries_exhausted=False,
        error_class=None,
        attempt=None,
        max_attempts=3,
    )
    assert invalid.category is None
    permanent = classify_tool_failure(
        error_type=ErrorType.TOOL_REJECTED,
        non_retryable=True,
        timed_out=False,
        retries_exhausted=False,
        error_class="http_404",
        attempt=1,
        max_attempts=3,
    )
    assert (permanent.category, permanent.error_class) == (
        FailureCategory.TOOL_ERROR_PERMANENT,
        "http_404",
    )
