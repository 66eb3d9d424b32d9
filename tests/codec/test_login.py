"""Browser sessions on the codec server over real HTTP, against a real run store's API keys.

What a browser does: it loads the login page, posts the form with the CSRF token it was given,
keeps the cookies it is handed, and later sends them from the UI's origin with a JSON body. What
an attacker's page can do is tried too: post the form without the token, send the cookie from
another origin, or send it with a body a cross-site form could produce.
"""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from temporalio.api.common.v1 import Payload

from agentrun.cli.codec import store_authenticator
from agentrun.codec.cipher import EncryptionCodec
from agentrun.codec.login import CSRF_COOKIE, MAX_FORM_BYTES, SESSION_COOKIE, SessionStore
from agentrun.codec.server import build_app
from agentrun.store.db import session_factory
from agentrun.store.keys import create_api_key, revoke_key
from tests.support.codec_http import SECRET_TEXT, UI_ORIGIN, Keys, as_json, from_json, ui_headers

EVIL = "http://evil.example"
HTTP = TestClient[Any, Any]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(codec: EncryptionCodec, keys: Keys, clock: Clock) -> AsyncIterator[HTTP]:
    sessions = SessionStore(3600, clock=clock)
    app = build_app(
        codec, store_authenticator(keys.engine), ui_origins=[UI_ORIGIN], sessions=sessions
    )
    async with TestClient(TestServer(app)) as client:
        yield client


def set_cookies(response: ClientResponse) -> dict[str, Any]:
    """The Set-Cookie headers, parsed (the jar hides their attributes)."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        jar.load(header)
    return dict(jar.items())


async def csrf_token(http: HTTP) -> str:
    page = await http.get("/login")
    assert page.status == 200
    match = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert match is not None
    return match.group(1)


async def log_in(http: HTTP, key: str, **fields: str) -> ClientResponse:
    form = {"csrf": await csrf_token(http), "api_key": key, **fields}
    response: ClientResponse = await http.post("/login", data=form, allow_redirects=False)
    return response


async def sealed_body(codec: EncryptionCodec) -> dict[str, Any]:
    return as_json(await codec.encode([Payload(data=SECRET_TEXT.encode())]))


def cookie_headers(origin: str | None = UI_ORIGIN) -> dict[str, str]:
    """The UI's fetch with credentials: no Authorization header, the cookie from the jar."""
    headers = ui_headers(None)
    if origin is None:
        del headers["Origin"]
    else:
        headers["Origin"] = origin
    return headers


async def error_of(response: ClientResponse, status: int) -> str:
    assert response.status == status, await response.text()
    body = await response.json()
    message: str = body["error"]
    return message


async def test_the_login_page_is_a_form_with_a_csrf_token_and_strict_headers(http: HTTP) -> None:
    page = await http.get("/login", params={"next": UI_ORIGIN + "/namespaces/default"})
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert 'type="password" id="api_key" name="api_key"' in html
    assert f'name="next" value="{UI_ORIGIN}/namespaces/default"' in html
    csrf = set_cookies(page)[CSRF_COOKIE]
    assert f'name="csrf" value="{csrf.value}"' in html
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Strict"
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert f"form-action 'self' {UI_ORIGIN}" in policy
    assert page.headers["Cache-Control"] == "no-store"


async def test_login_sets_a_random_session_cookie_that_decodes_from_the_ui_origin(
    http: HTTP, codec: EncryptionCodec, keys: Keys, clock: Clock
) -> None:
    response = await log_in(http, keys.operator)
    assert response.status == 303
    assert response.headers["Location"] == "login"
    cookie = set_cookies(response)[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == "3600"
    assert keys.operator not in cookie.value
    assert len(cookie.value) >= 40

    decoded = await http.post("/decode", json=await sealed_body(codec), headers=cookie_headers())
    assert decoded.status == 200, await decoded.text()
    assert decoded.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    assert decoded.headers["Access-Control-Allow-Credentials"] == "true"
    assert from_json(await decoded.json())[0].data == SECRET_TEXT.encode()

    status_page = await (await http.get("/login")).text()
    assert "Signed in" in status_page
    until = datetime.fromtimestamp(clock.now + 3600, UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert until in status_page
    assert "Include cross-origin credentials" in status_page
    assert f"<code>http://127.0.0.1:{http.port}</code>" in status_page  # the endpoint to enter
    assert 'action="logout"' in status_page


async def test_cookie_requests_from_another_origin_or_without_json_are_refused(
    http: HTTP, codec: EncryptionCodec, keys: Keys
) -> None:
    assert (await log_in(http, keys.admin)).status == 303
    body = await sealed_body(codec)
    for origin in (EVIL, None, "null"):
        response = await http.post("/decode", json=body, headers=cookie_headers(origin))
        assert "may not use the session cookie" in await error_of(response, 403)
        assert SECRET_TEXT not in await response.text()
    # What a cross-site <form> can send: no preflight, but no JSON content type either.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        headers = cookie_headers() | {"Content-Type": content_type}
        response = await http.post("/decode", data=str(body), headers=headers)
        assert "Content-Type must be application/json" in await error_of(response, 415)
    still = await http.post("/decode", json=body, headers=cookie_headers())
    assert still.status == 200


async def test_the_login_form_needs_its_csrf_token(http: HTTP, keys: Keys) -> None:
    """A cross-site form post carries neither the token nor (SameSite=Strict) the cookie."""
    token = await csrf_token(http)
    for form in (
        {"api_key": keys.operator},
        {"api_key": keys.operator, "csrf": ""},
        {"api_key": keys.operator, "csrf": token + "x"},
    ):
        response = await http.post("/login", data=form, allow_redirects=False)
        assert response.status == 403
        assert "the form expired or was not sent from this page" in await response.text()
        assert SESSION_COOKIE not in set_cookies(response)
    http.session.cookie_jar.clear()  # a browser that never loaded the page: no CSRF cookie
    response = await http.post(
        "/login", data={"api_key": keys.operator, "csrf": token}, allow_redirects=False
    )
    assert response.status == 403
    assert SESSION_COOKIE not in set_cookies(response)


async def test_refused_keys_get_the_form_again_and_no_session(http: HTTP, keys: Keys) -> None:
    for key, status, expected in (
        (keys.reviewer, 401, "without the operator/admin role"),
        (keys.revoked, 401, "key refused"),
        ("ark_0000000000000000_" + "0" * 64, 401, "key refused"),
        ("   ", 400, "api_key: enter an API key"),
    ):
        response = await log_in(http, key)
        assert response.status == status
        html = await response.text()
        assert expected in html
        assert 'name="api_key"' in html
        assert SESSION_COOKIE not in set_cookies(response)


async def test_malformed_login_posts_are_refused(http: HTTP, keys: Keys) -> None:
    token = await csrf_token(http)
    as_json_body = await http.post("/login", json={"api_key": keys.operator, "csrf": token})
    assert as_json_body.status == 415
    big = {"csrf": token, "api_key": "x" * (MAX_FORM_BYTES + 1)}
    assert (await http.post("/login", data=big)).status == 413
    wrong_method = await http.get("/logout")
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "POST"


async def test_sessions_expire(
    http: HTTP, codec: EncryptionCodec, keys: Keys, clock: Clock
) -> None:
    assert (await log_in(http, keys.operator)).status == 303
    body = await sealed_body(codec)
    clock.now += 3599
    assert (await http.post("/decode", json=body, headers=cookie_headers())).status == 200
    clock.now += 1
    expired = await http.post("/decode", json=body, headers=cookie_headers())
    assert "session expired or unknown" in await error_of(expired, 401)
    assert "Signed in" not in await (await http.get("/login")).text()


async def test_revoking_the_key_ends_its_sessions_at_once(
    http: HTTP, codec: EncryptionCodec, keys: Keys
) -> None:
    with session_factory(keys.engine)() as session:
        key, info = create_api_key(session, name="temp", role="operator", tenant="acme")
        session.commit()
    assert (await log_in(http, key)).status == 303
    body = await sealed_body(codec)
    assert (await http.post("/decode", json=body, headers=cookie_headers())).status == 200
    with session_factory(keys.engine)() as session:
        revoke_key(session, info.key_id, now=datetime.now(UTC))
        session.commit()
    refused = await http.post("/decode", json=body, headers=cookie_headers())
    assert "the session is closed" in await error_of(refused, 401)
    again = await http.post("/decode", json=body, headers=cookie_headers())
    assert "session expired or unknown" in await error_of(again, 401)


async def test_logout_closes_the_session_and_clears_the_cookie(
    http: HTTP, codec: EncryptionCodec, keys: Keys
) -> None:
    assert (await log_in(http, keys.operator)).status == 303
    stolen = http.session.cookie_jar.filter_cookies(http.make_url("/"))[SESSION_COOKIE].value
    response = await http.post(
        "/logout", data={"csrf": await csrf_token(http)}, allow_redirects=False
    )
    assert response.status == 303
    assert set_cookies(response)[SESSION_COOKIE].value == ""
    assert SESSION_COOKIE not in http.session.cookie_jar.filter_cookies(http.make_url("/"))
    # The old id is dead server-side too, not merely forgotten by this browser.
    replayed = await http.post(
        "/decode",
        json=await sealed_body(codec),
        headers=cookie_headers() | {"Cookie": f"{SESSION_COOKIE}={stolen}"},
    )
    assert "session expired or unknown" in await error_of(replayed, 401)


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        (
            UI_ORIGIN + "/namespaces/default/workflows/run-1",
            UI_ORIGIN + "/namespaces/default/workflows/run-1",
        ),
        ("https://evil.example/phish", "login"),
        ("//evil.example", "login"),
        ("http://localhost:8233@evil.example/", "login"),
        ("javascript:alert(1)", "login"),
        ("", "login"),
    ],
)
async def test_login_redirects_only_to_an_allowed_ui_page(
    http: HTTP, keys: Keys, next_url: str, location: str
) -> None:
    response = await log_in(http, keys.operator, next=next_url)
    assert response.status == 303
    assert response.headers["Location"] == location


async def test_the_bearer_header_still_works_and_wins_over_the_cookie(
    http: HTTP, codec: EncryptionCodec, keys: Keys
) -> None:
    assert (await log_in(http, keys.operator)).status == 303
    body = await sealed_body(codec)
    bad_bearer = cookie_headers() | {"Authorization": "Bearer ark_wrong"}
    assert "key refused" in await error_of(
        await http.post("/decode", json=body, headers=bad_bearer), 401
    )
    http.session.cookie_jar.clear()
    response = await http.post("/decode", json=body, headers=ui_headers(keys.admin))
    assert response.status == 200


async def test_a_failing_auth_backend_during_login_is_503_html(codec: EncryptionCodec) -> None:
    async def broken(_: str) -> bool:
        raise ConnectionError("store down")

    async with TestClient(TestServer(build_app(codec, broken))) as http:
        response = await log_in(http, "ark_x")
        assert response.status == 503
        html = await response.text()
        assert "authentication backend failed" in html
        assert "Traceback" not in html


def test_the_session_store_expires_evicts_and_hides_ids() -> None:
    clock = Clock()
    store = SessionStore(10, max_sessions=2, clock=clock)
    first, _ = store.open("k1")
    second, session = store.open("k2")
    assert session.expires_at == clock.now + 10
    assert first != second
    assert store.get(first) is not None
    third, _ = store.open("k3")  # full: the oldest goes
    assert store.get(first) is None
    assert store.get(second) is not None
    assert store.get(third) is not None
    assert first not in repr(vars(store))
    assert second not in repr(vars(store))
    clock.now += 10
    assert store.get(second) is None
    assert len(store) == 1
    store.open("k4")  # opening sweeps what expired
    assert len(store) == 1
    with pytest.raises(ValueError, match="must be positive"):
        SessionStore(0)
