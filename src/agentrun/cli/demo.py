"""``agentrun demo``: the whole product on one laptop in one command (the README's first command).

It starts a persistent dev server and an in-process worker, then drives sample refund runs into
the situations a newcomer should see: a high-risk refund approved at its gate, a flaky carrier
retried (http_503, then success), a carrier outage absorbed by a fallback tool, a refund over the
policy's cap denied, and runs left waiting for a person to approve the email to the customer:
review gates each side effect before it happens.
Request ids are fresh per invocation, so re-running the demo on the same store starts new runs.
"""

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from agentrun.agents.refund.tools import ISSUE_REFUND, SEND_EMAIL
from agentrun.cli.common import CliError
from agentrun.cli.demo_summary import DEMO_REVIEWER, DemoRun, print_summary
from agentrun.cli.devserver import DevServer
from agentrun.cli.retention_schedule import ensure_retention_schedule
from agentrun.cli.schedules import ensure_reconcile_schedule
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts.review import Decision, GateKind, ReviewDecision
from agentrun.contracts.runs import RunRequest, RunStatus
from agentrun.contracts.states import RunState
from agentrun.converter import data_converter
from agentrun.observability.logging import configure_logging
from agentrun.settings import Settings
from agentrun.store import migrate
from agentrun.store.db import make_engine, session_factory
from agentrun.store.queries import list_tool_calls
from agentrun.workers.worker import run_worker

DEMO_AGENT = "refund"
# Generous: order 1003 waits out the carrier's retries before its fallback runs.
STEP_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 15.0
WORKER_LOG = "demo-worker.log"


class DemoError(CliError):
    pass


def demo_runs() -> list[DemoRun]:
    return [
        DemoRun(
            key="gate",
            scenario="refund 250 > 100: approved at its gate by the demo; the email waits for you",
            input={"order_id": "1001", "reason": "arrived broken", "amount": 250},
            approve_refund=True,
        ),
        DemoRun(
            key="done",
            scenario="refund 60, flaky carrier retried; email approved by the demo",
            input={"order_id": "1002", "reason": "wrong size", "amount": 60},
            approve_email=True,
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


def waiting_for_approval(tool: str) -> Callable[[RunStatus], bool]:
    def check(status: RunStatus) -> bool:
        pending = status.pending_review
        return (
            status.state is RunState.REVIEWING
            and pending is not None
            and pending.kind is GateKind.TOOL_APPROVAL
            and pending.tool == tool
        )

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
    return f"{pending.tool or pending.kind} approved by {reviewer} → {ack.next_state}"


async def drive(
    client: AgentRunClient, run: DemoRun, run_id: str, model: str | None = None
) -> None:
    """Move one sample run to where the demo leaves it; errors are kept, not raised."""
    try:
        run.run_id = await client.start(
            RunRequest(
                agent=DEMO_AGENT, input=run.input, user_id="demo", request_id=run_id, model=model
            )
        )
        if run.ends_by_policy:
            run.status = await wait_for(client, run.run_id, lambda s: s.state.terminal, "its end")
            failure = run.status.failure
            run.notes.append(f"{failure.category.value}: {failure.message}" if failure else "")
            return
        if run.approve_refund:
            gate = await wait_for(
                client, run.run_id, waiting_for_approval(ISSUE_REFUND), "its refund approval"
            )
            run.notes.append(await approve(client, gate, "demo: refund above limit checked"))
        email = await wait_for(
            client, run.run_id, waiting_for_approval(SEND_EMAIL), "its email approval"
        )
        run.status = email
        if run.approve_email:
            run.notes.append(await approve(client, email, "demo: email reads right"))
            run.status = await wait_for(
                client, run.run_id, lambda s: s.state.terminal, "completion"
            )
        run.notes.extend(
            f"{call.fallback_for} failed; fallback {call.tool} used"
            for call in run.status.tool_calls
            if call.fallback_for
        )
    except (AgentRunError, DemoError) as err:
        run.error = str(err)
        with contextlib.suppress(AgentRunError):
            run.status = await client.status(run.run_id) if run.run_id else None


def attempt_notes(settings: Settings, runs: list[DemoRun]) -> None:
    """What the run record saw of retried tools: each attempt's outcome, e.g. ``http_503``.

    The run's own status knows only a call's last attempt; the record keeps every one (written
    behind, so read once the runs have settled)."""
    if not settings.store_enabled:
        return
    engine = make_engine(settings.effective_database_url())
    try:
        with session_factory(engine)() as session:
            for run in runs:
                if not run.run_id:
                    continue
                calls: dict[str, list[str]] = {}
                for row in list_tool_calls(session, run.run_id):
                    outcome = row.error_class or row.status
                    calls.setdefault(row.tool, []).append(f"attempt {row.attempt} {outcome}")
                run.notes.extend(
                    f"{tool}: {', '.join(attempts)}"
                    for tool, attempts in calls.items()
                    if len(attempts) > 1
                )
    finally:
        engine.dispose()


async def run_demo(
    settings: Settings,
    *,
    port: int,
    ui_port: int,
    db_file: Path | None,
    json_output: bool,
    console: Console,
    model: str | None = None,
) -> None:
    server = DevServer.from_settings(settings, port=port, ui_port=ui_port, db_file=db_file)
    settings = settings.model_copy(update={"temporal_address": server.address})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / WORKER_LOG
    with log_path.open("a", encoding="utf-8") as log_file:
        log_to(log_file, settings)
        await _demo(settings, server, json_output, console, log_path, model=model)


def log_to(log_file: TextIO, settings: Settings) -> None:
    """Send the worker's logs to a file, exactly as ``agentrun worker`` writes them to stderr
    (JSON, redacted): the demo's terminal output is its summary.

    The sample runs fail tool calls on purpose (a carrier is down), and the SDK logs each failed
    attempt with a traceback; on the terminal that would bury the summary and look like a crash.
    """
    configure_logging(settings.log_level, settings.log_format, stream=log_file)


async def _demo(
    settings: Settings,
    server: DevServer,
    json_output: bool,
    console: Console,
    log_path: Path,
    *,
    model: str | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    if not json_output:
        console.print(f"starting Temporal dev server on {server.address} …", highlight=False)
    # The demo owns its store: migrated before the worker starts, like the worker would.
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
            # What a deployment runs too: the daily retention purge of the demo's own store,
            # and the sweep that repairs records a killed worker had not written.
            await ensure_retention_schedule(client.temporal, settings.task_queue)
            await ensure_reconcile_schedule(client.temporal, settings.task_queue)
        runs = demo_runs()
        prefix = f"demo-{invocation_id()}"
        driving = asyncio.gather(*(drive(client, r, f"{prefix}-{r.key}", model) for r in runs))
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
        await asyncio.sleep(settings.record_flush_interval_s * 2)  # the record is written behind
        await asyncio.to_thread(attempt_notes, settings, runs)
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
