"""What ``agentrun reconcile`` found and did: the store brought back in line with Temporal."""

from pydantic import BaseModel


class ReconcileReport(BaseModel):
    dry_run: bool
    # Runs the store shows as not finished, old enough to look at.
    checked: int
    # Runs whose stored record lagged their status in Temporal (rewritten unless a dry run).
    rewritten: list[str]
    # Runs the store and Temporal agree on.
    in_step: int
    # Runs Temporal no longer knows (removed by its own retention) or would not answer.
    unreachable: dict[str, str]
