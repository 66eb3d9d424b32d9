"""Helpers for raising classified ApplicationErrors from activities."""

from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from agentrun.agents.errors import ToolError
from agentrun.contracts.tools import ToolErrorDetail
from agentrun.logic.retry import ErrorClass, classify_exception, classify_status


def first_problem(err: ValidationError, prefix: str = "") -> tuple[str, str]:
    """The first offending field (dotted path) and its message, for one-line errors."""
    problem = err.errors()[0]
    path = ".".join(str(p) for p in problem["loc"])
    field = f"{prefix}.{path}" if prefix and path else (prefix or path or "(root)")
    return field, problem["msg"]


def tool_failure(
    tool: str, error: ErrorClass, attempt: int, message: str, field: str | None = None
) -> ApplicationError:
    detail = ToolErrorDetail(
        tool=tool,
        error_class=error.error_class,
        retryable=error.retryable,
        attempt=attempt,
        status_code=error.status_code,
        field=field,
    )
    return ApplicationError(
        f"{tool}: {message}", detail, type=error.error_type, non_retryable=not error.retryable
    )


def classify(exc: BaseException) -> ErrorClass:
    """How a tool's exception is retried: by its status when the tool raised a ToolError."""
    if isinstance(exc, ToolError):
        return classify_status(exc.status_code, exc.retryable)
    return classify_exception(exc)
