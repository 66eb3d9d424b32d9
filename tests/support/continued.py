"""A run that continued as new, execution by execution (docs/lifecycle.md)."""

from temporalio.client import Client, WorkflowHistory

from agentrun.client.histories import executions
from agentrun.contracts.carry import CarriedRun
from agentrun.contracts.runs import RunRequest

__all__ = ["carried_in", "executions"]


def carried_in(history: WorkflowHistory, client: Client) -> CarriedRun | None:
    """What the execution began with: None for the first, the carried state for the others."""
    [payload] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    request = client.data_converter.payload_converter.from_payload(payload, RunRequest)
    return request.carried
