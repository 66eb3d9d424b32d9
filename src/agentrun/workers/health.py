"""The worker's health endpoints on ``health_bind`` (AGENTRUN_HEALTH_BIND), for container
healthchecks and Kubernetes probes (docs/observability.md#health-checks):

- ``/healthz``, alive: the process answers and its Temporal client reaches the server;
- ``/readyz``, ready: the worker polls its task queue and is not shutting down, Temporal
  answers, and the run store (when on) answers within 2 s and is at the current schema.

Each answers 200 or 503 with ``{"status": "ok" | "unavailable", "checks": {name: "ok" | why}}``.
A port of its own: /metrics belongs to the Temporal core's Prometheus exporter. A bare HTTP/1.1
responder on asyncio's streams, not aiohttp: the worker process stays clear of the web stack
(tests/test_layers.py), and a probe needs one GET answered and its connection closed. Answers
are cached (Temporal for 3 s, the store for 2 s, its schema for 10 s), so probes cost the server
and the store little, and a check that hangs is waited for once, never started again meanwhile.
"""

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Literal, Protocol

import structlog
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, NullPool, create_engine, text
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client

from agentrun.errors import UserError
from agentrun.settings import HEALTH_BIND_SETTING, Settings, host_port
from agentrun.store import migrate
from agentrun.store.db import normalize_url, redacted

log = structlog.get_logger(__name__)

OK = "ok"
CHECK_TIMEOUT_S = 2.0  # a check not answered by then fails (and is still awaited, once)
TEMPORAL_TTL_S = 3.0
STORE_TTL_S = 2.0
SCHEMA_TTL_S = 10.0
READ_TIMEOUT_S = 5.0  # for a request's head: a client that sends nothing is dropped
MAX_HEADER_LINES = 100
PATHS = ("/healthz", "/readyz")

# What ``workers.worker.AgentRunWorker.status`` says; only "polling" is ready.
WorkerStatus = Literal["starting", "polling", "shutting down", "stopped"]


class HealthBindError(UserError, RuntimeError):
    pass


class Watched(Protocol):
    @property
    def status(self) -> WorkerStatus: ...


def _reason(err: BaseException) -> str:
    """One line, the driver's own error rather than SQLAlchemy's wrapper (which quotes the
    statement and links its docs)."""
    if isinstance(err, DBAPIError) and err.orig is not None:
        err = err.orig
    flat = " ".join(str(err).split())
    flat = f"{type(err).__name__}: {flat}" if flat else type(err).__name__
    return flat if len(flat) <= 300 else flat[:299] + "…"


class _Cached:
    """One check's last answer, asked again once older than ``ttl_s``. Probes arriving together
    share one question; one that outlasts the timeout fails, and the next probe waits for that
    same question (threads blocked on a dead database do not pile up)."""

    def __init__(self, ask: Callable[[], Awaitable[str]], ttl_s: float) -> None:
        self._ask = ask
        self._ttl_s = ttl_s
        self._answer: str | None = None
        self._at = 0.0
        self._pending: asyncio.Task[str] | None = None

    async def __call__(self) -> str:
        if self._answer is not None and time.monotonic() - self._at < self._ttl_s:
            return self._answer
        if self._pending is None:
            self._pending = asyncio.create_task(self._ask_once())
        try:
            return await asyncio.wait_for(asyncio.shield(self._pending), CHECK_TIMEOUT_S)
        except TimeoutError:
            return f"unreachable: no answer within {CHECK_TIMEOUT_S:g} s"

    async def _ask_once(self) -> str:
        try:
            answer = await self._ask()
        except Exception as err:  # noqa: BLE001 -- a failed check is an answer, never an error
            answer = f"unreachable: {_reason(err)}"
        self._answer, self._at, self._pending = answer, time.monotonic(), None
        return answer

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()


class _Store:
    """The run store as /readyz sees it, through an engine of its own: no pool (no connection
    is kept between probes) and plain SQLite transactions, which read without waiting for the
    record writer's write lock (the worker's engine begins every transaction IMMEDIATE)."""

    def __init__(self, url: str) -> None:
        parsed = normalize_url(url)
        timeout = int(CHECK_TIMEOUT_S)
        connect_args = (
            {"timeout": timeout}
            if parsed.get_backend_name() == "sqlite"
            else {"connect_timeout": timeout}
        )
        self.name = redacted(url)
        self._engine: Engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
        self._head = migrate.head_revision()
        self._known = migrate.known_revisions()
        self._schema = "unchecked"
        self._schema_at = float("-inf")

    def check(self) -> str:
        """Blocking: in a thread. The schema is read again at most every ``SCHEMA_TTL_S``."""
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                if time.monotonic() - self._schema_at >= SCHEMA_TTL_S:
                    at = MigrationContext.configure(connection).get_current_revision()
                    self._schema, self._schema_at = self._compare(at), time.monotonic()
        except Exception as err:  # noqa: BLE001 -- any driver error is the check's answer
            return f"unreachable: {self.name}: {_reason(err)}"
        return self._schema

    def _compare(self, at: str | None) -> str:
        if at == self._head:
            return OK
        if at is None or at in self._known:
            behind = f"{self.name} is at schema {at or 'none'}, not {self._head}"
            return f"{behind}: run `agentrun db upgrade`"
        # Migrated by a newer build (a rolling deploy's): this worker's code predates the store.
        return f"{self.name} is at schema {at}, newer than this worker's {self._head}"

    def close(self) -> None:
        self._engine.dispose()


class HealthServer:
    """/healthz and /readyz on one address; ``worker`` is set once the worker is built (until
    then it is "starting")."""

    def __init__(self, bind: str, client: Client, store_url: str | None) -> None:
        self.bind = bind
        self.worker: Watched | None = None
        self._client = client
        self._store_url = store_url
        self._store: _Store | None = None  # opened once the port is ours
        self._temporal = _Cached(self._ask_temporal, TEMPORAL_TTL_S)
        self._store_check = _Cached(self._ask_store, STORE_TTL_S)
        self._server: asyncio.Server | None = None
        self._ready: bool | None = None

    async def start(self) -> None:
        host, port = host_port(self.bind)
        try:
            self._server = await asyncio.start_server(self._serve, host, port)
        except OSError as err:
            # asyncio wraps the socket's error in a sentence of its own; the errno says it all.
            why = os.strerror(err.errno) if err.errno and err.errno > 0 else err.strerror or err
            raise HealthBindError(
                f"{HEALTH_BIND_SETTING}={self.bind}: cannot listen there: {why}"
            ) from None
        if self._store_url is not None:
            self._store = _Store(self._store_url)
        log.info("health checks served", bind=self.bind, paths=list(PATHS))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._temporal.cancel()
        self._store_check.cancel()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)

    async def _ask_temporal(self) -> str:
        serving = await self._client.service_client.check_health(
            timeout=timedelta(seconds=CHECK_TIMEOUT_S)
        )
        return OK if serving else "not serving"

    async def _ask_store(self) -> str:
        assert self._store is not None  # noqa: S101 -- asked only when there is one
        return await asyncio.to_thread(self._store.check)

    async def healthz(self) -> dict[str, str]:
        return {"temporal": await self._temporal()}

    async def readyz(self) -> dict[str, str]:
        status = self.worker.status if self.worker is not None else "starting"
        asked = {"temporal": self._temporal()}
        if self._store is not None:
            asked["store"] = self._store_check()
        answers = await asyncio.gather(*asked.values())  # side by side: one probe, one wait
        checks = {"worker": OK if status == "polling" else status}
        checks.update(zip(asked, answers, strict=True))
        ready = all(answer == OK for answer in checks.values())
        if ready != self._ready:
            self._ready = ready
            # A dependency failing under a running worker is news; starting or draining is not.
            say = log.warning if not ready and status == "polling" else log.info
            say("worker ready" if ready else "worker not ready", checks=checks)
        return checks

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(READ_TIMEOUT_S):
                    method, path = await _read_head(reader)
            except (TimeoutError, ValueError, ConnectionError):
                return  # not a request we can answer: drop the connection
            await _respond(writer, method, await self._route(method, path))
        except Exception as err:  # noqa: BLE001 -- a probe's failure never reaches the worker
            log.warning("health check not answered", error=_reason(err))
        finally:
            writer.close()

    async def _route(self, method: str, path: str) -> tuple[int, Mapping[str, object]]:
        if method not in {"GET", "HEAD"}:
            return 405, {"status": "method not allowed", "allow": "GET, HEAD"}
        if path == "/healthz":
            checks = await self.healthz()
        elif path == "/readyz":
            checks = await self.readyz()
        else:
            return 404, {"status": "not found", "paths": list(PATHS)}
        if all(answer == OK for answer in checks.values()):
            return 200, {"status": OK, "checks": checks}
        return 503, {"status": "unavailable", "checks": checks}


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The request line's method and path (without its query); the headers are read past."""
    method, path, _ = (await reader.readline()).decode("latin-1").split(" ", 2)
    for _ in range(MAX_HEADER_LINES):
        if (await reader.readline()).strip() == b"":
            return method, path.partition("?")[0]
    raise ValueError("too many header lines")


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


async def _respond(
    writer: asyncio.StreamWriter, method: str, answer: tuple[int, Mapping[str, object]]
) -> None:
    code, body = answer
    payload = json.dumps(body).encode() + b"\n"
    head = (
        f"HTTP/1.1 {code} {_REASONS[code]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    writer.write(head if method == "HEAD" else head + payload)
    await writer.drain()


async def serve_health(settings: Settings, client: Client) -> HealthServer | None:
    """The health endpoints, listening, when ``health_bind`` is set; a port that cannot be
    had (taken, not this host's) is one clear error (``HealthBindError``)."""
    if settings.health_bind is None:
        return None
    store_url = settings.effective_database_url() if settings.store_enabled else None
    server = HealthServer(settings.health_bind, client, store_url)
    await server.start()
    return server
