"""``agentrun rollout``: ship a candidate version to a growing share of an agent's traffic, with
automatic rollback; status, pause, resume, promote and rollback, each audited with who and why.

One ``Rollout`` workflow per agent (id ``rollout-<agent>``) is the controller; it is visible in
the Temporal UI with its stage, split, last analysis and next step in its current details.
"""

import asyncio
import getpass
from typing import Annotated

import typer
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from agentrun.cli.common import (
    AddressOpt,
    AgentArg,
    ByOpt,
    CliError,
    JsonOpt,
    NamespaceOpt,
    ReasonOpt,
    build_settings,
    emit_json,
    guarded,
    local_registry,
    one_line,
    open_client,
    out,
)
from agentrun.cli.retention import parse_duration
from agentrun.contracts.names import (
    QUERY_ROLLOUT_STATUS,
    ROLLOUT_ID_PREFIX,
    ROLLOUT_WORKFLOW,
    UPDATE_ROLLOUT_COMMAND,
)
from agentrun.contracts.rollout import (
    Action,
    Command,
    RolloutRequest,
    RolloutStatus,
    Strategy,
)
from agentrun.logic.rollout import share
from agentrun.settings import Settings

rollout_app = typer.Typer(
    help="Roll a candidate agent version out by stages, with automatic rollback.",
    no_args_is_help=True,
)


def rollout_id(agent: str) -> str:
    return f"{ROLLOUT_ID_PREFIX}-{agent}"


def _default_version(agent: str) -> str:
    registry = local_registry()
    if agent not in registry.agent_names():
        raise CliError(f"unknown agent {agent!r}; known: {', '.join(registry.agent_names())}")
    return registry.resolve(agent).spec.version


def _stages(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise CliError(
            f"--stages {text!r}: per cents separated by commas, e.g. 10,25,50,100"
        ) from None


def render(status: RolloutStatus) -> list[str]:
    shown = share(status.strategy, status.phase, status.percent, status.candidate)
    heading = (
        f"{status.rollout_id}: {status.agent} {shown} "
        f"(stable {status.stable}), {status.strategy}, {status.phase}"
    )
    lines = [heading]
    last = status.last_analysis
    if last is not None:
        c, s = last.candidate, last.stable
        lines.append(
            f"last analysis ({last.stage}, {last.window_start:%H:%M:%S}-{last.window_end:%H:%M:%S}"
            f" UTC): {last.verdict}; candidate {c.runs} runs, {c.error_rate:.1%} failed; stable "
            f"{s.runs} runs, {s.error_rate:.1%} failed"
        )
        lines += [f"  {reason}" for reason in last.reasons]
    lines += [f"  {e.at:%H:%M:%S} {e.by}: {e.what}" for e in status.events]
    return lines


async def _status(settings: Settings, agent: str) -> RolloutStatus:
    client = await open_client(settings)
    handle = client.temporal.get_workflow_handle(rollout_id(agent))
    try:
        status: RolloutStatus = await handle.query(QUERY_ROLLOUT_STATUS, result_type=RolloutStatus)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise CliError(f"no rollout of {agent!r}") from None
        raise CliError(f"rollout of {agent!r}: {one_line(err.message)}") from None
    return status


async def _command(settings: Settings, agent: str, command: Command) -> RolloutStatus:
    client = await open_client(settings)
    handle = client.temporal.get_workflow_handle(rollout_id(agent))
    try:
        status: RolloutStatus = await handle.execute_update(
            UPDATE_ROLLOUT_COMMAND, command, result_type=RolloutStatus
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        raise CliError(
            f"{command.action} refused: {one_line(getattr(cause, 'message', str(cause)))}"
        ) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            ended = await _status(settings, agent)  # a finished rollout still answers
            raise CliError(
                f"{command.action} refused: the rollout of {agent!r} is over ({ended.phase})"
            ) from None
        raise CliError(f"rollout of {agent!r}: {one_line(err.message)}") from None
    return status


def _show(status: RolloutStatus, *, json_output: bool) -> None:
    if json_output:
        emit_json(status)
        return
    for line in render(status):
        out.print(line, highlight=False, markup=False)


@rollout_app.command("start")
@guarded
def rollout_start(
    agent: AgentArg,
    *,
    candidate: Annotated[
        str, typer.Option("--candidate", help="The version to roll out.", show_default=False)
    ],
    stable: Annotated[
        str | None, typer.Option("--stable", help="Default: the agent's default version.")
    ] = None,
    strategy: Annotated[
        Strategy,
        typer.Option(
            "--strategy",
            help="canary: 5 %, then all; gradual: 10, 25, 50, 100 %; blue-green: all at once; "
            "shadow: copies of runs on the candidate (side effects dry), promoted by command.",
        ),
    ] = Strategy.CANARY,
    stages: Annotated[
        str | None, typer.Option("--stages", help="Per cents per stage, e.g. 10,25,50,100.")
    ] = None,
    window: Annotated[str, typer.Option("--window", help="Each analysis window.")] = "10m",
    min_runs: Annotated[
        int, typer.Option("--min-runs", min=1, help="Candidate runs a window needs.")
    ] = 20,
    by: ByOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Start rolling CANDIDATE out to AGENT's unpinned runs, stage by stage."""
    settings = build_settings(address, namespace)
    request = RolloutRequest(
        agent=agent,
        stable=stable or _default_version(agent),
        candidate=candidate,
        strategy=strategy,
        stages=_stages(stages),
        window=parse_duration("--window", window, "10m or 1h"),
        min_runs=min_runs,
        started_by=by or getpass.getuser(),
    )

    async def start() -> RolloutStatus:
        client = await open_client(settings)
        try:
            await client.temporal.start_workflow(
                ROLLOUT_WORKFLOW,
                request,
                id=rollout_id(agent),
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                static_summary=f"rollout of {agent}@{request.candidate} ({strategy})",
            )
        except WorkflowAlreadyStartedError:
            raise CliError(
                f"a rollout of {agent} is in progress ({rollout_id(agent)}): promote or roll it "
                "back first"
            ) from None
        for _ in range(50):  # its first stage is routed within a moment
            status = await _status(settings, agent)
            if status.events:
                return status
            await asyncio.sleep(0.2)
        return status

    _show(asyncio.run(start()), json_output=json_output)


@rollout_app.command("status")
@guarded
def rollout_status(
    agent: AgentArg,
    *,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The rollout's stage, split, last analysis and every step so far."""
    _show(asyncio.run(_status(build_settings(address, namespace), agent)), json_output=json_output)


def _act(action: Action, agent: str, by: str | None, reason: str | None, json_output: bool) -> None:
    settings = build_settings()
    command = Command(action=action, by=by or getpass.getuser(), reason=reason)
    _show(asyncio.run(_command(settings, agent, command)), json_output=json_output)


@rollout_app.command("pause")
@guarded
def rollout_pause(
    agent: AgentArg, *, by: ByOpt = None, reason: ReasonOpt = None, json_output: JsonOpt = False
) -> None:
    """Hold the current stage: no analysis, no next stage, until resumed."""
    _act(Action.PAUSE, agent, by, reason, json_output)


@rollout_app.command("resume")
@guarded
def rollout_resume(
    agent: AgentArg, *, by: ByOpt = None, reason: ReasonOpt = None, json_output: JsonOpt = False
) -> None:
    """Go on from a pause, with a fresh analysis window."""
    _act(Action.RESUME, agent, by, reason, json_output)


@rollout_app.command("promote")
@guarded
def rollout_promote(
    agent: AgentArg, *, by: ByOpt = None, reason: ReasonOpt = None, json_output: JsonOpt = False
) -> None:
    """Send all traffic to the candidate now."""
    _act(Action.PROMOTE, agent, by, reason, json_output)


@rollout_app.command("rollback")
@guarded
def rollout_rollback(
    agent: AgentArg,
    *,
    reason: Annotated[str, typer.Option("--reason", help="Why (required).", show_default=False)],
    by: ByOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Send all traffic back to stable at once, recording why."""
    _act(Action.ROLLBACK, agent, by, reason, json_output)
