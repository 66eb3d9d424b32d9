"""The Temporal UI's "current details" text for a run: what an operator needs at a glance."""

from collections.abc import Sequence

from agentrun.contracts.review import PendingReview
from agentrun.contracts.runs import ChildRun, Failure, Usage
from agentrun.contracts.states import RunState


def current_details(
    *,
    state: RunState,
    agent: str,
    version: str | None,
    step: int,
    max_steps: int | None,
    usage: Usage,
    last_tool: str | None,
    pending: PendingReview | None,
    failure: Failure | None,
    children: Sequence[ChildRun] = (),
) -> str:
    lines = [f"**{state.value}** · {agent}@{version or '?'}"]
    if max_steps is not None:
        lines.append(
            f"step {step}/{max_steps} · tools called {usage.tool_calls}"
            f" · {usage.tokens.total} tokens · ${usage.cost_usd:.4f}"
        )
    if last_tool:
        lines.append(f"last tool: {last_tool}")
    if pending is not None:
        who = ", ".join(pending.reviewers) or "nobody"
        lines.append(
            f"waiting for review {pending.review_id} by {who}"
            f" until {pending.deadline.isoformat(timespec='seconds')} ({pending.reason})"
        )
    lines += [_child_line(child) for child in children if not child.state.terminal]
    if failure is not None:
        lines.append(f"failed: {failure.category.value}: {failure.message}")
    return "\n".join(lines)


def _child_line(child: ChildRun) -> str:
    """A running child (an agent called as a tool); a review it waits for is the parent's too."""
    line = f"child {child.run_id} ({child.agent}, tool {child.tool}): {child.state.value}"
    pending = child.pending_review
    if pending is None:
        return line
    who = ", ".join(pending.reviewers) or "nobody"
    whose = f" in {child.waiting_on}" if child.waiting_on else ""
    return (
        f"{line}, waiting for review {pending.review_id}{whose} by {who}"
        f" until {pending.deadline.isoformat(timespec='seconds')}"
    )
