"""``agentrun demo``: the whole product on one laptop in one command (the README's first command).

It starts a persistent dev server and an in-process worker, then drives sample refund runs into
the situations a newcomer should see: a high-risk tool call approved at its gate, a run completed
by a reviewer, a carrier outage absorbed by a fallback tool, and runs left waiting for a person.
Request ids are fresh per invocation, so re-running the demo on the same store starts new runs.
"""

import asyncio
import contextlib
import json
import logging
import signal
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentrun.cli.common import CliError
from agentrun.cli.devserver import DEFAULT_PORT, DevServer
from agentrun.cli.render import duration, state_text
from agentrun.cli.retention_schedule import ensure_retention_schedule
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts.review import Decision, GateKind, ReviewDecision
from agentrun.contracts.runs import RunRequest, RunStatus
from agentrun.contracts.states import RunState
from agentrun.converter import data_converter
from agentrun.observability.logging import configure_logging
from agentrun.settings import Settings
from agentrun.store import migrate
from agentrun.workers.worker import run_worker

DEMO_AGENT = "refund"
DEMO_REVIEWER = "alice"
# Generous: order 1003 waits out the carrier's retries before its fallback runs.
STEP_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 15.0
WORKER_LOG = "demo-worker.log"


class DemoError(CliError):
    pass


@dataclass
class DemoRun:
    key: str
    scenario: str
    input: dict[str, Any]
    approve_tool_gate: bool = False
    approve_final: bool = False
    # The run's policy ends it: the demo only waits for the end and shows why.
    ends_by_policy: bool = False
    run_id: str = ""
    status: RunStatus | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def demo_runs() -> list[DemoRun]:
    return [
        DemoRun(
            key="gate",
            scenario="refund 250 > 100: tool approval gate, approved by the demo",
            input={"order_id": "1001", "reason": "arrived broken", "amount": 250},
            approve_tool_gate=True,
        ),
        DemoRun(
            key="done",
            scenario="refund 60, flaky carrier retried; final review approved by the demo",
            input={"order_id": "1002", "reason": "wrong size", "amount": 60},
            approve_final=True,
        ),
        DemoRun(
            key="fallback",
            scenario="refund 40, carrier down: shipping status from the fallback tool",
            input={"order_id": "1003", "reason": "never arrived", "amount": 40},
        ),
        DemoRun(
            key="policy",
            scenario="refund 900 > the policy's cap of 500: denied before the tool runs",
            input={"order_id": "1004", "reason": "damaged", "amount": 900},
            ends_by_policy=True,
        ),
    ]


def invocation_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]


async def wait_for(
    client: AgentRunClient,
    run_id: str,
    done: Callable[[RunStatus], bool],
    what: str,
    timeout_s: float = STEP_TIMEOUT_S,
) -> RunStatus:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    latest: RunStatus | None = None
    while loop.time() < deadline:
        with contextlib.suppress(AgentRunError, TimeoutError):
            latest = await asyncio.wait_for(client.status(run_id), max(deadline - loop.time(), 0.1))
        if latest is not None:
            if done(latest):
                return latest
            if latest.state.terminal:
                failure = latest.failure
                why = f": {failure.category.value}: {failure.message}" if failure else ""
                raise DemoError(f"ended {latest.state.value}{why} before {what}")
        await asyncio.sleep(0.2)
    state = latest.state.value if latest else "unknown"
    raise DemoError(f"still {state} after {timeout_s:g} s waiting for {what}")


def waiting_for(kind: GateKind) -> Callable[[RunStatus], bool]:
    def check(status: RunStatus) -> bool:
        pending = status.pending_review
        return status.state is RunState.REVIEWING and pending is not None and pending.kind == kind

    return check


async def approve(client: AgentRunClient, status: RunStatus, comment: str) -> str:
    pending = status.pending_review
    assert pending is not None  # noqa: S101 -- callers waited for a pending review
    reviewer = DEMO_REVIEWER if DEMO_REVIEWER in pending.reviewers else pending.reviewers[0]
    ack = await client.review(
        status.run_id,
        ReviewDecision(
            decision=Decision.APPROVE,
            reviewer=reviewer,
            comment=comment,
            review_id=pending.review_id,
        ),
    )
    return f"{pending.kind} approved by {reviewer} → {ack.next_state}"


async def drive(client: AgentRunClient, run: DemoRun, run_id: str) -> None:
    """Move one sample run to where the demo leaves it; errors are kept, not raised."""
    try:
        run.run_id = await client.start(
            RunRequest(agent=DEMO_AGENT, input=run.input, user_id="demo", request_id=run_id)
        )
        if run.ends_by_policy:
            run.status = await wait_for(client, run.run_id, lambda s: s.state.terminal, "its end")
            failure = run.status.failure
            run.notes.append(f"{failure.category.value}: {failure.message}" if failure else "")
            return
        if run.approve_tool_gate:
            gate = await wait_for(
                client, run.run_id, waiting_for(GateKind.TOOL_APPROVAL), "its tool gate"
            )
            run.notes.append(await approve(client, gate, "demo: refund above limit checked"))
        final = await wait_for(client, run.run_id, waiting_for(GateKind.FINAL), "its final review")
        run.status = final
        if run.approve_final:
            run.notes.append(await approve(client, final, "demo: looks right"))
            run.status = await wait_for(
                client, run.run_id, lambda s: s.state.terminal, "completion"
            )
        for call in run.status.tool_calls:
            if call.fallback_for:
                run.notes.append(f"{call.fallback_for} failed; fallback {call.tool} used")
            elif call.status == "success" and call.attempts > 1:
                run.notes.append(f"{call.tool} succeeded on attempt {call.attempts}")
    except (AgentRunError, DemoError) as err:
        run.error = str(err)
        with contextlib.suppress(AgentRunError):
            run.status = await client.status(run.run_id) if run.run_id else None


def summary_table(runs: list[DemoRun]) -> Table:
    table = Table(title="agentrun demo: sample refund runs", title_justify="left")
    for column in ("run id", "state", "scenario", "what happened / waits for"):
        table.add_column(column, overflow="fold")
    now = datetime.now(UTC)
    for run in runs:
        status = run.status
        lines = list(run.notes)
        if status is not None and status.pending_review is not None:
            pending = status.pending_review
            left = duration(pending.deadline - now)
            lines.append(
                f"waiting for {pending.kind} review by {', '.join(pending.reviewers)} "
                f"(deadline in {left})"
            )
        if run.error:
            lines.append(f"error: {run.error}")
        table.add_row(
            run.run_id or "-",
            state_text(status.state.value if status else None),
            run.scenario,
            Text("\n".join(lines)),
        )
    return table


def review_command(run_id: str, port: int) -> str:
    address = "" if port == DEFAULT_PORT else f" --address 127.0.0.1:{port}"
    return f"agentrun review {run_id} --decision approve --reviewer {DEMO_REVIEWER}{address}"


def _waiting(runs: list[DemoRun]) -> list[DemoRun]:
    return [
        r
        for r in runs
        if r.status is not None
        and r.status.state is RunState.REVIEWING
        and r.status.pending_review is not None
        and r.status.pending_review.kind is GateKind.FINAL
    ]


def print_summary(
    console: Console, runs: list[DemoRun], server: DevServer, json_output: bool, log_path: Path
) -> None:
    waiting = _waiting(runs)
    if json_output:
        body = {
            "address": server.address,
            "ui_url": server.ui_url,
            "store": str(server.db_file) if server.db_file else None,
            "worker_log": str(log_path),
            "runs": [
                {
                    "run_id": r.run_id,
                    "scenario": r.scenario,
                    "state": r.status.state.value if r.status else None,
                    "pending_review": r.status.pending_review.kind
                    if r.status and r.status.pending_review
                    else None,
                    "notes": r.notes,
                    "error": r.error,
                }
                for r in runs
            ],
            "approve_commands": [review_command(r.run_id, server.port) for r in waiting],
        }
        sys.stdout.write(json.dumps(body) + "\n")
        sys.stdout.flush()
        return
    console.print(summary_table(runs))
    console.print(f"\nWeb UI: {server.ui_url}", soft_wrap=True, highlight=False)
    console.print(f"Temporal: {server.address} (store: {server.db_file})", highlight=False)
    console.print(f"Worker log: {log_path}", highlight=False)
    if waiting:
        console.print("\nApprove a run waiting for its final review:")
        for r in waiting:
            console.print(
                f"  {review_command(r.run_id, server.port)}", soft_wrap=True, highlight=False
            )
        address = "" if server.port == DEFAULT_PORT else f" --address 127.0.0.1:{server.port}"
        console.print(
            f"Inspect it:   agentrun status {waiting[0].run_id}{address}", highlight=False
        )
        console.print(f"List waiting: agentrun runs --state REVIEWING{address}", highlight=False)
        console.print(
            "A review left past its deadline is settled by the agent's escalation policy.",
            highlight=False,
        )
    console.print("\nServer and worker keep running; press Ctrl-C to stop.")
    sys.stdout.flush()


async def run_demo(
    settings: Settings,
    *,
    port: int,
    ui_port: int,
    db_file: Path | None,
    json_output: bool,
    console: Console,
) -> None:
    server = DevServer.from_settings(settings, port=port, ui_port=ui_port, db_file=db_file)
    settings = settings.model_copy(update={"temporal_address": server.address})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / WORKER_LOG
    with log_path.open("a", encoding="utf-8") as log_file:
        log_to(log_file, settings)
        await _demo(settings, server, json_output, console, log_path)


def log_to(log_file: TextIO, settings: Settings) -> None:
    """Send the worker's logs to a file: the demo's terminal output is its summary.

    The sample runs fail tool calls on purpose (a carrier is down), and the SDK logs each failed
    attempt with a traceback; on the terminal that would bury the summary and look like a crash.
    """
    configure_logging(settings.log_level, settings.log_format)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=log_file))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


async def _demo(
    settings: Settings, server: DevServer, json_output: bool, console: Console, log_path: Path
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    if not json_output:
        console.print(f"starting Temporal dev server on {server.address} …", highlight=False)
    # The demo is the one command that migrates on its own: it owns its store.
    await asyncio.to_thread(migrate.upgrade, settings.effective_database_url())
    await server.astart()
    worker_task: asyncio.Task[None] | None = None
    try:
        client = await AgentRunClient.connect(
            server.address,
            settings.temporal_namespace,
            settings.task_queue,
            data_converter=data_converter(settings),
        )
        worker_task = asyncio.create_task(run_worker(client.temporal, settings, stop))
        if settings.store_enabled:
            # What a deployment runs too: the daily retention purge of the demo's own store.
            await ensure_retention_schedule(client.temporal, settings.task_queue)
        runs = demo_runs()
        prefix = f"demo-{invocation_id()}"
        driving = asyncio.gather(*(drive(client, r, f"{prefix}-{r.key}") for r in runs))
        stopping = asyncio.create_task(stop.wait())
        watched: set[asyncio.Future[Any]] = {driving, worker_task, stopping}
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        if worker_task.done():
            driving.cancel()
            worker_task.result()  # raises why the worker stopped
            raise DemoError("the worker stopped unexpectedly")
        if stop.is_set():
            driving.cancel()
            return
        stopping.cancel()
        print_summary(console, runs, server, json_output, log_path)
        while not stop.is_set():
            if not server.running:
                raise DemoError(f"the dev server exited: {server.output_tail()}")
            if worker_task.done():
                worker_task.result()
                raise DemoError("the worker stopped unexpectedly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        stop.set()
        if not json_output:
            console.print("stopping worker and server …")
        if worker_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker_task, WORKER_STOP_TIMEOUT_S)
        await server.astop()
    if not json_output:
        console.print("demo stopped")
