"""A run's Temporal histories: one per execution, since a long run continues as new.

Each execution's history holds only what that execution did (docs/lifecycle.md); whatever reads
a run from history (``agentrun eval add-case``, tests, benchmarks) reads them all, in order.
"""

from temporalio.client import Client, WorkflowHistory


async def executions(client: Client, run_id: str) -> list[WorkflowHistory]:
    """The run's histories, first execution first (each names the one it continued). Raises
    the client's ``RPCError`` as fetching one history does (``NOT_FOUND``: no such run)."""
    chain = [await client.get_workflow_handle(run_id).fetch_history()]
    while True:
        started = chain[0].events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return chain
        earlier = client.get_workflow_handle(run_id, run_id=started.continued_execution_run_id)
        chain.insert(0, await earlier.fetch_history())
