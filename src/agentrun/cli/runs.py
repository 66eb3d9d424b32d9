"""The client-side commands (run, status, runs, review, cancel), below their typer signatures."""

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from agentrun.cli.common import (
    CliError,
    connection_options,
    emit_json,
    err_console,
    fail,
    failure_line,
    open_client,
    out,
    query_status,
    try_status,
)
from agentrun.cli.progress import wait_showing_progress
from agentrun.cli.render import pending_review_line, print_status, runs_table, state_text
from agentrun.cli.team_status import team_tree, team_view
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.client.watch import QUERY_TIMEOUT_S
from agentrun.contracts.review import ReviewAck, ReviewDecision
from agentrun.contracts.runs import RunRequest, RunResult, RunStatus
from agentrun.contracts.states import RunState
from agentrun.settings import Settings

# How long `run` (without --wait) watches a new run: long enough for PREPARING to reject an
# unknown agent or bad input, short enough to feel immediate.
SETTLE_TIMEOUT_S = 10.0
CANCEL_WAIT_S = 10.0
SIGNAL_OUTCOME_WAIT_S = 5.0
# A review is answered as soon as a worker takes it; like a status query, it needs one.
REVIEW_TIMEOUT_S = QUERY_TIMEOUT_S
EARLY_STATES = frozenset({RunState.INIT, RunState.PREPARING})


async def start_run(settings: Settings, request: RunRequest, wait: bool, json_output: bool) -> None:
    client = await open_client(settings)
    run_id = await client.start(request)
    if wait:
        result = await wait_showing_progress(
            client,
            run_id,
            task_queue=settings.task_queue,
            json_output=json_output,
            options=connection_options(settings),
        )
        report_result(result, json_output)
        return
    status = await settle(client, run_id)
    state = status.state if status else RunState.INIT
    if json_output:
        body: dict[str, Any] = {"run_id": run_id, "agent": request.agent, "state": state.value}
        if status is not None:
            body["failure"] = status.failure.model_dump(mode="json") if status.failure else None
            pending = status.pending_review
            body["pending_review"] = pending.model_dump(mode="json") if pending else None
        emit_json(body)
    else:
        out.print(f"run {run_id}: ", state_text(state.value), sep="")
    if status is None:
        err_console.print(
            f"warning: run {run_id} has not left INIT within {SETTLE_TIMEOUT_S:g} s; "
            f"is a worker running on task queue {settings.task_queue!r}?",
            highlight=False,
        )
        return
    if status.state in (RunState.FAILED, RunState.CANCELLED):
        fail(failure_line(run_id, status.state.value, status.failure))
    if not json_output:
        if status.pending_review is not None:
            line = pending_review_line(run_id, status.pending_review, connection_options(settings))
            out.print(line, markup=False, highlight=False)
        out.print(f"follow it with: agentrun status {run_id}", highlight=False)


async def settle(client: AgentRunClient, run_id: str) -> RunStatus | None:
    """Poll until the run leaves INIT/PREPARING, so a bad request fails here and now."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT_S
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        latest: RunStatus | None
        try:
            latest = await asyncio.wait_for(client.status(run_id), remaining)
        except (AgentRunError, TimeoutError):
            # Right after the start the first workflow task may not have run yet.
            latest = None
        if latest is not None and latest.state not in EARLY_STATES:
            return latest
        await asyncio.sleep(0.1)


def report_result(result: RunResult, json_output: bool) -> None:
    if json_output:
        emit_json(result)
    else:
        out.print(f"run {result.run_id}: ", state_text(result.state.value), sep="")
        if result.output is not None:
            out.print_json(json.dumps(result.output, default=str))
    if result.state is not RunState.COMPLETED:
        fail(failure_line(result.run_id, result.state.value, result.failure))


async def show_status(settings: Settings, run_id: str, json_output: bool) -> None:
    client = await open_client(settings)
    current = await query_status(client, run_id, settings)
    if json_output:
        emit_json(current)
        return
    print_status(out, current)
    if current.children:
        members = await team_tree(client, current)
        out.print(team_view(members, connection_options(settings)), highlight=False)


async def list_runs(
    settings: Settings,
    *,
    states: Sequence[RunState],
    agent: str | None,
    tenant: str | None,
    limit: int,
    json_output: bool,
) -> None:
    client = await open_client(settings)
    rows = await client.list_runs(states=states, agent=agent, tenant_id=tenant, limit=limit)
    if json_output:
        emit_json([row.model_dump(mode="json") for row in rows])
    elif rows:
        out.print(runs_table(rows))
    else:
        out.print("no runs match")


async def submit_review(
    settings: Settings, run_id: str, payload: ReviewDecision, as_signal: bool, json_output: bool
) -> None:
    client = await open_client(settings)
    if not as_signal:
        ack = await review_in_time(client, run_id, payload, settings)
        if json_output:
            emit_json({"run_id": run_id, **ack.model_dump(mode="json")})
        else:
            out.print(
                f"{ack.decision.value} by {payload.reviewer} accepted for review {ack.review_id}; "
                f"run {run_id} goes to ",
                state_text(ack.next_state),
                sep="",
                highlight=False,
            )
        return
    before = await try_status(client, run_id)
    await client.signal_review(run_id, payload)
    outcome = await signal_outcome(client, run_id, before)
    if json_output:
        emit_json({"run_id": run_id, "signal": "sent", "outcome": outcome})
    elif outcome == "accepted":
        out.print(f"review signal accepted by run {run_id}", highlight=False)
    elif outcome == "unknown":
        out.print(
            f"review signal sent to run {run_id}; see the outcome with: agentrun status {run_id}",
            highlight=False,
        )
    if outcome.startswith("refused"):
        fail(f"review signal {outcome}")


async def review_in_time(
    client: AgentRunClient, run_id: str, payload: ReviewDecision, settings: Settings
) -> ReviewAck:
    """An update waits for a worker to take it: without one it would wait indefinitely."""
    try:
        return await asyncio.wait_for(client.review(run_id, payload), REVIEW_TIMEOUT_S)
    except TimeoutError:
        raise CliError(
            f"run {run_id} did not answer the review within {REVIEW_TIMEOUT_S:g} s; is a worker "
            f"running on task queue {settings.task_queue!r}? (one that starts later may still "
            "apply it)"
        ) from None


async def signal_outcome(client: AgentRunClient, run_id: str, before: RunStatus | None) -> str:
    """A signal has no answer, so watch the status briefly for the run's verdict on it."""
    if before is None:
        return "unknown"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SIGNAL_OUTCOME_WAIT_S
    while loop.time() < deadline:
        now = await try_status(client, run_id)
        if now is not None:
            if len(now.rejected_reviews) > len(before.rejected_reviews):
                return f"refused: {now.rejected_reviews[-1].reason}"
            if len(now.reviews) > len(before.reviews) or now.state.terminal:
                return "accepted"
        await asyncio.sleep(0.1)
    return "unknown"


async def cancel_run(settings: Settings, run_id: str, json_output: bool) -> None:
    client = await open_client(settings)
    await client.cancel(run_id)  # an ended run: RunClosed says how and when it ended
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CANCEL_WAIT_S
    state: RunState | None = None
    while loop.time() < deadline:
        current = await try_status(client, run_id)
        if current is not None and current.state.terminal:
            state = current.state
            break
        await asyncio.sleep(0.1)
    if json_output:
        emit_json({"run_id": run_id, "cancel": "requested", "state": state})
    elif state is None:
        out.print(f"cancellation requested for run {run_id}", highlight=False)
    else:
        out.print(f"run {run_id}: ", state_text(state.value), sep="")
