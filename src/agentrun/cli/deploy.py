"""``agentrun deploy``: which build of the worker code new runs start on (Worker Versioning).

Workers name their build with AGENTRUN_DEPLOYMENT_NAME and AGENTRUN_BUILD_ID; a run stays on the
build it started on until it ends, so making a build current moves new runs only
(docs/code-deploys.md). The same as ``temporal worker deployment set-current-version``, with the
names taken from the settings the workers share.
"""

import asyncio
import getpass
import time
from datetime import timedelta
from typing import Annotated

import typer
from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from agentrun.cli.common import (
    AddressOpt,
    ByOpt,
    CliError,
    JsonOpt,
    NamespaceOpt,
    build_settings,
    emit_json,
    guarded,
    one_line,
    open_client,
    out,
)
from agentrun.cli.retention import parse_duration
from agentrun.settings import BUILD_ID_SETTING, DEPLOYMENT_NAME_SETTING

deploy_app = typer.Typer(
    help="Code deploys with Worker Versioning: new runs start on the current build, started "
    "runs stay on theirs.",
    no_args_is_help=True,
)

# How often a build's arrival is asked for while --wait lasts.
_POLL_S = 0.5


async def make_current(
    client: Client, deployment: str, build_id: str, *, identity: str, wait: timedelta
) -> str | None:
    """Make ``build_id`` the deployment's current build; the build current before, if any.

    Temporal refuses a build none of whose workers has polled yet (NOT_FOUND), which is what a
    deploy script meets right after starting them: ``wait`` is how long to keep asking.
    """
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace,
        deployment_name=deployment,
        build_id=build_id,
        identity=identity,
    )
    deadline = time.monotonic() + wait.total_seconds()
    while True:
        try:
            response = await client.workflow_service.set_worker_deployment_current_version(request)
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
            if time.monotonic() + _POLL_S > deadline:
                raise CliError(
                    f"build {build_id!r} of deployment {deployment!r} is not known to Temporal "
                    f"({one_line(err.message)}): start its workers first "
                    f"({DEPLOYMENT_NAME_SETTING}={deployment} {BUILD_ID_SETTING}={build_id}), "
                    "or give them time with --wait 60s"
                ) from None
            await asyncio.sleep(_POLL_S)
            continue
        return response.previous_deployment_version.build_id or None


@deploy_app.command("current")
@guarded
def deploy_current(
    *,
    build_id: Annotated[
        str | None,
        typer.Option(
            "--build-id",
            help=f"The build new runs start on (default: {BUILD_ID_SETTING}).",
            show_default=False,
        ),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment",
            help=f"The Worker Deployment (default: {DEPLOYMENT_NAME_SETTING}).",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        str,
        typer.Option(
            "--wait",
            help="How long to wait for the build's workers to reach Temporal, e.g. 60s: a "
            "build none of them has polled yet cannot be made current.",
        ),
    ] = "0s",
    by: ByOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Make a build current: new runs start on its workers, started runs stay on their build.

    Keep the previous build's workers running until the runs pinned to it have ended (runs
    parked in review among them).
    """
    settings = build_settings(address, namespace)
    name = deployment or settings.deployment_name
    build = build_id or settings.build_id
    if not name:
        raise CliError(f"--deployment: required (or set {DEPLOYMENT_NAME_SETTING})")
    if not build:
        raise CliError(f"--build-id: required (or set {BUILD_ID_SETTING})")
    patience = parse_duration("--wait", wait, "60s or 2m")

    async def switch() -> str | None:
        client = await open_client(settings)
        return await make_current(
            client.temporal, name, build, identity=by or getpass.getuser(), wait=patience
        )

    previous = asyncio.run(switch())
    if json_output:
        emit_json({"deployment": name, "build_id": build, "previous_build_id": previous})
        return
    if previous is None or previous == build:
        after = "it already was" if previous == build else "new runs start on it"
        out.print(f"build {build} of {name} is current: {after}", highlight=False, markup=False)
        return
    out.print(
        f"build {build} of {name} is current: new runs start on it; runs started on {previous} "
        f"stay there until they end (keep its workers running until then)",
        highlight=False,
        markup=False,
    )
