"""The exception a tool raises to say how it failed: the one error type of the tool-author API."""


class ToolError(Exception):
    """A failure with an HTTP-like status: 408, 425, 429 and 5xx are retried per the tool's
    contract, any other status is permanent (``tool_error_permanent``).

    ``retryable`` overrides the status-based class when the tool knows better (a 503 that will
    not clear, a 400 caused by a race that will).
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, retryable: bool | None = None
    ):
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
