"""``agentrun codec keygen`` and ``agentrun codec-server``: keys for encrypted payloads, and the
server the Temporal Web UI decrypts them through, for operators and admins only.

The server checks each request's ``Authorization: Bearer <API key>`` against the run store's
API keys (``agentrun keys create --role operator``): a live key with the operator or admin role
may decode. Browsers log in once at ``<url>/login`` with such a key instead, for the Web UI (it
has no token to pass, only cookies). The store and the cipher are imported lazily, like the
other store commands.
"""

import asyncio
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import structlog
import typer

from agentrun.cli.common import (
    CliError,
    JsonOpt,
    build_settings,
    emit_json,
    err_console,
    guarded,
    out,
)
from agentrun.cli.store import DatabaseUrlOpt, database_errors, store_url
from agentrun.codec.keys import ACTIVE_KEY_SETTING, KEYS_SETTING, new_key_line
from agentrun.contracts.identity import Role

if TYPE_CHECKING:
    from aiohttp import web
    from sqlalchemy import Engine

    from agentrun.codec.cipher import Keyring
    from agentrun.codec.server import Authenticate

DEFAULT_CODEC_PORT = 8081
DECODE_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})
DEFAULT_SESSION_HOURS = 8.0

log = structlog.get_logger(__name__)

codec_app = typer.Typer(
    help="Encrypted payloads: generate keys (serve them with `agentrun codec-server`).",
    no_args_is_help=True,
)


def check_codec_endpoint(value: str | None) -> str | None:
    """What the Web UI can call: an http(s) URL without query (the UI appends /decode)."""
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise typer.BadParameter(
            f"{value!r} is not an http(s) URL such as http://127.0.0.1:{DEFAULT_CODEC_PORT}"
        )
    return value.strip().rstrip("/")


UiCodecEndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--ui-codec-endpoint",
        help="Codec server the Web UI decrypts payloads through (`agentrun codec-server`), "
        f"e.g. http://127.0.0.1:{DEFAULT_CODEC_PORT}.",
        callback=check_codec_endpoint,
        show_default=False,
    ),
]


@codec_app.command("keygen")
@guarded
def keygen(
    *,
    kid: Annotated[
        str | None,
        typer.Option("--kid", help="Key id (default: k<date>-<random>); kept in every payload."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Print a new `kid:base64` AES-256 key for AGENTRUN_CODEC_KEYS (stdout only)."""
    try:
        line = new_key_line(kid)
    except ValueError as err:
        raise CliError(f"--kid: {err}") from None
    new_kid = line.partition(":")[0]
    if json_output:
        emit_json({"kid": new_kid, "entry": line})
        return
    out.print(line, markup=False, highlight=False, soft_wrap=True)
    err_console.print(
        f"add it to {KEYS_SETTING} (comma-separated). To rotate, keep the old keys and set "
        f"{ACTIVE_KEY_SETTING}={new_kid}; keep this key as long as any history written with it "
        "is read.",
        markup=False,
        highlight=False,
    )


def _open_key_store(database_url: str | None) -> "Engine":
    """The store's engine, checked at start-up to have the API key table."""
    from sqlalchemy import inspect  # noqa: PLC0415 -- lazy, like the other store commands

    from agentrun.store.db import make_engine, redacted  # noqa: PLC0415

    url = store_url(database_url)
    with database_errors(url):
        engine = make_engine(url)
        with engine.connect() as conn:
            if not inspect(conn).has_table("api_keys"):
                engine.dispose()
                raise CliError(
                    f"database {redacted(url)} has no API key table: run agentrun db upgrade, "
                    "then create an operator key (agentrun keys create --role operator)"
                )
    return engine


def store_authenticator(engine: "Engine") -> "Authenticate":
    """API keys from the store: live, with the operator or admin role. Each check reads the
    store, so a revoked key stops working at once."""
    from agentrun.store.db import session_factory  # noqa: PLC0415 -- lazy
    from agentrun.store.keys import authenticate as authenticate_key  # noqa: PLC0415

    sessions = session_factory(engine)

    def lookup(presented: str) -> bool:
        with sessions() as session:
            info = authenticate_key(session, presented)
        if info is None:
            return False
        allowed = info.role in DECODE_ROLES
        log.info(
            "codec_key_checked",
            key_id=info.key_id,
            key_name=info.name,
            role=info.role.value,
            allowed=allowed,
        )
        return allowed

    async def authenticate(presented: str) -> bool:
        return await asyncio.to_thread(lookup, presented)

    return authenticate


@guarded
def codec_server(
    *,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = DEFAULT_CODEC_PORT,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (all interfaces: 0.0.0.0).")
    ] = "127.0.0.1",
    ui_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--ui-origin",
            help="Web UI origin allowed to call it from the browser (repeatable; default: "
            "http://localhost:8233 and http://127.0.0.1:8233).",
            show_default=False,
        ),
    ] = None,
    session_hours: Annotated[
        float,
        typer.Option(
            "--session-hours",
            min=0.01,
            max=168,
            help="How long a browser login at /login lasts.",
        ),
    ] = DEFAULT_SESSION_HOURS,
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Serve /encode and /decode for the Web UI and `temporal --codec-endpoint`, to operators.

    Needs AGENTRUN_CODEC_KEYS (the workers' keys) and a run store with API keys: requests
    must carry `Authorization: Bearer <key>` of a live operator or admin key, or come from a
    browser that logged in at /login with one (the Web UI: switch on "Include cross-origin
    credentials" in its Codec Server settings).
    """
    from agentrun.codec.cipher import EncryptionCodec  # noqa: PLC0415 -- lazy: the cipher
    from agentrun.codec.server import (  # noqa: PLC0415 -- lazy: aiohttp
        DEFAULT_UI_ORIGINS,
        CodecServerConfigError,
        SessionStore,
        build_app,
    )
    from agentrun.converter import data_converter  # noqa: PLC0415 -- as above
    from agentrun.observability.logging import configure_logging  # noqa: PLC0415

    settings = build_settings()
    if settings.codec_keys is None:
        raise CliError(
            f"{KEYS_SETTING} is not set: the codec server decrypts with the workers' keys "
            "(generate one with `agentrun codec keygen`)"
        )
    codec = data_converter(settings).payload_codec  # exactly what the workers encrypt with
    assert isinstance(codec, EncryptionCodec)  # noqa: S101 -- codec_keys is set
    configure_logging(settings.log_level, settings.log_format)
    origins = ui_origin or list(DEFAULT_UI_ORIGINS)
    engine = _open_key_store(database_url)
    try:
        app = build_app(
            codec,
            store_authenticator(engine),
            ui_origins=origins,
            sessions=SessionStore(session_hours * 3600),
        )
    except CodecServerConfigError as err:
        engine.dispose()
        raise CliError(f"--ui-origin: {err}") from None
    announce = _announcer(codec.keyring, origins, json_output)
    try:
        asyncio.run(serve(app, host, port, announce))
    finally:
        engine.dispose()


def _announcer(
    keyring: "Keyring", ui_origins: Sequence[str], json_output: bool
) -> Callable[[str], None]:
    def announce(url: str) -> None:
        if json_output:
            emit_json(
                {
                    "event": "codec_server_started",
                    "url": url,
                    "login_url": f"{url}/login",
                    "ui_origins": list(ui_origins),
                    "kids": list(keyring.kids),
                    "active_kid": keyring.active,
                }
            )
            return
        err_console.print(
            f"codec server on {url} (keys: {', '.join(keyring.kids)}; active: "
            f"{keyring.active}; UI origins: {', '.join(ui_origins)}); Ctrl-C to stop\n"
            f"Web UI: log in at {url}/login with an operator key, then in the UI's Codec Server "
            f"settings use the browser endpoint {url} with 'Include cross-origin credentials' on "
            "(same host name in both addresses)",
            markup=False,
            highlight=False,
        )

    return announce


async def serve(
    app: "web.Application", host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Until SIGINT/SIGTERM; ``port`` 0 takes a free port (the announced URL says which)."""
    from aiohttp import web  # noqa: PLC0415 -- lazy, like the app itself

    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as err:
            raise CliError(
                f"cannot listen on {host}:{port}: {err.strerror or err}; choose another --port"
            ) from None
        bound_host, bound_port = runner.addresses[0][:2]
        announce(f"http://{bound_host}:{bound_port}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
