"""What ``run --wait`` shows while it waits: the run's state, its step, its pending review.

A run can wait minutes or days for a person, and a silent terminal looks hung. A line goes to
stderr only when what the run is at changes, so stdout keeps the result alone (with ``--json``:
one JSON document on stdout, and each progress line a JSON object on stderr).
"""

import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentrun.cli.common import err_console
from agentrun.cli.render import approve_command, pending_review_line
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts.runs import RunResult, RunStatus
from agentrun.contracts.states import RunState

POLL_S = 1.0
# A status query needs a worker; without one, say so while the wait goes on.
QUERY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Progress:
    """One line of progress, for people (``text``) and for scripts (``event``)."""

    text: str
    event: dict[str, Any]


def progress_of(status: RunStatus, options: Sequence[str] = ()) -> Progress | None:
    """None for an ended run: its result is what comes next, not a progress line."""
    if status.state.terminal:
        return None
    run_id = status.run_id
    event: dict[str, Any] = {
        "event": "progress",
        "run_id": run_id,
        "state": status.state.value,
        "step": status.step,
        "last_tool": status.tool_calls[-1].tool if status.tool_calls else None,
        "pending_review": None,
        "approve_command": None,
    }
    pending = status.pending_review
    if status.state is RunState.REVIEWING and pending is not None:
        event["pending_review"] = pending.model_dump(mode="json")
        if pending.reviewers:
            event["approve_command"] = approve_command(run_id, pending.reviewers[0], options)
        return Progress(f"run {run_id}: {pending_review_line(run_id, pending, options)}", event)
    text = f"run {run_id}: {status.state.value} at step {status.step}"
    if status.tool_calls:
        last = status.tool_calls[-1]
        text += f", last tool {last.tool} ({last.status})"
    return Progress(text, event)


def no_answer(run_id: str, reason: str) -> Progress:
    text = f"run {run_id}: no status yet: {reason}; still waiting for its result"
    return Progress(text, {"event": "no_status", "run_id": run_id, "reason": reason})


async def wait_showing_progress(
    client: AgentRunClient,
    run_id: str,
    *,
    task_queue: str,
    json_output: bool,
    options: Sequence[str] = (),
) -> RunResult:
    """The run's result; until it comes, a stderr line each time what the run is at changes."""
    result = asyncio.ensure_future(client.result(run_id))
    shown: str | None = None
    try:
        while not result.done():
            progress = await _poll(client, run_id, result, task_queue, options)
            if progress is not None and progress.text != shown:
                shown = progress.text
                _show(progress, json_output)
            await asyncio.wait({result}, timeout=POLL_S)
    finally:
        if not result.done():
            result.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await result
    return await result


async def _poll(
    client: AgentRunClient,
    run_id: str,
    result: "asyncio.Future[RunResult]",
    task_queue: str,
    options: Sequence[str],
) -> Progress | None:
    """The run's progress, or None when its result came first (nothing left to show)."""
    query = asyncio.ensure_future(asyncio.wait_for(client.status(run_id), QUERY_TIMEOUT_S))
    either: set[asyncio.Future[Any]] = {result, query}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if not query.done():
        query.cancel()
        with contextlib.suppress(asyncio.CancelledError, AgentRunError, TimeoutError):
            await query
        return None
    try:
        return progress_of(query.result(), options)
    except TimeoutError:
        reason = (
            f"no answer to its status query within {QUERY_TIMEOUT_S:g} s "
            f"(is a worker running on task queue {task_queue!r}?)"
        )
        return no_answer(run_id, reason)
    except AgentRunError as err:
        return no_answer(run_id, str(err))


def _show(progress: Progress, json_output: bool) -> None:
    if json_output:
        sys.stderr.write(json.dumps(progress.event) + "\n")
        sys.stderr.flush()
    else:
        err_console.print(progress.text, markup=False, highlight=False)
