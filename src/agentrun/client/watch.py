"""Following a run as it moves: its status each time something a person would notice changes.

Polls the ``status`` query, which a worker answers from the run's memory, so one poll costs one
query and never a scan of the run's history or a visibility listing. Polls come fast right after
a change (a run that just moved usually moves again soon) and slow down while nothing changes (a
run waiting for a person may wait for days). One long poll for the run's end, which Temporal
holds open and answers when the run closes, wakes the watch the moment the run ends and notices
an end the run could not record itself (a termination, a timeout by Temporal).
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentrun.client.errors import AgentRunError, RunNotFound
from agentrun.contracts.runs import RunResult, RunStatus, Usage
from agentrun.contracts.states import Transition

if TYPE_CHECKING:
    from agentrun.client.runs import AgentRunClient

FASTEST_POLL_S = 0.2
SLOWEST_POLL_S = 2.0
BACKOFF = 1.5
# A status query waits for a worker to answer it: without one it waits until the server gives up.
QUERY_TIMEOUT_S = 10.0
# A worker restart (a deploy) leaves queries unanswered for a while; a longer silence is a fault.
PATIENCE_S = 60.0

# What a watcher notices; the rest (governance events, trust labels) is in the full status.
WATCHED_FIELDS = frozenset(
    {
        "state",
        "transitions",
        "step",
        "tool_calls",
        "pending_review",
        "reviews",
        "rejected_reviews",
        "usage",
        "failure",
        "output",
        "running",
        "children",
    }
)


def watched(status: RunStatus) -> dict[str, Any]:
    """The part of a status whose change is worth a new yield."""
    return status.model_dump(include=set(WATCHED_FIELDS))


async def watch_run(
    client: "AgentRunClient",
    run_id: str,
    *,
    task_queue: str,
    fastest_s: float = FASTEST_POLL_S,
    slowest_s: float = SLOWEST_POLL_S,
    query_timeout_s: float = QUERY_TIMEOUT_S,
    patience_s: float = PATIENCE_S,
) -> AsyncIterator[RunStatus]:
    """The run's status now, then again each time it changes; the last one yielded is terminal.

    Raises :class:`AgentRunError` when there is no such run, when the first status query goes
    unanswered for ``query_timeout_s`` (no worker), or when later ones go unanswered for
    ``patience_s``.
    """
    current = await status_within(client, run_id, query_timeout_s, task_queue)
    yield current
    if current.state.terminal:
        return
    poller = _Poller(client, run_id, task_queue, min(query_timeout_s, patience_s), patience_s)
    ended = asyncio.ensure_future(client.result(run_id))
    delay = fastest_s
    try:
        while not current.state.terminal:
            await _pause(ended, delay)
            latest = await poller.poll(current, _result(ended))
            if watched(latest) == watched(current):
                delay = min(delay * BACKOFF, slowest_s)
                continue
            current, delay = latest, fastest_s
            yield current
    finally:
        ended.cancel()  # the watcher may stop early; a finished wait's error is not news either
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await ended


async def _pause(ended: "asyncio.Future[RunResult]", delay: float) -> None:
    """``delay``, cut short when the run ends (then the next poll is its last)."""
    if not ended.done():
        await asyncio.wait({ended}, timeout=delay)
    elif ended.exception() is not None:  # the polls still see the end, only later
        await asyncio.sleep(delay)


def _result(ended: "asyncio.Future[RunResult]") -> RunResult | None:
    return ended.result() if ended.done() and ended.exception() is None else None


@dataclass
class _Poller:
    client: "AgentRunClient"
    run_id: str
    task_queue: str
    timeout_s: float
    patience_s: float
    answered_at: float = field(default_factory=time.monotonic)

    async def poll(self, current: RunStatus, result: RunResult | None) -> RunStatus:
        """The run's status now; ``current`` while it does not answer (a worker restarting);
        ended as ``result`` says when Temporal has closed it."""
        try:
            latest = await asyncio.wait_for(self.client.status(self.run_id), self.timeout_s)
        except RunNotFound:
            raise
        except (AgentRunError, TimeoutError):
            if result is not None:  # ended, and no worker to replay it: the result says how
                return _ended(current, result)
            if time.monotonic() - self.answered_at > self.patience_s:
                raise AgentRunError(
                    f"run {self.run_id} has not answered its status query for "
                    f"{self.patience_s:g} s; is a worker running on task queue "
                    f"{self.task_queue!r}?"
                ) from None
            return current
        self.answered_at = time.monotonic()
        if result is not None and not latest.state.terminal:
            return _ended(latest, result)  # Temporal ended it behind the run's back
        return latest


async def status_within(
    client: "AgentRunClient", run_id: str, timeout_s: float, task_queue: str
) -> RunStatus:
    """The run's status, or one line saying the likely cause when no worker answers in time
    (a query is answered by a worker: with none on the queue it waits without end)."""
    try:
        return await asyncio.wait_for(client.status(run_id), timeout_s)
    except TimeoutError:
        raise AgentRunError(
            f"run {run_id} did not answer its status query within {timeout_s:g} s; "
            f"is a worker running on task queue {task_queue!r}?"
        ) from None


def _ended(last: RunStatus, result: RunResult) -> RunStatus:
    """The last status seen, ended as the run's result says: for a run that Temporal closed
    (terminated, timed out) or that no worker is left to replay."""
    if last.state.terminal:
        return last
    reason = result.failure.message if result.failure is not None else None
    ending = Transition(source=last.state, target=result.state, at=datetime.now(UTC), reason=reason)
    return last.model_copy(
        update={
            "state": result.state,
            "transitions": [*last.transitions, ending],
            "pending_review": None,
            "failure": result.failure,
            "output": result.output if result.output is not None else last.output,
            "usage": result.usage if result.usage != Usage() else last.usage,
        }
    )
