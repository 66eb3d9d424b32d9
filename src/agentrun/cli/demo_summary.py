"""What ``agentrun demo`` prints once its sample runs have settled: a table of the runs, the
Web UI link, and commands to approve what waits, which run as printed from the user's shell."""

import json
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentrun.cli.devserver import DEFAULT_PORT, DevServer
from agentrun.cli.render import duration, state_text
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import RunState

DEMO_REVIEWER = "alice"


@dataclass
class DemoRun:
    key: str
    scenario: str
    input: dict[str, Any]
    approve_refund: bool = False
    approve_email: bool = False
    # The run's policy ends it: the demo only waits for the end and shows why.
    ends_by_policy: bool = False
    run_id: str = ""
    status: RunStatus | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def command(name: str) -> str:
    """How the user's shell runs our ``name`` (``agentrun``, ``temporal``): the bare name when it
    finds ours on PATH, else the full path inside the virtualenv, which after the README's install
    command is not activated."""
    ours = Path(sys.executable).parent / name
    found = shutil.which(name)
    if found is not None and (not ours.exists() or Path(found).resolve() == ours.resolve()):
        return name
    return str(ours) if ours.exists() else f"{sys.executable} -m agentrun.cli"


def address_option(port: int) -> str:
    return "" if port == DEFAULT_PORT else f" --address 127.0.0.1:{port}"


def review_command(run_id: str, port: int) -> str:
    return (
        f"{command('agentrun')} review {run_id} --decision approve --reviewer {DEMO_REVIEWER}"
        f"{address_option(port)}"
    )


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
            what = f"approval of {pending.tool}" if pending.tool else f"{pending.kind} review"
            lines.append(
                f"waiting for {what} by {', '.join(pending.reviewers)} "
                f"(deadline in {duration(pending.deadline - now)})"
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


def waiting(runs: list[DemoRun]) -> list[DemoRun]:
    return [
        r
        for r in runs
        if r.status is not None
        and r.status.state is RunState.REVIEWING
        and r.status.pending_review is not None
    ]


def _as_json(run: DemoRun) -> dict[str, Any]:
    pending = run.status.pending_review if run.status else None
    return {
        "run_id": run.run_id,
        "scenario": run.scenario,
        "state": run.status.state.value if run.status else None,
        "pending_review": pending.kind.value if pending else None,
        "pending_tool": pending.tool if pending else None,
        "notes": run.notes,
        "error": run.error,
    }


def _say(console: Console, text: str) -> None:
    """Plain text: run ids, paths and commands must print exactly, unwrapped and unstyled."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def print_summary(
    console: Console, runs: list[DemoRun], server: DevServer, json_output: bool, log_path: Path
) -> None:
    left = waiting(runs)
    if json_output:
        body = {
            "address": server.address,
            "ui_url": server.ui_url,
            "store": str(server.db_file) if server.db_file else None,
            "worker_log": str(log_path),
            "runs": [_as_json(r) for r in runs],
            "approve_commands": [review_command(r.run_id, server.port) for r in left],
        }
        sys.stdout.write(json.dumps(body) + "\n")
        sys.stdout.flush()
        return
    console.print(summary_table(runs))
    _say(console, f"\nWeb UI: {server.ui_url}")
    _say(
        console,
        "  open a run, then its User Metadata tab: Current Details show its state, step and who "
        "must approve by when; docs/lifecycle.md shows how to add AgentState, AgentName and "
        "TenantId columns to the list",
    )
    _say(console, f"Temporal: {server.address} (store: {server.db_file})")
    _say(console, f"Worker log (JSON): {log_path}")
    if left:
        console.print("\nApprove the email a run waits to send (nothing goes out before you do):")
        for r in left:
            _say(console, f"  {review_command(r.run_id, server.port)}")
        agentrun, address = command("agentrun"), address_option(server.port)
        _say(console, f"Inspect it:   {agentrun} status {left[0].run_id}{address}")
        _say(console, f"List waiting: {agentrun} runs --state REVIEWING{address}")
        _say(
            console, "A review left past its deadline is settled by the agent's escalation policy."
        )
    console.print("\nServer and worker keep running; press Ctrl-C to stop.")
    sys.stdout.flush()
