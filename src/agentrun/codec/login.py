"""Browser sessions for the codec server: how the Temporal Web UI gets to decrypt without a login.

The UI calls the codec server with ``fetch`` and sends an ``Authorization`` header only when it
has an OIDC token to pass; the dev server's UI has none. What it can do is send cookies
(``credentials: "include"``: the Data Encoder's "Include cross-origin credentials" switch). So an
operator logs in here once with an operator/admin API key and gets an HttpOnly, SameSite=Strict
cookie holding a random session id. The key never goes into the cookie: the session keeps it in
process memory only to check it again on every request, so revoking the key ends its sessions at
once. Sessions expire after ``SESSION_TTL_S`` and die with the process.

The login and logout forms carry a CSRF token bound to a SameSite=Strict cookie (double submit):
another site can neither read the token nor make the browser send the cookie, so it can neither
log a browser in under its own key nor out. SameSite is by site, not origin: the UI at
``http://localhost:8233`` and this server at ``http://localhost:8081`` are one site, so the UI's
credentialed fetch carries the cookie, while ``127.0.0.1`` and ``localhost`` are two sites.
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import parse_qsl, urlsplit

import structlog
from aiohttp import hdrs, web

Authenticate = Callable[[str], Awaitable[bool]]

SESSION_COOKIE = "agentrun_codec_session"
CSRF_COOKIE = "agentrun_codec_csrf"
SESSION_TTL_S = 8 * 3600.0
MAX_SESSIONS = 10_000
MAX_FORM_BYTES = 8 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
KEY_REFUSED = "key refused: unknown, revoked, or without the operator/admin role"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Session:
    key: str
    expires_at: float  # epoch seconds


class SessionStore:
    """Session id -> session, in memory. Ids are looked up by their SHA-256, so neither the dict
    nor a timing difference in it gives away a live id."""

    def __init__(
        self,
        ttl_s: float = SESSION_TTL_S,
        *,
        max_sessions: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_s <= 0 or max_sessions <= 0:
            raise ValueError(f"ttl_s and max_sessions must be positive: {ttl_s}, {max_sessions}")
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self.clock = clock
        self._sessions: dict[bytes, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    @staticmethod
    def _digest(session_id: str) -> bytes:
        return hashlib.sha256(session_id.encode()).digest()

    def open(self, key: str) -> tuple[str, Session]:
        now = self.clock()
        self._sessions = {d: s for d, s in self._sessions.items() if s.expires_at > now}
        while len(self._sessions) >= self.max_sessions:  # the oldest go first
            del self._sessions[next(iter(self._sessions))]
        session_id = secrets.token_urlsafe(32)
        session = Session(key, now + self.ttl_s)
        self._sessions[self._digest(session_id)] = session
        return session_id, session

    def get(self, session_id: str) -> Session | None:
        digest = self._digest(session_id)
        session = self._sessions.get(digest)
        if session is not None and session.expires_at <= self.clock():
            del self._sessions[digest]
            return None
        return session

    def close(self, session_id: str) -> None:
        self._sessions.pop(self._digest(session_id), None)


class FormRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def endpoint_url(request: web.Request) -> str:
    """This server's codec endpoint as the browser addressed it (the path minus its last
    segment): what the UI's Data Encoder setting must hold."""
    prefix = request.path.rstrip("/").rsplit("/", 1)[0]
    return f"{request.scheme}://{request.host}{prefix}"


def _page(title: str, body: str, *, status: int, form_action: str) -> web.Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - agentrun codec server</title>"
        "<style>body{font:16px system-ui,sans-serif;max-width:42em;margin:3em auto;padding:0 1em}"
        "input[type=password]{width:100%;padding:.4em;font:inherit}button{font:inherit;"
        "padding:.4em 1em;margin-top:.6em}.error{color:#b00020}</style>"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            hdrs.CACHE_CONTROL: "no-store",
        },
    )


def _see_other(location: str) -> web.Response:
    return web.Response(
        status=303, headers={hdrs.LOCATION: location, hdrs.CACHE_CONTROL: "no-store"}
    )


class LoginPages:
    """``GET``/``POST .../login`` and ``POST .../logout``; answers are HTML for a person."""

    def __init__(
        self, sessions: SessionStore, authenticate: Authenticate, ui_origins: Iterable[str]
    ) -> None:
        self.sessions = sessions
        self.authenticate = authenticate
        self.ui_origins = sorted(set(ui_origins))
        # The redirect after login may go to the UI, and browsers apply form-action to it.
        self._form_action = " ".join(["'self'", *self.ui_origins])

    def session_of(self, request: web.Request) -> Session | None:
        session_id = request.cookies.get(SESSION_COOKIE)
        return self.sessions.get(session_id) if session_id else None

    async def handle(self, request: web.Request, action: str) -> web.Response:
        allowed = ("GET", "POST") if action == "login" else ("POST",)
        if request.method not in allowed:
            return web.Response(
                status=405,
                text=f"method {request.method} not allowed: use {' or '.join(allowed)}\n",
                headers={hdrs.ALLOW: ", ".join(allowed)},
            )
        if request.method == "GET":
            return self._show(request, request.query.get("next", ""))
        try:
            form = await self._read_form(request)
        except FormRefused as refused:
            return self._show(request, "", error=str(refused), status=refused.status)
        if action == "logout":
            return self._logout(request)
        return await self._login(request, form)

    async def _read_form(self, request: web.Request) -> dict[str, str]:
        if request.content_type.lower() != FORM_TYPE:
            raise FormRefused(415, f"the form must be posted as {FORM_TYPE}")
        raw = await request.content.read(MAX_FORM_BYTES + 1)
        if len(raw) > MAX_FORM_BYTES:
            raise FormRefused(413, f"form larger than {MAX_FORM_BYTES} bytes")
        form = dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        cookie, field = request.cookies.get(CSRF_COOKIE, ""), form.get("csrf", "")
        if not cookie or not hmac.compare_digest(cookie.encode(), field.encode()):
            log.warning("codec_login_csrf_refused", origin=request.headers.get(hdrs.ORIGIN))
            raise FormRefused(
                403, "the form expired or was not sent from this page: log in again below"
            )
        return form

    async def _login(self, request: web.Request, form: dict[str, str]) -> web.Response:
        next_url = form.get("next", "")
        key = form.get("api_key", "").strip()
        if not key:
            return self._show(request, next_url, error="api_key: enter an API key", status=400)
        try:
            allowed = await self.authenticate(key)
        except Exception:
            log.exception("codec_auth_backend_failed")
            error = "cannot check the key now: the authentication backend failed"
            return self._show(request, next_url, error=error, status=503)
        if not allowed:
            log.warning("codec_login_refused", remote=request.remote)
            return self._show(request, next_url, error=KEY_REFUSED, status=401)
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            self.sessions.close(old)
        session_id, _ = self.sessions.open(key)
        log.info("codec_session_opened", remote=request.remote, sessions=len(self.sessions))
        response = _see_other(self._safe_next(next_url) or "login")
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=int(self.sessions.ttl_s),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )
        return response

    def _logout(self, request: web.Request) -> web.Response:
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            self.sessions.close(session_id)
        response = _see_other("login")
        response.del_cookie(SESSION_COOKIE, path="/", samesite="Strict")
        return response

    def _safe_next(self, target: str) -> str | None:
        """Only a page of an allowed UI origin: never an open redirect."""
        parts = urlsplit(target)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        ok = origin in self.ui_origins and parts.username is None and "\\" not in target
        return target if ok else None

    def _show(
        self, request: web.Request, next_url: str, *, error: str = "", status: int = 200
    ) -> web.Response:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        session = self.session_of(request)
        if session is not None and not error:
            title, body = "Signed in", self._signed_in(request, session, token)
        else:
            title, body = "Codec server login", self._form(next_url, error, token)
        response = _page(title, body, status=status, form_action=self._form_action)
        response.set_cookie(
            CSRF_COOKIE, token, path="/", httponly=True, samesite="Strict", secure=request.secure
        )
        return response

    @staticmethod
    def _form(next_url: str, error: str, token: str) -> str:
        alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
        return (
            "<p>Log in with an operator or admin API key (<code>agentrun keys create --role "
            "operator</code>) so the Temporal Web UI in this browser can decrypt payloads "
            f"through this codec server.</p>{alert}"
            '<form method="post" action="login">'
            f'<input type="hidden" name="csrf" value="{escape(token)}">'
            f'<input type="hidden" name="next" value="{escape(next_url)}">'
            '<label for="api_key">API key</label>'
            '<input type="password" id="api_key" name="api_key" autocomplete="off" required '
            'autofocus><button type="submit">Log in</button></form>'
        )

    def _signed_in(self, request: web.Request, session: Session, token: str) -> str:
        until = datetime.fromtimestamp(session.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        links = ", ".join(f'<a href="{escape(o)}">{escape(o)}</a>' for o in self.ui_origins)
        return (
            f"<p>This browser may decrypt payloads until {until}.</p>"
            "<p>In the Temporal Web UI, once per browser: open <b>Codec Server</b> (the glasses "
            "icon in the top bar), choose <b>Use my browser setting and ignore Cluster-level "
            f"setting</b>, set the endpoint to <code>{escape(endpoint_url(request))}</code>, "
            "switch on <b>Include cross-origin credentials</b>, and Apply. Open the UI with the "
            f"same host name as this page: {links}.</p>"
            '<form method="post" action="logout">'
            f'<input type="hidden" name="csrf" value="{escape(token)}">'
            '<button type="submit">Log out</button></form>'
        )
