"""The typed client for services: start runs, read status and results, review, cancel, list.

Every error a caller can cause (unknown run, ended run, refused review, reused request id, bad
filter, unreachable server) is an :class:`AgentRunError` with a one-line message; Temporal's
exception types stay inside.
"""

from agentrun.client.connection import connect
from agentrun.client.errors import AgentRunError, IdempotencyConflict, RunClosed, RunNotFound
from agentrun.client.metadata import runs_query
from agentrun.client.runs import AgentRunClient

__all__ = [
    "AgentRunClient",
    "AgentRunError",
    "IdempotencyConflict",
    "RunClosed",
    "RunNotFound",
    "connect",
    "runs_query",
]
