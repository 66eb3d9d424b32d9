"""Human-readable (rich) views for the CLI; the ``--json`` paths never come through here."""

import json
import shlex
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agentrun.client.errors import utc_time
from agentrun.contracts.review import PendingReview
from agentrun.contracts.runs import RunStatus, RunSummary
from agentrun.contracts.states import RunState

STATE_STYLES: dict[str, str] = {
    RunState.INIT: "dim",
    RunState.PREPARING: "cyan",
    RunState.EXECUTING: "blue",
    RunState.REVIEWING: "bold yellow",
    RunState.COMPLETED: "bold green",
    RunState.FAILED: "bold red",
    RunState.CANCELLED: "magenta",
}


def state_text(state: str | None) -> Text:
    if state is None:
        return Text("?", style="dim")
    return Text(state, style=STATE_STYLES.get(state, ""))


def duration(delta: timedelta) -> str:
    """Compact and unit-aware: review waits are minutes, tool calls milliseconds."""
    seconds = delta.total_seconds()
    if seconds < 0:
        return "-" + duration(-delta)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def clock(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]


def stamp(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _short_json(value: object, limit: int = 120) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pending_review_view(pending: PendingReview, now: datetime) -> Panel:
    left = pending.deadline - now
    rows = Table.grid(padding=(0, 2))
    rows.add_row("review", f"{pending.review_id} ({pending.kind})")
    rows.add_row("reviewers", ", ".join(pending.reviewers) or "nobody (fails closed)")
    rows.add_row(
        "deadline",
        f"{stamp(pending.deadline)} ("
        + (f"in {duration(left)}" if left.total_seconds() > 0 else "passed")
        + ")"
        + (" · escalated" if pending.escalated else ""),
    )
    rows.add_row("reason", pending.reason)
    if pending.tool is not None:
        rows.add_row("tool", f"{pending.tool} {_short_json(pending.tool_args or {})}")
    return Panel(rows, title="pending review", border_style="yellow", expand=False)


def approve_command(run_id: str, reviewer: str, options: Sequence[str] = ()) -> str:
    """The command that approves, ready to paste (``options``: --address and the like)."""
    words = ["agentrun", "review", run_id, "--decision", "approve", "--reviewer", reviewer]
    return shlex.join([*words, *options])


def pending_review_line(run_id: str, pending: PendingReview, options: Sequence[str] = ()) -> str:
    """What the run waits for, in one line, and the command that ends the wait."""
    what = f"{pending.kind}" + (f": {pending.tool}" if pending.tool else "")
    who = ", ".join(pending.reviewers) or "nobody (it fails at the deadline)"
    line = f"waiting for review {pending.review_id} ({what}) by {who} until "
    line += utc_time(pending.deadline) + (" (escalated)" if pending.escalated else "")
    if pending.reviewers:
        line += f"; approve with: {approve_command(run_id, pending.reviewers[0], options)}"
    return line


def team_lines(status: RunStatus) -> str:
    """Where a run called as a tool sits in its team: who called it, and the run at the top."""
    if status.parent_run_id is None:
        return ""
    return f"\nparent: {status.parent_run_id}\nroot: {status.root_run_id or '?'}"


def _header(status: RunStatus) -> Text:
    return Text.assemble(
        ("run ", "bold"),
        (status.run_id, "bold"),
        "  ",
        state_text(status.state.value),
        f"\nagent {status.agent}@{status.version or '?'} · tenant {status.tenant_id}"
        f" · user {status.user_id} · step {status.step} · trace {status.trace_id}",
        f"\nversion: {status.version_reason}" if status.version_reason else "",
        team_lines(status),
    )


def _usage_text(status: RunStatus) -> Text:
    """A parent's usage counts its children's (what its budget caps), so it says so."""
    usage = status.usage
    return Text(
        f"usage: {usage.model_calls} model calls · {usage.tool_calls} tool calls · "
        f"{usage.tokens.input_tokens} input / {usage.tokens.output_tokens} output tokens"
        f" · ${usage.cost_usd:,.4f}"
        + (" (with the runs it called)" if status.children else "")
        + (f" · confidence {status.confidence:.2f}" if status.confidence is not None else "")
        + (" · human override" if status.human_override else "")
    )


def status_view(status: RunStatus, now: datetime | None = None) -> Group:
    """Everything an operator asks first: where the run is, how it got there, what it waits for."""
    now = now or datetime.now(UTC)
    parts: list[Panel | Table | Text] = [_header(status)]

    transitions = Table(title="transitions", title_justify="left", expand=False)
    for column in ("#", "from", "to", "at (UTC)", "time in state", "reason"):
        transitions.add_column(column, overflow="fold")
    for index, transition in enumerate(status.transitions):
        nxt = status.transitions[index + 1] if index + 1 < len(status.transitions) else None
        if nxt is not None:
            spent = duration(nxt.at - transition.at)
        elif transition.target.terminal:
            spent = "-"
        else:
            spent = f"{duration(now - transition.at)} (ongoing)"
        transitions.add_row(
            str(index),
            state_text(transition.source.value if transition.source else None)
            if transition.source
            else Text("-", style="dim"),
            state_text(transition.target.value),
            clock(transition.at),
            spent,
            transition.reason or "",
        )
    parts.append(transitions)

    if status.tool_calls or status.tool_calls_earlier:
        tools = Table(title="tool calls", title_justify="left", expand=False)
        for column in ("step", "tool", "status", "attempts", "took", "note"):
            tools.add_column(column, overflow="fold")
        for call in status.tool_calls:
            notes = []
            if call.fallback_for:
                notes.append(f"fallback for {call.fallback_for}")
            if call.approved_by:
                notes.append(f"approved by {call.approved_by}")
            if call.error_class:
                retry = "" if call.retryable is None else (" (retryable)" if call.retryable else "")
                notes.append(f"{call.error_class}{retry}: {call.message or ''}".strip())
            style = (
                "green"
                if call.status == "success"
                else "yellow"
                if call.status == "partial"
                else "red"
            )
            tools.add_row(
                str(call.step),
                call.tool,
                Text(call.status, style=style),
                str(call.attempts),
                duration(call.finished_at - call.started_at),
                "; ".join(notes),
            )
        parts.append(tools)
        if status.tool_calls_earlier:
            # A run that continued as new carries only its latest calls; the record has all.
            parts.append(
                Text(
                    f"the latest {len(status.tool_calls)} of "
                    f"{status.tool_calls_earlier + len(status.tool_calls)}: the earlier "
                    f"{status.tool_calls_earlier} are in the run record (tool_calls)",
                    style="dim",
                )
            )

    if status.pending_review is not None:
        parts.append(pending_review_view(status.pending_review, now))

    if status.reviews or status.rejected_reviews:
        reviews = Table(title="reviews", title_justify="left", expand=False)
        for column in ("at (UTC)", "review", "decision", "reviewer", "comment"):
            reviews.add_column(column, overflow="fold")
        rows: list[tuple[datetime, tuple[str | Text, ...]]] = []
        for record in status.reviews:
            who = record.reviewer + (" (automatic)" if record.automatic else "")
            decision = record.decision.value + (" (escalated)" if record.escalated else "")
            rows.append(
                (
                    record.at,
                    (clock(record.at), record.review_id, decision, who, record.comment or ""),
                )
            )
        for refused in status.rejected_reviews:
            refusal = Text("refused", style="red")
            rows.append(
                (refused.at, (clock(refused.at), "-", refusal, refused.reviewer, refused.reason))
            )
        for _, cells in sorted(rows, key=lambda row: row[0]):
            reviews.add_row(*cells)
        parts.append(reviews)

    parts.append(_usage_text(status))
    if status.output is not None:
        parts.append(Text(f"output: {_short_json(status.output, 400)}"))
    if status.failure is not None:
        failure = status.failure
        parts.append(
            Text(
                f"failure: {failure.category.value}: {failure.message}"
                + (f" (field {failure.field})" if failure.field else ""),
                style="red",
            )
        )
    return Group(*parts)


def _listed_state(row: RunSummary) -> Text:
    """AgentState, plus the execution status when Temporal ended the run behind its back."""
    text = state_text(row.state)
    if row.execution_status in {"TERMINATED", "TIMED_OUT"}:
        text.append(f" ({row.execution_status})", style="red")
    return text


def runs_table(rows: Sequence[RunSummary]) -> Table:
    table = Table(expand=False)
    table.add_column("run id", no_wrap=True)
    table.add_column("agent", overflow="fold")
    table.add_column("version", overflow="fold")
    table.add_column("state", no_wrap=True)
    for column in ("tenant", "started (UTC)"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.run_id,
            row.agent or "-",
            row.version or "-",
            _listed_state(row),
            row.tenant_id or "-",
            "-"
            if row.started_at is None
            else row.started_at.astimezone(UTC).strftime("%m-%d %H:%M:%S"),
        )
    return table


def print_status(console: Console, status: RunStatus) -> None:
    console.print(status_view(status))
