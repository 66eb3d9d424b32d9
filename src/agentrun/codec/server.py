"""The remote codec server: where the Temporal Web UI (and ``temporal --codec-endpoint``) turns
encrypted payloads back into readable ones, for authenticated operators only.

Temporal's remote codec protocol: ``POST .../encode`` and ``POST .../decode`` with a ``Payloads``
message as proto JSON (``{"payloads": [{"metadata": {k: base64}, "data": base64}]}``), answered
in kind. Only the last path segment counts, so the server may sit under any prefix. The UI calls
it from the browser, so answers carry CORS headers for the configured UI origins; the preflight
is answered without authentication because browsers never send credentials on it. Every
``POST`` must carry ``Authorization: Bearer <key>`` accepted by the injected ``authenticate``, or
the session cookie of a browser that logged in at ``.../login`` (``codec_login``): the way the
Web UI, which has no token to pass, gets to decrypt. A cookie is sent by the browser to any page
that asks, so cookie requests must also come from an allowed UI origin with a JSON body (which
no cross-site form can send without a preflight this server refuses).

Failures are JSON ``{"error": "..."}`` with 400 (bad body, undecryptable payload), 401, 403
(origin), 404, 405, 413, 415 (cookie request without JSON) or 503 (authentication backend
down); never a traceback. The login pages answer in HTML.
"""

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import structlog
from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from agentrun.codec.keys import CodecError
from agentrun.codec.login import (
    KEY_REFUSED,
    SESSION_COOKIE,
    Authenticate,
    LoginPages,
    SessionStore,
)
from agentrun.errors import UserError

__all__ = ["Authenticate", "CodecServer", "CodecServerConfigError", "SessionStore", "build_app"]

DEFAULT_PORT = 8081
DEFAULT_UI_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
# Histories allow 2 MiB per payload and the UI batches an event's payloads in one request.
MAX_BODY_BYTES = 16 * 1024 * 1024
ALLOWED_HEADERS = ("Content-Type", "X-Namespace", "Authorization")
PREFLIGHT_MAX_AGE_S = 600
_BEARER = re.compile(r"Bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)
_ACTIONS = ("encode", "decode")
_PAGES = ("login", "logout")
_CHALLENGE = {str(hdrs.WWW_AUTHENTICATE): 'Bearer realm="agentrun-codec"'}

log = structlog.get_logger(__name__)


class CodecServerConfigError(UserError, ValueError):
    pass


class Refusal(Exception):
    """Ends a request with a JSON error: ``status``, the message, and extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` exactly as a browser sends it in ``Origin``."""
    text = origin.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise CodecServerConfigError(
            f"UI origin {origin!r} must be scheme://host[:port] (e.g. http://localhost:8233), "
            "with no path"
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


class CodecServer:
    """The handlers, over a codec and an authentication callback (injected, so tests and
    deployments choose where keys are checked: the API-key store, hashed tokens, OIDC...)."""

    def __init__(
        self,
        codec: PayloadCodec,
        authenticate: Authenticate,
        ui_origins: Sequence[str] = DEFAULT_UI_ORIGINS,
        sessions: SessionStore | None = None,
    ) -> None:
        self.codec = codec
        self.authenticate = authenticate
        self.ui_origins = frozenset(normalize_origin(o) for o in ui_origins)
        self.sessions = sessions if sessions is not None else SessionStore()
        self.pages = LoginPages(self.sessions, authenticate, self.ui_origins)

    def _cors(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None or origin.lower() not in self.ui_origins:
            return {}
        return {
            hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin,
            hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS: "true",
            hdrs.VARY: "Origin",
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        cors = self._cors(request)
        try:
            return await self._serve(request, cors)
        except Refusal as refusal:
            return _error(refusal.status, str(refusal), {**cors, **refusal.headers})

    async def _serve(self, request: web.Request, cors: dict[str, str]) -> web.StreamResponse:
        action = request.path.rstrip("/").rsplit("/", 1)[-1]
        if action in _PAGES:
            return await self.pages.handle(request, action)
        if action not in _ACTIONS:
            raise Refusal(
                404,
                "not found: the codec server answers POST .../encode and .../decode "
                "(browsers log in at .../login)",
            )
        if request.method == hdrs.METH_OPTIONS:
            return self._preflight(request, cors)
        if request.method != hdrs.METH_POST:
            raise Refusal(
                405,
                f"method {request.method} not allowed: use POST",
                {str(hdrs.ALLOW): "POST, OPTIONS"},
            )
        await self._check_auth(request)
        payloads = await self._read_payloads(request)
        coder = self.codec.encode if action == "encode" else self.codec.decode
        try:
            result = await coder(payloads)
        except CodecError as err:
            raise Refusal(400, f"{action}: {err}") from None
        log.info(
            "codec_request",
            action=action,
            payloads=len(payloads),
            namespace=request.headers.get("X-Namespace"),
            origin=request.headers.get(hdrs.ORIGIN),
        )
        body = {
            "payloads": [
                json_format.MessageToDict(p, preserving_proto_field_name=True) for p in result
            ]
        }
        return web.json_response(body, headers=cors)

    @staticmethod
    def _preflight(request: web.Request, cors: dict[str, str]) -> web.Response:
        if not cors:
            origin = request.headers.get(hdrs.ORIGIN)
            raise Refusal(
                403,
                f"origin {origin!r} is not an allowed UI origin (configure it with --ui-origin)",
            )
        return web.Response(
            status=204,
            headers={
                **cors,
                hdrs.ACCESS_CONTROL_ALLOW_METHODS: "POST, OPTIONS",
                hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ", ".join(ALLOWED_HEADERS),
                hdrs.ACCESS_CONTROL_MAX_AGE: str(PREFLIGHT_MAX_AGE_S),
            },
        )

    async def _check_auth(self, request: web.Request) -> None:
        """The Bearer header when there is one (CLI, OIDC-enabled UI), else the session cookie."""
        header = request.headers.get(hdrs.AUTHORIZATION)
        if header is None:
            session_id = request.cookies.get(SESSION_COOKIE)
            if session_id is None:
                raise Refusal(
                    401,
                    "missing Authorization: Bearer <key> header (browsers: log in at "
                    ".../login and let the UI include cross-origin credentials)",
                    _CHALLENGE,
                )
            await self._check_session(request, session_id)
            return
        match = _BEARER.fullmatch(header.strip())
        if match is None:
            raise Refusal(401, "Authorization must be 'Bearer <key>'", _CHALLENGE)
        if not await self._key_allowed(request, match.group(1)):
            raise Refusal(401, KEY_REFUSED, _CHALLENGE)

    async def _check_session(self, request: web.Request, session_id: str) -> None:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None or origin.lower() not in self.ui_origins:
            log.warning("codec_session_origin_refused", origin=origin)
            raise Refusal(
                403,
                f"origin {origin!r} may not use the session cookie: only an allowed UI origin "
                "(--ui-origin) may",
            )
        if request.content_type.lower() != "application/json":
            raise Refusal(415, "Content-Type must be application/json")
        session = self.sessions.get(session_id)
        if session is None:
            raise Refusal(401, "session expired or unknown: log in again at .../login", _CHALLENGE)
        # Checked again each time, so a revoked key or a lost role ends the session at once.
        if not await self._key_allowed(request, session.key):
            self.sessions.close(session_id)
            raise Refusal(401, f"{KEY_REFUSED}; the session is closed: log in again", _CHALLENGE)

    async def _key_allowed(self, request: web.Request, key: str) -> bool:
        try:
            allowed = await self.authenticate(key)
        except Exception:
            # A store that is down is not the caller's fault, and must not leak a traceback.
            log.exception("codec_auth_backend_failed")
            raise Refusal(
                503, "cannot check the key now: the authentication backend failed"
            ) from None
        if not allowed:
            log.warning("codec_auth_refused", origin=request.headers.get(hdrs.ORIGIN))
        return allowed

    @staticmethod
    async def _read_payloads(request: web.Request) -> list[Payload]:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Refusal(413, f"body larger than {request.client_max_size} bytes") from None
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise Refusal(400, f"body is not valid JSON: {err}") from None
        if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
            raise Refusal(400, 'body must be a JSON object {"payloads": [...]}')
        message = Payloads()
        try:
            json_format.ParseDict(body, message)
        except json_format.ParseError as err:
            detail = " ".join(str(err).split())
            raise Refusal(400, f"body is not a Payloads message: {detail}") from None
        return list(message.payloads)


@web.middleware
async def _no_tracebacks(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:  # the last line of defence: log it, answer JSON
        log.exception("codec_server_error", path=request.path)
        return _error(500, "internal error in the codec server (see its log)")


def build_app(
    codec: PayloadCodec,
    authenticate: Authenticate,
    *,
    ui_origins: Sequence[str] = DEFAULT_UI_ORIGINS,
    max_body_bytes: int = MAX_BODY_BYTES,
    sessions: SessionStore | None = None,
) -> web.Application:
    """``sessions``: where browser logins live (default: in memory, 8 h each)."""
    server = CodecServer(codec, authenticate, ui_origins, sessions)
    app = web.Application(client_max_size=max_body_bytes, middlewares=[_no_tracebacks])
    app.router.add_route("*", "/{tail:.*}", server.handle)
    return app
