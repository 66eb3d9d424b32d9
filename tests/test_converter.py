"""The data converter: payloads that do not fit their type, and which failures keep a stack."""

import pytest
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from agentrun.contracts.names import ErrorType
from agentrun.contracts.review import ReviewDecision
from agentrun.contracts.runs import RunRequest
from agentrun.converter import DATA_CONVERTER, RunFailureConverter


def _throw(error: BaseException) -> None:
    raise error


def _raised(error: BaseException) -> BaseException:
    """The error with a traceback, as the workflow's raise gives it one."""
    try:
        _throw(error)
    except BaseException as caught:  # noqa: BLE001 -- the point is to have a traceback
        return caught
    raise AssertionError("unreachable")


def _failure(error: BaseException) -> Failure:
    failure = Failure()
    RunFailureConverter().to_failure(_raised(error), DATA_CONVERTER.payload_converter, failure)
    return failure


def test_a_payload_that_does_not_fit_is_one_line_naming_the_field() -> None:
    converter = DATA_CONVERTER.payload_converter
    [payload] = converter.to_payloads([{"agent": "refund", "input": [], "tenant_id": ""}])
    with pytest.raises(ApplicationError) as refused:
        converter.from_payloads([payload], [RunRequest])
    assert refused.value.type == ErrorType.INVALID_PAYLOAD
    assert refused.value.non_retryable
    assert refused.value.message == (
        "invalid RunRequest: input: Input should be an object (and 1 more)"
    )
    [decision] = converter.to_payloads([{"decision": "edit", "reviewer": "a"}])
    with pytest.raises(ApplicationError) as edit:
        converter.from_payloads([decision], [ReviewDecision | None])  # type: ignore[list-item]
    assert edit.value.message == "invalid ReviewDecision: output: required when decision is 'edit'"


def test_business_failures_lose_their_stack_internal_ones_keep_it() -> None:
    business = _failure(ApplicationError("review_rejected: no", type="review_rejected"))
    assert business.stack_trace == ""
    assert business.message == "review_rejected: no"
    internal = _failure(ApplicationError("internal: bug", type="internal"))
    assert "_throw" in internal.stack_trace
    crash = _failure(KeyError("bug"))
    assert "_throw" in crash.stack_trace
