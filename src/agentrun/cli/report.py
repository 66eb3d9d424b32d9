"""``agentrun report``: "how are my agents doing?", from the run record store alone.

Its exit code gates deploys, so it has three: 0 healthy (or no runs), 1 an alert fired, 2 the
report could not be made (bad option, unreachable or uninitialised store). Other commands exit 1
on errors through ``guarded``; here 1 is taken by alerts, so the same one-line errors exit 2,
like click's own usage errors.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from agentrun.cli.common import CliError, JsonOpt, emit_json, guarded, out
from agentrun.cli.render import duration, stamp, state_text
from agentrun.cli.store import DatabaseUrlOpt, database_errors, store_url
from agentrun.contracts.report import Percentiles, Report, Thresholds
from agentrun.contracts.report_ops import OperationsLayer, RolloutOutcome, RolloutRecord
from agentrun.contracts.report_teams import TOP_ROOTS, TeamLayer
from agentrun.logic.report import (
    DEFAULT_MAX_ERROR_RATE,
    DEFAULT_MAX_P95_S,
    TOP_TOOLS,
    build_report,
    parse_since,
    window_start,
)

EXIT_OK = 0
EXIT_ALERTS = 1
EXIT_ERROR = 2
DEFAULT_SINCE = "24h"

T = TypeVar("T")


def _errors_exit_2(fn: Callable[[], T]) -> T:
    """``fn`` under ``guarded`` (one ``error:`` line, never a traceback), exiting EXIT_ERROR."""
    result: list[T] = []

    def call() -> None:
        result.append(fn())

    try:
        guarded(call)()
    except typer.Exit as exit_:
        if exit_.exit_code == 1:
            raise typer.Exit(EXIT_ERROR) from None
        raise
    return result[0]


def report(
    *,
    since: Annotated[
        str, typer.Option("--since", help="Runs started in the last 30m, 24h, 7d, 2w, ...")
    ] = DEFAULT_SINCE,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's runs.")] = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            "--max-error-rate", min=0.0, max=1.0, help="Alert above this FAILED/finished ratio."
        ),
    ] = DEFAULT_MAX_ERROR_RATE,
    max_p95: Annotated[
        float, typer.Option("--max-p95", min=0.0, help="Alert above this p95 run latency (s).")
    ] = DEFAULT_MAX_P95_S,
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Runs, tools, reviews, time in state, tokens and cost of recent runs, with alerts.

    Exit 0: no alert (or no runs); 1: an alert fired (error rate or p95 latency over its
    threshold); 2: the report could not be made.
    """
    thresholds = Thresholds(max_error_rate=max_error_rate, max_p95_s=max_p95)

    def produce() -> Report:
        result = load_report(since, agent, thresholds, database_url)
        if json_output:
            emit_json(result)
        else:
            print_report(out, result)
        return result

    if _errors_exit_2(produce).alerts:
        raise typer.Exit(EXIT_ALERTS)


def load_report(
    since: str, agent: str | None, thresholds: Thresholds, database_url: str | None
) -> Report:
    # Lazy: only the store commands pay for SQLAlchemy at start-up.
    from agentrun.store import migrate  # noqa: PLC0415
    from agentrun.store.db import make_engine, redacted, session_factory  # noqa: PLC0415
    from agentrun.store.report_queries import report_data  # noqa: PLC0415

    now = datetime.now(UTC)
    try:
        start = window_start(now, parse_since(since))
    except ValueError as err:
        raise CliError(f"--since: {err}") from None
    url = store_url(database_url)
    with database_errors(url):
        _require_sqlite_file(url)
        if migrate.current(url) is None:
            raise CliError(f"database {redacted(url)} is not initialised: run agentrun db upgrade")
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                data = report_data(session, start, agent)
        finally:
            engine.dispose()
    return build_report(
        data, since=since, start=start, generated_at=now, thresholds=thresholds, agent=agent
    )


def _require_sqlite_file(url: str) -> None:
    """Connecting would create an empty SQLite file: a mistyped path must not look healthy."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 -- lazy

    parsed = make_url(url)
    path = parsed.database
    on_disk = parsed.get_backend_name() == "sqlite" and path not in {None, "", ":memory:"}
    if on_disk and not Path(str(path)).is_file():
        raise CliError(f"no run store at {path}: run agentrun db upgrade, or --database-url")


# ----------------------------------------------------------------- rendering


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _secs(value: float | None) -> str:
    return "-" if value is None else duration(timedelta(seconds=value))


def _ms(value: float | None) -> str:
    return "-" if value is None else duration(timedelta(milliseconds=value))


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4f}"


def _spread(p: Percentiles, scale: Callable[[float | None], str] = _secs) -> str:
    return f"p50 {scale(p.p50)} · p95 {scale(p.p95)} · p99 {scale(p.p99)}"


_TEXT_COLUMNS = frozenset({"tool", "errors", "state", "agent", "version", "routed", "root run"})


def _table(title: str, *columns: str) -> Table:
    """Names and lists read from the left, figures line up on the right."""
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        justify: JustifyMethod = "left" if column in _TEXT_COLUMNS else "right"
        table.add_column(column, justify=justify, overflow="fold")
    return table


def print_report(console: Console, report: Report) -> None:
    scope = f"agent {report.agent}" if report.agent else "all agents"
    console.print(
        Text.assemble(
            ("runs started since ", "bold"),
            (stamp(report.window_start), "bold"),
            f" (last {report.since}) · {scope}",
        )
    )
    runs = report.runs
    if runs.total == 0:
        console.print("no runs in this window: nothing to report, no alerts", highlight=False)
        return
    states = Text(f"runs      {runs.total} · finished {runs.finished}")
    for state, count in runs.by_state.items():
        states.append(" · ")
        states.append_text(state_text(state))
        states.append(f" {count}")
    console.print(states, highlight=False)
    console.print(
        f"rates     completion {_pct(runs.completion_rate)} · error {_pct(runs.error_rate)}",
        highlight=False,
    )
    if runs.failures_by_category:
        failures = " · ".join(f"{name} {n}" for name, n in runs.failures_by_category.items())
        console.print(f"failures  {failures}", highlight=False)
    console.print(f"latency   {_spread(runs.latency_s)}", highlight=False)

    if report.tools:
        tools = _table(
            f"tools (top {TOP_TOOLS} by calls; a call is an attempt)",
            *("tool", "calls", "success", "p50", "p95", "retryable", "not retryable", "errors"),
        )
        for tool in report.tools:
            errors = ", ".join(f"{name} {n}" for name, n in tool.errors_by_class.items())
            tools.add_row(
                tool.tool,
                str(tool.calls),
                _pct(tool.success_rate),
                _ms(tool.latency_ms.p50),
                _ms(tool.latency_ms.p95),
                str(tool.retryable_errors),
                str(tool.non_retryable_errors),
                errors or "-",
            )
        console.print(tools)

    rv = report.reviews
    console.print(
        f"reviews   {rv.reviews} · human overrides {rv.overrides} ({_pct(rv.override_rate)} of "
        f"reviews) · runs overridden {rv.runs_overridden} ({_pct(rv.run_override_rate)} of "
        f"finished runs) · latency p50 {_secs(rv.latency_s.p50)}",
        highlight=False,
    )

    if report.states:
        states_table = _table("time in state (per run)", "state", "runs", "mean", "p50")
        for item in report.states:
            states_table.add_row(
                state_text(item.state), str(item.runs), _secs(item.mean_s), _secs(item.p50_s)
            )
        console.print(states_table)

    usage = report.usage
    console.print(
        f"per run   {usage.input_tokens_per_run or 0:,.1f} input / "
        f"{usage.output_tokens_per_run or 0:,.1f} output tokens · {_usd(usage.cost_per_run_usd)}"
        f" · total {_usd(usage.cost_usd)} ({usage.model_calls} model calls, "
        f"{_usd(usage.model_cost_usd)})",
        highlight=False,
    )
    costs = _table(
        "tokens and cost per agent",
        *("agent", "runs", "input tok", "output tok", "cost", "tok/run", "cost/run", "model calls"),
    )
    for a in usage.agents:
        costs.add_row(
            a.agent,
            str(a.runs),
            f"{a.input_tokens:,}",
            f"{a.output_tokens:,}",
            _usd(a.cost_usd),
            f"{a.tokens_per_run:,.1f}",
            _usd(a.cost_per_run_usd),
            str(a.model_calls),
        )
    console.print(costs)
    print_teams(console, report.teams)
    print_operations(console, report.operations)

    if not report.alerts:
        console.print(Text("no alerts", style="green"))
    for alert in report.alerts:
        console.print(Text.assemble(("ALERT ", "bold red"), alert.message))


def print_teams(console: Console, teams: TeamLayer) -> None:
    """Cost per root run: a team's spend once, where the per-agent table counts a parent's
    children in the parent's cost and again under their own agents. Shown when some run called
    an agent: otherwise every run is its own root, and the per-run figures say it all."""
    if not teams.teams:
        return
    console.print(
        f"per root  {teams.roots} root runs ({teams.teams} called agents; {teams.runs} runs in "
        f"all) · {_usd(teams.cost_per_root_usd)} and {teams.tokens_per_root or 0:,.1f} tokens "
        f"each · total {_usd(teams.cost_usd)}",
        highlight=False,
    )
    table = _table(
        f"teams (top {TOP_ROOTS} root runs by cost; a root's cost is its whole team's)",
        *("root run", "agent", "state", "runs", "input tok", "output tok", "cost"),
    )
    for root in teams.top:
        table.add_row(
            root.run_id,
            root.agent,
            state_text(root.state),
            str(root.runs),
            f"{root.input_tokens:,}",
            f"{root.output_tokens:,}",
            _usd(root.cost_usd),
        )
    console.print(table)


# ----------------------------------------------------------------- operations (SPEC §5)


def _na(value: float | None) -> str:
    """Operations rates: "n/a" when nothing was counted, never a 0 % nobody measured."""
    return "n/a" if value is None else f"{value:.1%}"


def _tool_failures(calls: int, failures: int, rate: float | None, ok: bool | None) -> Text:
    if rate is None:
        return Text("n/a")
    return Text(f"{failures}/{calls} {rate:.1%}", style="green" if ok else "red")


def print_operations(console: Console, ops: OperationsLayer) -> None:
    if ops.tool_failure_rate is None:
        failures = "n/a (no tool calls)"
    else:
        above = "" if ops.tool_failure_within_target else ": above it"
        failures = (
            f"{ops.tool_failures} of {ops.tool_calls} attempts ({ops.tool_failure_rate:.1%})"
            f", target < {ops.tool_failure_target:.0%}{above}"
        )
    console.print(f"operations tool-call failures {failures}", highlight=False)
    versions = _table(
        "per version (replaced: COMPLETED with no human escalation / finished; agreement: "
        "sampled outputs approved as is)",
        *("agent", "version", "runs", "error", "p95", "cost/run", "tool fail", "replaced"),
        *("agreement", "routed"),
    )
    for v in ops.versions:
        agreement = v.agreement
        versions.add_row(
            v.agent,
            v.version or "-",
            str(v.runs),
            _na(v.error_rate),
            "n/a" if v.latency_p95_s is None else _secs(v.latency_p95_s),
            _usd(v.cost_per_run_usd),
            _tool_failures(
                v.tool_calls, v.tool_failures, v.tool_failure_rate, v.tool_failure_within_target
            ),
            _na(v.human_replacement_rate),
            "n/a" if agreement.rate is None else f"{agreement.rate:.0%} of {agreement.answered}",
            ", ".join(f"{kind} {n}" for kind, n in v.routing.items()) or "-",
        )
    console.print(versions)
    if not ops.deployments:
        console.print("rollouts  none ended in this window, none running", highlight=False)
        return
    deployments = _table(
        "deployments (rollouts that ended in the window, and any running; MTTR: failing "
        "stage's start to rollback)",
        *("agent", "rollouts", "promoted", "rolled back", "running", "abandoned", "success"),
        "MTTR",
    )
    for d in ops.deployments:
        deployments.add_row(
            d.agent,
            str(d.rollouts),
            str(d.promoted),
            str(d.rolled_back),
            str(d.in_progress),
            str(d.abandoned),
            _na(d.success_rate),
            "n/a" if d.mean_time_to_recovery_s is None else _secs(d.mean_time_to_recovery_s),
        )
    console.print(deployments)
    for record in ops.rollouts:
        if record.outcome is RolloutOutcome.ROLLED_BACK:
            console.print(_rollback_line(record), highlight=False)


def _rollback_line(record: RolloutRecord) -> str:
    recovered = record.time_to_recovery_s
    after = "" if recovered is None else f", {_secs(recovered)} after its stage began"
    shadow = " (shadow)" if record.shadow else ""
    return (
        f"rollback  {record.agent}@{record.candidate}{shadow} back to {record.stable} at "
        f"{stamp(record.ended_at or record.last_event_at)} by {record.by}{after}: "
        f"{record.reason or 'no reason given'}"
    )
