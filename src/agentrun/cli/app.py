"""The ``agentrun`` command line: a local dev server, a worker, a demo, and the reviewer's tools.

Each command builds one :class:`Settings` (environment first, then its own options) and passes it
down. Every error a user can cause ends as one ``error: ...`` line on stderr and a non-zero exit;
a traceback would mean a bug in the CLI.
"""

import asyncio
import contextlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from agentrun.cli import agents as cli_agents
from agentrun.cli import codec as cli_codec
from agentrun.cli import deploy as cli_deploy
from agentrun.cli import eval_cases as cli_eval_cases  # noqa: F401 -- registers `eval add-case`
from agentrun.cli import eval_compare as cli_eval_compare  # noqa: F401 -- registers `eval compare`
from agentrun.cli import evaluate as cli_evaluate
from agentrun.cli import faults as cli_faults
from agentrun.cli import keys as cli_keys
from agentrun.cli import local as cli_local
from agentrun.cli import policy as cli_policy
from agentrun.cli import reconcile as cli_reconcile
from agentrun.cli import report as cli_report
from agentrun.cli import retention as cli_retention
from agentrun.cli import rollout as cli_rollout
from agentrun.cli import runs as cli_runs
from agentrun.cli import store as cli_store
from agentrun.cli import versions as cli_versions
from agentrun.cli import watch as cli_watch
from agentrun.cli.common import (
    AddressOpt,
    CliError,
    JsonOpt,
    ModelOpt,
    NamespaceOpt,
    build_settings,
    decision_from_options,
    err_console,
    guarded,
    one_line,
    out,
    read_json_object,
    require_run_id,
    validation_message,
)
from agentrun.contracts.review import Decision
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.observability import telemetry

app = typer.Typer(
    name="agentrun",
    help="Durable AI-agent runs on Temporal: run the dev stack, start runs, review, inspect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.command("server")(cli_local.server)
app.command("worker")(cli_local.worker)
app.command("demo")(cli_local.demo)
app.add_typer(cli_store.db_app, name="db")
app.add_typer(cli_store.audit_app, name="audit")
app.add_typer(cli_retention.retention_app, name="retention")
app.command("report")(cli_report.report)
app.command("agents")(cli_agents.agents)
app.add_typer(cli_reconcile.reconcile_app, name="reconcile")
app.add_typer(cli_keys.keys_app, name="keys")
app.command("sign-review")(cli_keys.review_sign)
app.add_typer(cli_policy.policy_app, name="policy")
app.add_typer(cli_versions.versions_app, name="versions")
app.add_typer(cli_evaluate.eval_app, name="eval")
app.add_typer(cli_faults.faults_app, name="faults")
app.add_typer(cli_rollout.rollout_app, name="rollout")
app.add_typer(cli_deploy.deploy_app, name="deploy")
app.add_typer(cli_codec.codec_app, name="codec")
app.command("codec-server")(cli_codec.codec_server)

# pydantic field -> the option a user typed, so validation errors name what to fix.
REQUEST_OPTIONS = {
    "agent": "AGENT",
    "version": "--version",
    "input": "--input",
    "tenant_id": "--tenant",
    "user_id": "--user",
    "request_id": "--request-id",
    "model": "--model",
}


def _print_version(value: bool) -> None:
    if value:
        out.print(f"agentrun {importlib.metadata.version('agentrun')}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    *,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print agentrun's version and exit.",
        ),
    ] = False,
) -> None:
    # Only the eager --version: `agentrun run --version V` stays the agent's version.
    del version


# ----------------------------------------------------------------- runs


@app.command()
@guarded
def run(
    *,
    agent: Annotated[str, typer.Argument(help="Agent name, e.g. refund.")],
    input_json: Annotated[
        str,
        typer.Option(
            "--input",
            help="The agent's input as a JSON object; @FILE reads it from a file, - from stdin.",
        ),
    ] = "{}",
    version: Annotated[str | None, typer.Option("--version", help="Agent version.")] = None,
    model: ModelOpt = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant id.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="User id.")] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="Idempotency key: the same id never starts twice. Again with the same request "
            "it answers with the same run; with another agent, version, input, tenant, user or "
            "budget it is refused.",
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Wait until the run ends (COMPLETED, FAILED or CANCELLED). A run waiting for "
            "a review keeps this waiting until someone decides. While waiting, stderr gets a "
            "line each time the run's state, step or pending review changes (with --json: one "
            "JSON object per line; an error still ends it as one `error:` line); stdout gets "
            "only the result.",
        ),
    ] = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Follow the run until it ends, as `agentrun watch` does: a line on stdout for "
            "each state, tool call, review and change of tokens and cost (with --json: each new "
            "status as one JSON object per line). Exits 1 when the run FAILED or was CANCELLED.",
        ),
    ] = False,
    api_key: cli_keys.ApiKeyOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Start a run and report its first settled state (with --wait: its result; with --watch:
    everything it does until it ends).

    With --api-key (a runner's), the request carries a signed start grant: workers that require
    auth start no run without one.

    An unknown agent or invalid input fails the run in PREPARING; that is reported here as an
    error with a non-zero exit.
    """
    if wait and watch:
        raise CliError("--wait and --watch: choose one (--watch waits too)")
    settings = build_settings(address, namespace)
    fields: dict[str, Any] = {
        "agent": agent,
        "input": read_json_object(input_json, "--input"),
        "version": version,
        "request_id": request_id,
        "model": model,
    }
    if tenant is not None:
        fields["tenant_id"] = tenant
    if user is not None:
        fields["user_id"] = user
    try:
        request = RunRequest.model_validate(fields)
    except ValidationError as err:
        raise CliError(validation_message(err, REQUEST_OPTIONS)) from None
    if api_key:
        request = cli_keys.sign_start(settings, api_key=api_key, request=request)
    if watch:
        asyncio.run(cli_watch.start_and_watch(settings, request, json_output))
        return
    asyncio.run(cli_runs.start_run(settings, request, wait, json_output))


@app.command()
@guarded
def status(
    *,
    run_id: Annotated[str, typer.Argument(help="The run id (its workflow id).")],
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Show a run's state, transitions, tool calls, pending review and usage."""
    require_run_id(run_id)
    settings = build_settings(address, namespace)
    asyncio.run(cli_runs.show_status(settings, run_id, json_output))


app.command("watch")(cli_watch.watch)


@app.command()
@guarded
def runs(
    *,
    state: Annotated[
        list[RunState] | None,
        typer.Option("--state", case_sensitive=False, help="Only runs in this state (repeatable)."),
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only runs of this agent.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """List runs through Temporal visibility (search attributes: state, agent, tenant)."""
    settings = build_settings(address, namespace)
    asyncio.run(
        cli_runs.list_runs(
            settings,
            states=state or [],
            agent=agent,
            tenant=tenant,
            limit=limit,
            json_output=json_output,
        )
    )


@app.command()
@guarded
def review(
    *,
    run_id: Annotated[str, typer.Argument(help="The run waiting for a review.")],
    decision: Annotated[Decision, typer.Option("--decision", case_sensitive=False)],
    reviewer: Annotated[
        str | None,
        typer.Option(
            "--reviewer", help="Who decides (must be allowed); with --api-key: the key's holder."
        ),
    ] = None,
    comment: Annotated[
        str | None, typer.Option("--comment", help="Required for request_changes.")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", help="Replacement output (JSON) for edit.")
    ] = None,
    review_id: Annotated[
        str | None, typer.Option("--review-id", help="Only decide if this review is pending.")
    ] = None,
    as_signal: Annotated[
        bool,
        typer.Option(
            "--signal",
            help="Send a signal instead of an update: no acknowledgement; a refusal is only "
            "recorded in the run's status (this command watches it for a few seconds).",
        ),
    ] = False,
    api_key: cli_keys.ApiKeyOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Approve, reject, request changes to, or edit the output of a waiting run.

    With --api-key the decision is signed (needs --review-id) and the key's holder decides.
    """
    require_run_id(run_id)
    settings = build_settings(address, namespace)
    if reviewer is None and not api_key:
        raise CliError("--reviewer: required (or sign the decision with --api-key)")
    payload = decision_from_options(decision, reviewer, comment, output, review_id)
    if api_key:
        payload, _ = cli_keys.sign_review(
            settings,
            api_key=api_key,
            run_id=run_id,
            decision=payload,
            ttl=cli_keys.parse_ttl(cli_keys.DEFAULT_TTL),
            claimed_reviewer=reviewer,
        )
    asyncio.run(cli_runs.submit_review(settings, run_id, payload, as_signal, json_output))


@app.command()
@guarded
def cancel(
    *,
    run_id: Annotated[str, typer.Argument(help="The run to cancel.")],
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Cancel a run: it records CANCELLED and stops at its next step."""
    require_run_id(run_id)
    settings = build_settings(address, namespace)
    asyncio.run(cli_runs.cancel_run(settings, run_id, json_output))


# ----------------------------------------------------------------- entry point


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    err_console.print(str(code), highlight=False)
    return 1


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = list(argv) if argv is not None else sys.argv[1:]
    # Agent modules (AGENTRUN_AGENT_MODULES) in the directory the command runs from import as
    # they would under `python -m`: a console script does not put its directory on sys.path.
    here = str(Path.cwd())
    if "" not in sys.path and here not in sys.path:
        sys.path.insert(0, here)
    # `agentrun review RUN_ID ...` decides; `agentrun review sign RUN_ID ...` signs a decision
    # for the plain temporal CLI (the command `sign-review`; typer cannot nest it in `review`).
    if args[:2] == ["review", "sign"]:
        args = ["sign-review", *args[2:]]
    try:
        code: object = app(args=args, prog_name="agentrun", standalone_mode=False)
    except typer.TyperException as err:
        return _usage_error(err)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted", highlight=False)
        return 130
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    return _exit_code(code)


def _usage_error(err: typer.TyperException) -> int:
    """A mistyped command line (unknown option, bad value, missing argument), as one line that
    says where to look, instead of click's multi-line box."""
    ctx = getattr(err, "ctx", None)
    where = getattr(ctx, "command_path", None) or "agentrun"
    message = one_line(err.format_message()).replace("Value error, ", "")
    if not message:  # a group run without a command: its help was the answer
        return int(err.exit_code)
    err_console.print(
        f"error: {message} (see: {where} --help)",
        markup=False,
        highlight=False,
    )
    return int(err.exit_code)


def main() -> None:
    """Exit with the command's own code, skipping interpreter teardown.

    Processes that used the Temporal SDK sometimes abort in teardown after a clean shutdown
    (about one exit in five, seen on this project's CI), which would replace a correct exit code
    with SIGABRT. Everything this process owns (server, worker) has been stopped by the command
    before it returns.
    """
    code = run_cli()
    telemetry.flush_tracing()  # os._exit skips atexit: export batched spans first
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
