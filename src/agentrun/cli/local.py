"""The local stack: ``agentrun server``, ``agentrun worker`` and ``agentrun demo``.

Each runs in the foreground until Ctrl-C or SIGTERM and stops what it started before it returns
(the entry point then exits without interpreter teardown; see ``cli.app.main``).
"""

import asyncio
import signal
import sys
import threading
from typing import Annotated

import structlog
import typer

from agentrun.cli import codec as cli_codec
from agentrun.cli.common import (
    AddressOpt,
    CliError,
    DbFileOpt,
    JsonOpt,
    ModelOpt,
    NamespaceOpt,
    PortOpt,
    UiPortOpt,
    build_settings,
    checked_model,
    emit_json,
    err_console,
    guarded,
    out,
)
from agentrun.cli.devserver import DEFAULT_PORT, DEFAULT_UI_PORT, DevServer
from agentrun.observability import telemetry
from agentrun.observability.logging import configure_logging
from agentrun.settings import Settings

log = structlog.get_logger(__name__)


@guarded
def server(
    *,
    port: PortOpt = DEFAULT_PORT,
    ui_port: UiPortOpt = DEFAULT_UI_PORT,
    db_file: DbFileOpt = None,
    in_memory: Annotated[
        bool, typer.Option("--in-memory", help="Keep nothing: runs vanish when it stops.")
    ] = False,
    ui_codec_endpoint: cli_codec.UiCodecEndpointOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Run the Temporal dev server (with Web UI) in the foreground until Ctrl-C.

    It listens on 127.0.0.1:PORT whatever --address says.
    """
    settings = build_settings(address, namespace)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    dev = DevServer.from_settings(
        settings,
        port=port,
        ui_port=ui_port,
        db_file=db_file,
        in_memory=in_memory,
        ui_codec_endpoint=ui_codec_endpoint,
    )
    dev.start()
    try:
        store = str(dev.db_file) if dev.db_file else "in memory"
        if json_output:
            emit_json({"address": dev.address, "ui_url": dev.ui_url, "store": store})
        else:
            out.print(f"Temporal dev server on {dev.address} (store: {store})", highlight=False)
            out.print(f"Web UI: {dev.ui_url}", highlight=False)
            out.print("Press Ctrl-C to stop.")
            sys.stdout.flush()
        while not stop.wait(0.5):
            if not dev.running:
                raise CliError(f"the dev server exited unexpectedly: {dev.output_tail()}")
    finally:
        code = dev.stop()
    if not json_output:
        out.print(f"dev server stopped (exit code {code})")


@guarded
def worker(
    *,
    migrate_store: Annotated[
        bool,
        typer.Option(
            "--migrate",
            help="Bring the run store to the current schema first (a SQLite store always is; "
            "a PostgreSQL one only with this flag or `agentrun db upgrade`).",
        ),
    ] = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Run a worker for the AgentRun workflow and its activities until Ctrl-C or SIGTERM."""
    settings = build_settings(address, namespace)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_worker(settings, json_output, migrate_store=migrate_store))


def _waiting_for_temporal(reason: str, delay_s: float) -> None:
    log.warning("waiting for Temporal", reason=reason, retry_in_s=delay_s)


async def _worker(settings: Settings, json_output: bool, *, migrate_store: bool) -> None:
    # Imported here: tracing and the worker are heavy, and only this command needs them.
    from agentrun.client.connection import connect_patiently  # noqa: PLC0415
    from agentrun.converter import data_converter  # noqa: PLC0415
    from agentrun.workers.worker import run_worker  # noqa: PLC0415

    telemetry.configure_tracing(settings)  # first: the interceptor's spans need the provider
    temporal = await connect_patiently(
        settings.temporal_address,
        settings.temporal_namespace,
        wait_s=settings.temporal_connect_wait_s,
        on_retry=_waiting_for_temporal,
        interceptors=telemetry.tracing_interceptors(temporal_spans=settings.otel_temporal_spans),
        runtime=telemetry.build_runtime(settings),
        data_converter=data_converter(settings),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.create_task(run_worker(temporal, settings, stop, migrate_store=migrate_store))
    # A worker that cannot be built (bad agent module) fails at once: don't announce that one.
    done, _ = await asyncio.wait({task}, timeout=0.5)
    if not done:
        if json_output:
            emit_json({"event": "worker_started", "task_queue": settings.task_queue})
        else:
            err_console.print(
                f"worker polling task queue {settings.task_queue!r} on "
                f"{settings.temporal_address} ({settings.temporal_namespace}); Ctrl-C to stop",
                highlight=False,
            )
    await task  # re-raises why the worker could not run


@guarded
def demo(
    *,
    port: PortOpt = DEFAULT_PORT,
    ui_port: UiPortOpt = DEFAULT_UI_PORT,
    db_file: DbFileOpt = None,
    model: ModelOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Start a dev server, a worker and sample refund runs; keep them up until Ctrl-C.

    The server keeps its runs in a SQLite file, so runs left waiting survive a restart. It
    listens on 127.0.0.1:PORT whatever --address says. With --model the sample agent runs on
    that model (e.g. openai:gpt-4o-mini) instead of its offline script.
    """
    from agentrun.cli.demo import run_demo  # noqa: PLC0415 -- heavy; demo only

    settings = build_settings(address, namespace)
    asyncio.run(
        run_demo(
            settings,
            port=port,
            ui_port=ui_port,
            db_file=db_file,
            json_output=json_output,
            console=out,
            model=checked_model(model),
        )
    )
