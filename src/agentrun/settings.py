"""The one Settings object, built at entrypoints (CLI, tests, bench) and passed down."""

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agentrun.codec.keys import VALID_KEYRING, check_active_key
from agentrun.contracts.names import TASK_QUEUE

DEFAULT_AGENT_MODULES = ("agentrun.agents.refund",)
DEPLOYMENT_NAME_SETTING = "AGENTRUN_DEPLOYMENT_NAME"
BUILD_ID_SETTING = "AGENTRUN_BUILD_ID"
HEALTH_BIND_SETTING = "AGENTRUN_HEALTH_BIND"


def _check_deployment_name(value: str | None) -> str | None:
    """Temporal joins a deployment's name to a build id with ``.`` (with ``:`` in visibility): a
    worker starts under a name holding either, but the server refuses to make its builds current."""
    if value is not None and ("." in value or ":" in value):
        raise ValueError(f"{value!r} must not contain '.' or ':'")
    return value


def host_port(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for an IPv6 host) as the host and the port to listen on."""
    host, colon, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 host without brackets: which colon ends it?
    if not (colon and host and port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{value!r} is not host:port (e.g. 0.0.0.0:8080, [::]:8080)")
    return host, int(port)


def _check_health_bind(value: str | None) -> str | None:
    if value is not None:
        try:
            host_port(value)
        except ValueError as err:
            raise ValueError(f"{HEALTH_BIND_SETTING}: {err}") from None
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTRUN_", extra="ignore")

    temporal_address: str = Field(
        default="localhost:7233",
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "AGENTRUN_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "AGENTRUN_TEMPORAL_NAMESPACE"),
    )
    # How long a starting worker keeps trying to reach Temporal before it gives up: deployments
    # start workers beside (or before) the server. CLI commands other than `worker` never wait.
    temporal_connect_wait_s: float = Field(default=60, ge=0)
    task_queue: str = TASK_QUEUE
    data_dir: Path = Path(".agentrun")
    # Modules exposing register(registry); comma-separated in the environment.
    agent_modules: Annotated[tuple[str, ...], NoDecode] = DEFAULT_AGENT_MODULES
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    # How long a workflow task waits for the worker that has the run cached before any worker
    # may take it: part of what a worker crash costs a run (SDK default 10 s: a run on a killed
    # worker then waits ~12 s for another; docs/performance.md). Shorter moves more tasks of a
    # busy worker's runs to others, which replay them.
    sticky_queue_timeout_s: float = Field(default=1.5, gt=0)
    max_concurrent_activities: int = Field(default=100, ge=1)
    # A run continues as new (a fresh history, the same run: docs/lifecycle.md) when Temporal
    # suggests it (about 4,000 events or 4 MB by default); with this set, also once its history
    # has this many events. Recorded in each run's PREPARING result, so a change reaches only
    # runs that start afterwards.
    continue_as_new_after_events: int | None = Field(default=None, ge=20)
    # Runs kept in worker memory between workflow tasks (least recently used first out); 0
    # replays every task from the start (used by tests to prove replay safety). A cache smaller
    # than the runs in flight costs about half the throughput: every task of an evicted run
    # replays it from the start. Each cached run costs ~0.2 MB, so this bounds what runs parked in
    # review cost a worker: evicted, they cost it ~5 KB until a reviewer answers
    # (docs/performance.md, "Memory per parked run").
    max_cached_workflows: int = Field(default=500, ge=0)
    # "shared": agentrun's modules are imported once and shared by every run (Temporal's advice
    # for deterministic modules; a cached run costs ~150 KB less). "isolated": each run imports
    # them again in its own sandbox, so the sandbox's restrictions check agentrun's code as it
    # runs (the replay test uses it; useful while changing workflow code).
    workflow_sandbox: Literal["shared", "isolated"] = "shared"
    # Allocations between young-generation garbage collections in a worker process (Python's
    # default is 700); 0 leaves the interpreter's collector as it is. See workers.worker.tune_gc.
    gc_threshold: int = Field(default=20_000, ge=0)
    # Worker Versioning (docs/code-deploys.md): the worker serves build ``build_id`` of the
    # Temporal Worker Deployment ``deployment_name``, and each run stays on the build it started
    # on (pinned), so a run parked in review for days never meets workflow code it did not start
    # with. Both or neither; None: unversioned, every worker takes every run's tasks.
    deployment_name: Annotated[
        str | None, Field(min_length=1), AfterValidator(_check_deployment_name)
    ] = None
    build_id: Annotated[str | None, Field(min_length=1)] = None
    # The run record store (AGENTRUN_DATABASE_URL); off: runs keep only their Temporal history.
    store_enabled: bool = True
    # JSON price table (models per 1M tokens, tools per second); None: the built-in table.
    prices_file: Path | None = None
    # Where spans go: "console" for development, OTLP (gRPC or HTTP/protobuf) for a collector;
    # "none" keeps tracing off (no provider, so spans cost nothing).
    otel_exporter: Literal["none", "console", "otlp-grpc", "otlp-http"] = "none"
    # OTLP endpoint; None: the exporter's own default (or OTEL_EXPORTER_OTLP_*_ENDPOINT).
    otel_endpoint: str | None = None
    # Temporal's StartActivity and RunActivity spans around model and tool activities, which
    # duplicate their chat/execute_tool spans (observability.tracing_interceptor); off by default.
    otel_temporal_spans: bool = False
    # host:port of the worker's Prometheus /metrics endpoint (e.g. 127.0.0.1:9464); None: none.
    metrics_bind: str | None = None
    # host:port of the worker's /healthz and /readyz (e.g. 0.0.0.0:8080), for container
    # healthchecks and Kubernetes probes; None: none. A port of its own: the metrics port is the
    # Temporal core's Prometheus exporter's, which serves /metrics and nothing else.
    health_bind: Annotated[str | None, AfterValidator(_check_health_bind)] = None
    # The run record store (SQLAlchemy URL, e.g. postgresql://...); None: SQLite in data_dir.
    database_url: str | None = None
    # Activities' record rows are written behind, batched at most this long; a killed worker
    # can lose this much of them (the final flush re-writes each tool call's last attempt).
    # Longer shares each record batch's fixed statements among more runs: with 50 runs in
    # flight, 0.1 s gave one record batch per run and 0.5 s one per five runs.
    record_flush_interval_s: float = Field(default=0.5, gt=0, le=10)
    # Payload encryption (docs/encryption.md): comma-separated `kid:base64` entries of
    # 32-byte keys (`agentrun codec keygen`); None: payloads reach Temporal in clear. A secret:
    # masked in repr, logs and validation errors.
    codec_keys: Annotated[SecretStr, VALID_KEYRING] | None = None
    # The key id new payloads are encrypted under; None: the first of codec_keys. Every key
    # still decrypts: rotate by adding a key and making it active, drop the old one only when
    # no history still being read was written under it.
    codec_active_key: Annotated[str | None, AfterValidator(check_active_key)] = None
    # zlib before encrypting payloads over 1 KiB; off by default because ciphertext lengths then
    # depend on the content (agentrun.codec.cipher says why that can matter).
    codec_compress: bool = False
    # Ed25519 key that signs review/start grants (PEM); None: the newest in data_dir/signing.
    signing_key_file: Path | None = None
    # More keys grants may be signed with, as "kid:base64" (comma-separated in the environment):
    # the previous key while rotating, or the signing host's key on workers that lack it.
    extra_public_keys: Annotated[tuple[str, ...], NoDecode] = ()
    # Runs and reviews must carry a signed grant (docs/governance.md); off: names are taken on
    # trust.
    auth_required: bool = False

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'agentrun.db'}"

    @model_validator(mode="after")
    def _deployment_and_build_together(self) -> Self:
        if (self.deployment_name is None) != (self.build_id is None):
            raise ValueError(
                f"{DEPLOYMENT_NAME_SETTING} and {BUILD_ID_SETTING} go together: set both "
                "(Worker Versioning) or neither"
            )
        return self

    @field_validator("agent_modules", "extra_public_keys", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(m.strip() for m in value.split(",") if m.strip())
        return value
