"""The exception that ends a run as FAILED with a category."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.runs import Failure
    from agentrun.contracts.states import FailureCategory


class RunFailure(Exception):
    def __init__(self, category: FailureCategory, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.failure = Failure(category=category, message=message, field=field)
