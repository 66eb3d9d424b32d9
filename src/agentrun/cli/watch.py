"""``agentrun watch RUN_ID`` and ``agentrun run --watch``: a run followed live, line by line.

Each line stands on its own (the state the run was in, then what happened), so a log or a
``grep`` of the output reads as well as the terminal: the states the run went through, each tool
call as it finishes, reviews asked for and decided, and tokens and cost as they grow. The last
line is how the run ended; the exit code says it too, as for ``run --wait``.
"""

import asyncio
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.text import Text

from agentrun.cli.common import (
    AddressOpt,
    JsonOpt,
    NamespaceOpt,
    build_settings,
    connection_options,
    fail,
    failure_line,
    guarded,
    open_client,
    out,
    require_run_id,
)
from agentrun.cli.render import duration, pending_review_line, state_text
from agentrun.client import AgentRunClient
from agentrun.contracts.runs import RunRequest, RunStatus
from agentrun.contracts.states import RunState
from agentrun.contracts.tools import ToolCallRecord
from agentrun.settings import Settings

LABEL_WIDTH = max(len(state.value) for state in RunState)
TOOL_STATUS = {"success": "ok"}

Line = tuple[RunState, str]
Item = TypeVar("Item", bound=BaseModel)


@guarded
def watch(
    *,
    run_id: Annotated[str, typer.Argument(help="The run to follow (its workflow id).")],
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Follow a run until it ends: states, tool calls, reviews, tokens and cost, one line each.

    Exits 0 when the run COMPLETED; when it FAILED or was CANCELLED, the last line says why on
    stderr and the exit code is 1. With --json: each new status as one JSON object per line.
    """
    require_run_id(run_id)
    settings = build_settings(address, namespace)
    asyncio.run(watch_existing(settings, run_id, json_output))


async def watch_existing(settings: Settings, run_id: str, json_output: bool) -> None:
    client = await open_client(settings)
    await follow(client, run_id, json_output, connection_options(settings))


async def start_and_watch(settings: Settings, request: RunRequest, json_output: bool) -> None:
    """``run --watch``: the run's id first, so a watch cut short can be picked up again."""
    client = await open_client(settings)
    run_id = await client.start(request)
    if not json_output:
        again = shlex.join(["agentrun", "watch", run_id, *connection_options(settings)])
        out.print(f"started run {run_id}; watch it again with: {again}", markup=False)
    await follow(client, run_id, json_output, connection_options(settings))


async def follow(
    client: AgentRunClient, run_id: str, json_output: bool, options: Sequence[str] = ()
) -> None:
    """Lines as the run moves, then its outcome as ``run --wait`` reports it (exit 1 unless it
    COMPLETED); ``options`` make printed commands reach the same server."""
    previous: RunStatus | None = None
    async for status in client.watch(run_id):
        if json_output:
            sys.stdout.write(status.model_dump_json() + "\n")
            sys.stdout.flush()
        else:
            if previous is None:
                out.print(header(status), markup=False, highlight=False)
            for state, text in changes(previous, status, options):
                out.print(labelled(state, text), highlight=False)
        previous = status
    if previous is not None and previous.state is not RunState.COMPLETED:
        fail(failure_line(run_id, previous.state.value, previous.failure))


def header(status: RunStatus) -> str:
    agent = status.agent + (f"@{status.version}" if status.version else "")
    return f"watching run {status.run_id}: agent {agent}, tenant {status.tenant_id}"


def labelled(state: RunState, text: str) -> Text:
    """The state first, padded, so lines align in a terminal and stay greppable in a log."""
    label = state_text(state.value)
    label.pad_right(LABEL_WIDTH - len(state.value))
    return Text.assemble(label, "  ", " ".join(text.splitlines()))


def changes(
    previous: RunStatus | None, current: RunStatus, options: Sequence[str] = ()
) -> list[Line]:
    """What happened between two statuses, oldest first; everything so far for the first one.

    A poll may miss whole states (a run moves through PREPARING in milliseconds): the
    transitions, tool calls and reviews the run records say what happened in between, each
    labelled with the state the run was in at the time.
    """
    seen = previous or current.model_copy(
        update={
            "transitions": [],
            "tool_calls": [],
            "reviews": [],
            "rejected_reviews": [],
            "step": -1,
            "pending_review": None,
        }
    )
    events: list[tuple[datetime, int, Line]] = []
    for transition in added(seen.transitions, current.transitions):
        if not transition.target.terminal:
            text = transition.reason or "entered"
            events.append((transition.at, 1, (transition.target, text)))
    for call in added(seen.tool_calls, current.tool_calls, key=lambda call: call.call_id):
        line = f"step {call.step}  {tool_call_text(call)}"
        events.append((call.finished_at, 0, (state_before(current, call.finished_at), line)))
    for record in added(seen.reviews, current.reviews):
        auto = " (automatic)" if record.automatic else ""
        line = f"review {record.review_id} ({record.kind}): {record.said}{auto}"
        events.append((record.at, 0, (state_before(current, record.at), line)))
    for refused in added(seen.rejected_reviews, current.rejected_reviews):
        line = f"review decision by {refused.reviewer} refused: {refused.reason}"
        events.append((refused.at, 0, (state_before(current, refused.at), line)))
    lines = [line for _, _, line in sorted(events, key=lambda event: event[:2])]
    if current.state.terminal:
        return [*lines, (current.state, ending_text(current))]
    if current.step and (current.step != seen.step or current.usage != seen.usage):
        spent = f"  {usage_text(current)}" if current.usage.tokens.total else ""
        lines.append((current.state, f"step {current.step}{spent}"))
    if current.running and current.running != seen.running:
        lines.append((current.state, f"step {current.step}  calling {current.running}"))
    lines += child_lines(seen, current)
    pending = current.pending_review
    if pending is not None and pending != seen.pending_review:
        lines.append((current.state, pending_review_line(current.run_id, pending, options)))
    return lines


def child_lines(seen: RunStatus, current: RunStatus) -> list[Line]:
    """Each child (an agent called as a tool) as it starts, changes state, waits for a person
    and ends."""
    before = {child.run_id: child for child in seen.children}
    lines: list[Line] = []
    for child in current.children:
        known = before.get(child.run_id)
        pending = child.pending_review
        if known is None or known.state is not child.state:
            lines.append(
                (current.state, f"child {child.run_id} ({child.agent}): {child.state.value}")
            )
        if pending is not None and (known is None or known.pending_review != pending):
            who = ", ".join(pending.reviewers) or "nobody"
            where = child.waiting_on or child.run_id
            text = (
                f"child {child.run_id} waits for review {pending.review_id} in {where} by "
                f"{who} until {pending.deadline:%H:%M:%S} UTC"
            )
            lines.append((current.state, text))
    return lines


def added(
    before: Sequence[Item], after: Sequence[Item], key: Callable[[Item], object] = repr
) -> list[Item]:
    """The items of ``after`` not in ``before``, matched by content rather than position: a run
    that continued as new shows only its latest tool calls, so a list can lose its head."""
    known = {key(item) for item in before}
    return [item for item in after if key(item) not in known]


def state_before(status: RunStatus, at: datetime) -> RunState:
    """The state the run was in just before ``at``: a decision or a tool call that moved the
    run belongs to the state it moved it out of."""
    state = status.transitions[0].target if status.transitions else status.state
    for transition in status.transitions:
        if transition.at >= at:
            break
        state = transition.target
    return state


def tool_call_text(call: ToolCallRecord) -> str:
    attempts = f"{call.attempts} attempt" + ("" if call.attempts == 1 else "s")
    took = duration(call.finished_at - call.started_at)
    text = f"tool {call.tool} {TOOL_STATUS.get(call.status, call.status)} ({attempts}, {took})"
    if call.fallback_for:
        text += f", fallback for {call.fallback_for}"
    if call.approved_by:
        text += f", approved by {call.approved_by}"
    if call.error_class:
        text += f": {call.error_class}" + (f": {call.message}" if call.message else "")
    return text


def usage_text(status: RunStatus) -> str:
    usage = status.usage
    return f"{usage.tokens.total:,} tokens  ${usage.cost_usd:.4f}"


def ending_text(status: RunStatus) -> str:
    """Why it ended (the failure's category first, as ``run`` and ``status`` say it), then what
    it cost."""
    failure = status.failure
    if failure is not None:
        why = f"{failure.category.value}: {failure.message}"
    elif status.transitions and status.transitions[-1].reason:
        why = status.transitions[-1].reason
    else:
        why = f"step {status.step}"
    return f"{why}  {usage_text(status)}"
