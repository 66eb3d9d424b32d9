"""``agentrun report``'s cost per root run: what each top-level request cost, team and all.

A run that calls agents as tools (docs/teams.md) records, as its usage, its own spend plus what
its children reported (each child's including its own children's). So the root run's row holds
the whole team's spend, each run's counted once, and that is the figure used here; summing the
rows of a team would count every child twice or more. Runs recorded before teams existed (no
``root_run_id``) are their own root.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

TOP_ROOTS = 10


class RootRunCost(BaseModel):
    """One root run: its team's size and spend (the root row's usage)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    agent: str
    state: str
    started_at: datetime
    runs: int  # itself and every run below it
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class TeamTotals(BaseModel):
    """From the store: the root runs started in the window (of the report's agent, if any)."""

    model_config = ConfigDict(frozen=True)

    roots: int = 0
    teams: int = 0  # roots that called at least one agent
    runs: int = 0  # runs in those roots' trees, the roots included
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    top: list[RootRunCost] = Field(default_factory=list)  # the costliest, TOP_ROOTS at most


class TeamLayer(TeamTotals):
    """The report's figure: the totals, and per root run on average."""

    cost_per_root_usd: float | None = None
    tokens_per_root: float | None = None
