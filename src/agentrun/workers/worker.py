"""Worker wiring: the registry, the activities and the AgentRun workflow on one task queue."""

import asyncio
import gc
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import phonenumbers
import structlog
from opentelemetry.sdk.trace import TracerProvider
from phonenumbers.phonemetadata import PhoneMetadata
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from agentrun.activities.conversation import ConversationStore
from agentrun.activities.evaluation import EvaluationActivities
from agentrun.activities.faults import FaultSource
from agentrun.activities.model import ModelActivities
from agentrun.activities.prepare import PrepareActivities
from agentrun.activities.providers.base import ModelProvider, close_providers
from agentrun.activities.providers.serve import serve_providers, warn_unguarded, warn_unserved
from agentrun.activities.reconcile import ReconcileActivities, request_startup_sweep
from agentrun.activities.record import RecordActivities, RunRecorder
from agentrun.activities.retention import RetentionActivities
from agentrun.activities.rollout import RolloutActivities
from agentrun.activities.routing import Router
from agentrun.activities.tools import build_tool_activities
from agentrun.agents.registry import AgentRegistry, load_agent_modules
from agentrun.contracts.pricing import DEFAULT_PRICES, PriceTable
from agentrun.errors import UserError
from agentrun.observability.log_context import LogContextInterceptor
from agentrun.observability.metrics import StoreInstruments
from agentrun.observability.telemetry import worker_interceptors
from agentrun.observability.tracing import TRACER_NAME
from agentrun.settings import Settings
from agentrun.signing import public_keys
from agentrun.store import migrate
from agentrun.store.conversation import private_sessions
from agentrun.store.db import make_engine, normalize_url, redacted, session_factory
from agentrun.store.writer import BackgroundWriter
from agentrun.workers.catalog import CatalogInterceptor
from agentrun.workers.collector import CollectingRunner, collection_interval
from agentrun.workers.deployment import deployment_config
from agentrun.workers.health import WorkerStatus, serve_health
from agentrun.workers.record_interceptor import RecordInterceptor
from agentrun.workers.versions import publish_versions
from agentrun.workflows.agent_run import AgentRunWorkflow
from agentrun.workflows.evaluation import EvaluationWorkflow
from agentrun.workflows.reconcile import ReconcileWorkflow
from agentrun.workflows.retention import RetentionPurgeWorkflow
from agentrun.workflows.rollout import RolloutWorkflow

if TYPE_CHECKING:  # imported only by workers whose agents use MCP servers (see _mcp_sessions)
    from agentrun.activities.mcp import McpSessions

log = structlog.get_logger(__name__)

WORKFLOWS: Sequence[type] = (
    AgentRunWorkflow,
    RetentionPurgeWorkflow,
    ReconcileWorkflow,
    EvaluationWorkflow,
    RolloutWorkflow,
)
# Runs check grant signatures in their update validators. cryptography's Rust core can be
# loaded once per process: when the sandbox imported it again (e.g. to raise InvalidSignature)
# the process aborted. Passed through, every run uses the one copy (it keeps no run state).
# phonenumbers (output redaction) likewise, with its metadata loaded before any run starts.
ISOLATED_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "cryptography", "phonenumbers"
    )
)
# agentrun's own modules imported once per process and shared by every run, as Temporal advises
# for deterministic modules: a run in the cache no longer holds its own copy of the workflow
# modules (~150 KB of a cached run's ~350 KB; docs/performance.md, "Memory per parked run").
# The sandbox's restrictions then no longer watch agentrun's code as it runs, so the replay
# test replays every recorded history in the isolated sandbox too, and
# tests/workflows/test_determinism_lint.py reads the code the runs import for clocks,
# randomness, environment and I/O. No module of agentrun keeps per-run state in its globals.
SHARED_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "cryptography", "phonenumbers", "agentrun"
    )
)


def workflow_runner(settings: Settings) -> SandboxedWorkflowRunner:
    """The sandbox a worker runs workflows in (``AGENTRUN_WORKFLOW_SANDBOX``)."""
    return SHARED_RUNNER if settings.workflow_sandbox == "shared" else ISOLATED_RUNNER


def preload_phone_metadata() -> None:
    """Load every region's phone metadata now, outside any workflow.

    phonenumbers loads a region's metadata on first use by importing a module under a lock it
    does not release if that import fails; a first use inside a workflow sandbox (redacting a
    run's output) deadlocked every later one. Loaded here, runs only read it. About 0.1 s.
    """
    for region in phonenumbers.SUPPORTED_REGIONS:
        PhoneMetadata.metadata_for_region(region)
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        PhoneMetadata.metadata_for_nongeo_region(code)
    for region in phonenumbers.SUPPORTED_SHORT_REGIONS:
        PhoneMetadata.short_metadata_for_region(region)


def build_registry(settings: Settings) -> AgentRegistry:
    return load_agent_modules(AgentRegistry(), settings.agent_modules)


class PricesError(UserError, ValueError):
    pass


def load_prices(settings: Settings) -> PriceTable:
    """The price table from ``prices_file``; a bad file is one clear error, not a traceback."""
    if settings.prices_file is None:
        return DEFAULT_PRICES
    try:
        return PriceTable.model_validate_json(settings.prices_file.read_bytes())
    except OSError as err:
        raise PricesError(f"prices file {settings.prices_file}: {err.strerror}") from None
    except ValueError as err:
        raise PricesError(f"prices file {settings.prices_file}: {err}") from None


class StoreNotReadyError(UserError, RuntimeError):
    pass


def open_store(settings: Settings, *, migrate_store: bool = False) -> Engine | None:
    """The run store's engine, at the current schema; None when the store is off. One engine
    serves the record, the conversation and the retention purge (each takes its own pooled
    connection).

    A SQLite store (the embedded default) is brought to the current schema here: it belongs to
    this machine, and a newcomer's first ``agentrun worker`` should just work. Any other store
    is migrated only when asked (``migrate_store``, i.e. ``agentrun worker --migrate``, or
    ``agentrun db upgrade``): a shared production database changes schema deliberately.
    """
    if not settings.store_enabled:
        return None
    url = settings.effective_database_url()
    try:
        at, head = migrate.current(url), migrate.head_revision()
    except Exception as err:  # noqa: BLE001 -- any driver error becomes one clear line
        raise StoreNotReadyError(f"run store {redacted(url)} is not reachable: {err}") from None
    if at != head:
        if not (migrate_store or normalize_url(url).get_backend_name() == "sqlite"):
            raise StoreNotReadyError(
                f"run store {redacted(url)} is at schema {at or 'none'}, not {head}: run "
                "`agentrun db upgrade` first (or start the worker with --migrate)"
            )
        _upgrade(url, at, head)
    return make_engine(url)


def _upgrade(url: str, at: str | None, head: str | None) -> None:
    try:
        migrate.upgrade(url)
    except Exception as err:  # noqa: BLE001 -- checked below: a worker beside us may have won
        if migrate.current(url) != head:
            raise StoreNotReadyError(
                f"run store {redacted(url)} could not be upgraded to schema {head}: {err}"
            ) from None
    log.info("run store migrated", store=redacted(url), from_schema=at, to_schema=head)


class AgentRunWorker(Worker):
    """A Temporal worker that also owns the store's writer thread (the run record's and the
    conversation's): stopping the worker writes whatever is still queued, so a graceful
    shutdown loses no rows. It owns its MCP sessions too, closed once in-flight tool calls end.
    """

    def __init__(
        self,
        *args: Any,
        writer: BackgroundWriter,
        mcp: "McpSessions | None",
        providers: Iterable[ModelProvider] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._writer = writer
        self._mcp = mcp
        self._providers = tuple(providers)
        self._stopping = False

    @property
    def status(self) -> WorkerStatus:
        """What /readyz reports (``workers.health``): the SDK starts its pollers as soon as it
        is running, and says nothing of a shutdown until it is complete."""
        if self.is_shutdown:
            return "stopped"
        if self._stopping:
            return "shutting down"
        return "polling" if self.is_running else "starting"

    async def shutdown(self) -> None:
        self._stopping = True  # draining from now on: in-flight tasks finish, no new ones start
        await super().shutdown()

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            self._stopping = True
            try:
                await asyncio.to_thread(self._writer.close)
            finally:
                if self._mcp is not None:
                    await self._mcp.aclose()
                await close_providers(self._providers)


def _mcp_sessions(registry: AgentRegistry) -> "McpSessions | None":
    """Sessions for the MCP servers the agents declare, if any. The MCP SDK (and the web stack
    it brings) is imported only then: about 30 MB of every worker's memory otherwise."""
    if not any(definition.mcp_servers for definition in registry.definitions()):
        return None
    from agentrun.activities.mcp import McpSessions  # noqa: PLC0415 -- see above

    return McpSessions.for_registry(registry)


def build_worker(
    client: Client,
    settings: Settings,
    registry: AgentRegistry | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    migrate_store: bool = False,
    environ: Mapping[str, str] | None = None,
) -> AgentRunWorker:
    """The worker; spans go to ``tracer_provider``, else to the global provider (if any)."""
    registry = registry or build_registry(settings)
    preload_phone_metadata()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for definition in registry.definitions():
        if definition.setup is not None:
            definition.setup(settings.data_dir)
    engine = open_store(settings, migrate_store=migrate_store)
    # One factory for every reader and writer of the store; None when the store is off.
    sessions = session_factory(engine) if engine is not None else None
    if sessions is not None and engine is not None:
        try:
            publish_versions(sessions, registry)
        finally:
            # No connection left open by the start: an idle SQLite connection in WAL mode keeps
            # a shared lock on the file, which stops a backup or VACUUM from taking it.
            engine.dispose()
    # The conversation lives in the run store, shared by every worker, and is written by the
    # record's writer thread; with the record off, in a worker-private SQLite cache with a
    # writer of its own (a retry on another worker then cannot load it).
    store_metrics = StoreInstruments.for_client(client)  # agentrun_store_up and the rest
    writer = (
        BackgroundWriter(
            sessions, flush_interval=settings.record_flush_interval_s, observer=store_metrics
        )
        if sessions is not None
        else BackgroundWriter(
            private_sessions(settings.data_dir / "conversations.db"), observer=store_metrics
        )
    )
    store = ConversationStore(writer)
    recorder = RunRecorder(writer) if sessions is not None else None
    prices = load_prices(settings)
    # Hosted providers are configured by their SDKs' own variables (OPENAI_API_KEY, ...).
    served = serve_providers(os.environ if environ is None else environ)
    warn_unserved(registry, served)
    warn_unguarded(registry)
    prepare = PrepareActivities(
        registry,
        recorder,
        sessions,
        grant_keys=public_keys(settings) if settings.auth_required else None,
        providers=tuple(served.providers),
        client=client,
        router=Router(sessions) if sessions is not None else None,
        continue_as_new_after_events=settings.continue_as_new_after_events,
    )
    tracer = tracer_provider.get_tracer(TRACER_NAME) if tracer_provider else None
    # Lists every declared MCP server's tools, adding them to their agents: a server the worker
    # cannot use fails its start. After the other fallible steps, so those leave no MCP server
    # process behind.
    mcp = _mcp_sessions(registry)
    model = ModelActivities(
        registry, store, served.providers, prices, tracer=tracer, recorder=recorder
    )
    record = RecordActivities(recorder)
    retention = RetentionActivities(sessions)
    reconcile = ReconcileActivities(sessions)
    evaluation = EvaluationActivities(registry, sessions, served.providers)
    rollout = RolloutActivities(registry, sessions)
    deployment = deployment_config(settings)
    if deployment is not None:
        log.info(
            "worker versioning: runs stay on the build they start on",
            deployment=deployment.version.deployment_name,
            build_id=deployment.version.build_id,
        )
    return AgentRunWorker(
        client,
        writer=writer,
        mcp=mcp,
        providers=served.providers.values(),
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        # Frees what evicted runs leave (workers.collector): without it each run parked in
        # review kept ~50-80 KB of the worker's memory after its eviction.
        workflow_runner=CollectingRunner(
            workflow_runner(settings), collection_interval(settings.max_cached_workflows)
        ),
        activities=[
            prepare.prepare_run,
            model.model_call,
            record.record_run,
            retention.purge,
            reconcile.sweep,
            evaluation.start,
            evaluation.score,
            evaluation.finish,
            rollout.split,
            rollout.analyze,
            *build_tool_activities(
                registry,
                settings.data_dir,
                prices=prices,
                tracer=tracer,
                recorder=recorder,
                faults=FaultSource(sessions) if sessions is not None else None,
            ),
        ],
        # Log context outermost: it wraps the tracing spans, so tool log lines carry both.
        interceptors=[
            LogContextInterceptor(),
            CatalogInterceptor(registry),
            *worker_interceptors(
                client, tracer_provider, temporal_spans=settings.otel_temporal_spans
            ),
            *([RecordInterceptor(recorder)] if recorder is not None else []),
        ],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_queue_timeout_s),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=10),
        deployment_config=deployment,  # None: unversioned
    )


def tune_gc(settings: Settings) -> None:
    """Set a worker process's garbage collector for many short-lived objects.

    A run allocates tens of thousands of objects (payloads, pydantic models, spans, record
    rows), nearly all freed by reference counting; at Python's default threshold the cyclic
    collector then runs every 700 allocations and keeps re-scanning the same long-lived
    modules, workflows and caches: 3-7 ms of CPU per run in ``bench.record``. Freezing what
    start-up built moves it out of every later collection, and a higher threshold collects less
    often. Process-wide, so only worker entrypoints call it, never ``build_worker``.

    It also spaces full collections out (one per ~2 million allocations), and only they free
    the runs the workflow cache evicts: ``build_worker``'s runner makes one every cache's worth
    of new run instances instead (``workers.collector``).
    """
    if settings.gc_threshold == 0:
        return
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(settings.gc_threshold, older, oldest)


async def run_worker(
    client: Client, settings: Settings, stop: asyncio.Event, *, migrate_store: bool = False
) -> None:
    """Run until ``stop`` is set, then let in-flight activities finish (graceful shutdown).

    With ``health_bind``, /healthz and /readyz answer from before the worker is built (a port
    already taken stops it first) until it has drained, reporting not ready meanwhile.
    """
    health = await serve_health(settings, client)
    try:
        worker = build_worker(client, settings, migrate_store=migrate_store)
        tune_gc(settings)
        if health is not None:
            health.worker = worker
        async with worker:
            if settings.store_enabled:  # repairs what a killed predecessor had not written
                await request_startup_sweep(client, settings.task_queue)
            await stop.wait()
    finally:
        if health is not None:
            await health.close()
