"""``agentrun status``'s team section: the runs a run called as tools, and theirs, as a tree.

The tree comes from status queries, not from the run record: a query works whenever a worker
runs (the status shown was one), with the store on or off, and it is each run's own account.
A run's status lists only its own children, so each level asks its children for theirs, a few
at a time, at most ``MAX_TEAM_DEPTH`` levels down (a team cannot be deeper) and ``MAX_ASKED``
runs in all. A child that does not answer in time (or one past those bounds) is shown as its
parent last saw it, without its own children.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Group
from rich.text import Text

from agentrun.cli.render import pending_review_line, state_text
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts.review import PendingReview
from agentrun.contracts.runs import MAX_TEAM_DEPTH, ChildRun, RunStatus, Usage
from agentrun.contracts.states import RunState

CHILD_QUERY_TIMEOUT_S = 5.0
MAX_ASKED = 100  # status queries for one tree
PARALLEL_QUERIES = 8


@dataclass(frozen=True)
class Member:
    """A run below the one shown: as its parent saw it, and its own status when it answered."""

    child: ChildRun
    status: RunStatus | None
    depth: int  # 1: a child of the run shown

    @property
    def state(self) -> RunState:
        return self.status.state if self.status else self.child.state

    @property
    def usage(self) -> Usage:
        return self.status.usage if self.status else self.child.usage

    @property
    def pending(self) -> tuple[PendingReview, str] | None:
        """The review this run itself waits for, and the run to send the decision to. Without
        its own status, the one its parent saw: maybe a descendant's (``waiting_on``)."""
        if self.status is not None:
            own = self.status.pending_review
            return None if own is None else (own, self.status.run_id)
        seen = self.child.pending_review
        if seen is None or self.child.state.terminal:
            return None
        return seen, self.child.waiting_on or self.child.run_id


@dataclass
class _Asker:
    client: AgentRunClient
    left: int = MAX_ASKED
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(PARALLEL_QUERIES))

    async def status(self, run_id: str) -> RunStatus | None:
        if self.left <= 0:
            return None
        self.left -= 1
        async with self.gate:
            try:
                return await asyncio.wait_for(self.client.status(run_id), CHILD_QUERY_TIMEOUT_S)
            except (AgentRunError, TimeoutError):
                return None


async def team_tree(client: AgentRunClient, status: RunStatus) -> list[Member]:
    """The runs below ``status``'s run, depth first, each after its parent."""
    return await _below(_Asker(client), status, 1)


async def _below(asker: _Asker, status: RunStatus, depth: int) -> list[Member]:
    children = status.children
    own = await asyncio.gather(*(asker.status(child.run_id) for child in children))
    members = [Member(c, s, depth) for c, s in zip(children, own, strict=True)]
    deeper = await asyncio.gather(
        *(
            _below(asker, m.status, depth + 1)
            for m in members
            if m.status is not None and m.status.children and depth < MAX_TEAM_DEPTH
        )
    )
    subtrees = iter(deeper)
    tree: list[Member] = []
    for m in members:
        tree.append(m)
        if m.status is not None and m.status.children and depth < MAX_TEAM_DEPTH:
            tree += next(subtrees)
    return tree


def member_line(member: Member, options: Sequence[str] = ()) -> Text:
    """One run of the tree, indented under its parent, whole on one line (ids never fold, and
    a ``grep`` finds it): what it is, where it is, what it spent, what it waits for."""
    child = member.child
    usage = member.usage
    line = Text("  " * member.depth + "└ ")
    line.append(child.run_id, style="bold")
    agent = f"{child.agent}@{child.version}" if child.version else child.agent
    handoff = " (hand-off)" if child.handoff else ""
    line.append(f"  {agent} · tool {child.tool}{handoff} · ")
    line.append_text(state_text(member.state.value))
    line.append(f" · {usage.tokens.total:,} tokens · ${usage.cost_usd:,.4f}")
    waiting = member.pending
    failure = member.status.failure if member.status else member.child.failure
    if waiting is not None:
        pending, run_id = waiting
        line.append(" · ")
        line.append(pending_review_line(run_id, pending, options), style="yellow")
    elif failure is not None and member.state.terminal:
        line.append(f" · {failure.category.value}: {failure.message}", style="red")
    return line


def team_view(members: Sequence[Member], options: Sequence[str] = ()) -> Group:
    """The tree, a line per run; a review a run waits for comes with the command deciding it."""
    title = Text.assemble(
        ("team", "bold"),
        f": {len(members)} run{'s' if len(members) != 1 else ''} below this one "
        "(each one's tokens and cost include the runs below it)",
    )
    return Group(title, *(member_line(member, options) for member in members))
