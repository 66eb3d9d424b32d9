"""What a failed tool activity means for the run: fail, fall back, or hand back to the model."""

from dataclasses import dataclass

from agentrun.contracts.names import ErrorType
from agentrun.contracts.states import FailureCategory


@dataclass(frozen=True)
class ToolFailure:
    # None: not fatal; the error goes back to the model as the tool's answer.
    category: FailureCategory | None
    error_class: str
    retryable: bool
    attempts: int
    fallback_eligible: bool


def classify_tool_failure(
    *,
    error_type: str | None,
    error_class: str | None,
    non_retryable: bool,
    timed_out: bool,
    retries_exhausted: bool,
    attempt: int | None,
    max_attempts: int,
) -> ToolFailure:
    """Timeouts and exhausted retries may fall back; permanent errors and violations fail."""
    attempts = attempt or (max_attempts if retries_exhausted or timed_out else 1)
    if error_type == ErrorType.INVALID_PARAMS:
        return ToolFailure(None, "invalid_params", False, attempts, False)
    if error_type == ErrorType.CONTRACT_VIOLATION:
        return ToolFailure(
            FailureCategory.CONTRACT_VIOLATION, "contract_violation", False, attempts, False
        )
    if timed_out:
        return ToolFailure(FailureCategory.TOOL_ERROR_EXHAUSTED, "timeout", True, attempts, True)
    label = error_class or error_type or "unknown"
    if non_retryable:
        return ToolFailure(FailureCategory.TOOL_ERROR_PERMANENT, label, False, attempts, False)
    return ToolFailure(FailureCategory.TOOL_ERROR_EXHAUSTED, label, True, attempts, True)
