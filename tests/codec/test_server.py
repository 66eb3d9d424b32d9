"""The codec server over real HTTP, authenticated against a real run store's API keys.

Requests have the shape the Temporal Web UI sends (``Content-Type``, ``X-Namespace``,
``Authorization`` and the browser's ``Origin``), including the CORS preflight before them.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from temporalio.api.common.v1 import Payload

from agentrun.cli.codec import store_authenticator
from agentrun.codec.cipher import EncryptionCodec, Keyring
from agentrun.codec.server import build_app
from tests.support.codec_http import (
    K1,
    K2,
    SECRET_TEXT,
    UI_ORIGIN,
    Keys,
    as_json,
    from_json,
    ui_headers,
)


@pytest.fixture
async def http(codec: EncryptionCodec, keys: Keys) -> AsyncIterator[TestClient[Any, Any]]:
    app = build_app(codec, store_authenticator(keys.engine), ui_origins=[UI_ORIGIN])
    async with TestClient(TestServer(app)) as client:
        yield client


async def error_of(response: ClientResponse, status: int) -> str:
    assert response.status == status
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    assert "Traceback" not in body["error"]
    message: str = body["error"]
    return message


async def test_decode_with_an_operator_key_returns_plaintext(
    http: TestClient[Any, Any], codec: EncryptionCodec, keys: Keys
) -> None:
    original = Payload(metadata={"encoding": b"json/plain"}, data=SECRET_TEXT.encode())
    sealed = await codec.encode([original])
    assert SECRET_TEXT.encode() not in sealed[0].SerializeToString()
    for key in (keys.operator, keys.admin):
        response = await http.post("/decode", json=as_json(sealed), headers=ui_headers(key))
        assert response.status == 200, await response.text()
        assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        assert from_json(await response.json()) == [original]


async def test_encode_then_decode_over_http_under_a_path_prefix(
    http: TestClient[Any, Any], keys: Keys
) -> None:
    """Only the last path segment counts: servers may sit under /<namespace>/ and the like."""
    original = [Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"'), Payload()]
    encoded = await http.post(
        "/default/encode", json=as_json(original), headers=ui_headers(keys.operator)
    )
    assert encoded.status == 200
    sealed = from_json(await encoded.json())
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in sealed)
    assert all(p.metadata["encryption-key-id"] == b"k2" for p in sealed)
    decoded = await http.post(
        "/default/decode", json=as_json(sealed), headers=ui_headers(keys.operator)
    )
    assert from_json(await decoded.json()) == original


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ark_0000000000000000_" + "0" * 64, "Basic b3BzOm9wcw==", "Bearer"],
)
async def test_requests_without_a_valid_key_get_401(
    http: TestClient[Any, Any], codec: EncryptionCodec, authorization: str | None
) -> None:
    headers = ui_headers(None)
    if authorization is not None:
        headers["Authorization"] = authorization
    sealed = await codec.encode([Payload(data=SECRET_TEXT.encode())])
    response = await http.post("/decode", json=as_json(sealed), headers=headers)
    message = await error_of(response, 401)
    assert SECRET_TEXT not in await response.text()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # The browser may read the refusal: CORS headers are on errors too.
    assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    assert "Bearer" in message or "refused" in message


async def test_keys_without_the_role_or_revoked_are_refused(
    http: TestClient[Any, Any], codec: EncryptionCodec, keys: Keys
) -> None:
    sealed = await codec.encode([Payload(data=SECRET_TEXT.encode())])
    for key in (keys.reviewer, keys.revoked):
        response = await http.post("/decode", json=as_json(sealed), headers=ui_headers(key))
        assert "operator/admin" in await error_of(response, 401)


async def test_cors_preflight_answers_the_ui_origin_without_auth(
    http: TestClient[Any, Any],
) -> None:
    response = await http.options(
        "/decode",
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    assert response.headers["Vary"] == "Origin"
    # The UI's fetch with credentials: "include" needs this on the preflight too.
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


async def test_other_origins_get_no_cors_grant(
    http: TestClient[Any, Any], codec: EncryptionCodec, keys: Keys
) -> None:
    evil = "http://evil.example"
    preflight = await http.options(
        "/decode", headers={"Origin": evil, "Access-Control-Request-Method": "POST"}
    )
    assert "not an allowed UI origin" in await error_of(preflight, 403)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    sealed = await codec.encode([Payload(data=b"x")])
    post = await http.post("/decode", json=as_json(sealed), headers=ui_headers(keys.operator, evil))
    assert "Access-Control-Allow-Origin" not in post.headers  # the browser will not expose it


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", 'body must be a JSON object {"payloads": [...]}'),
        (b'{"payloads": "x"}', 'body must be a JSON object {"payloads": [...]}'),
        (b'{"payloads": [{"data": 5}]}', "body is not a Payloads message"),
        (b'{"payloads": [{"metadata": {"encoding": [1]}}]}', "body is not a Payloads message"),
        (b'{"payloads": [{"nonsense": 1}]}', "body is not a Payloads message"),
        (b"\xff\xfe", "body is not valid JSON"),
    ],
)
async def test_malformed_bodies_get_400_with_a_clear_json_error(
    http: TestClient[Any, Any], keys: Keys, body: bytes, expected: str
) -> None:
    response = await http.post("/decode", data=body, headers=ui_headers(keys.operator))
    assert expected in await error_of(response, 400)


async def test_undecryptable_payloads_get_400_naming_the_key_id(
    http: TestClient[Any, Any], keys: Keys
) -> None:
    foreign = await EncryptionCodec(Keyring({"k9": bytes(32)})).encode([Payload(data=b"x")])
    response = await http.post("/decode", json=as_json(foreign), headers=ui_headers(keys.admin))
    message = await error_of(response, 400)
    assert "key id 'k9'" in message
    assert "AGENTRUN_CODEC_KEYS" in message


async def test_wrong_method_path_and_size(codec: EncryptionCodec, keys: Keys) -> None:
    app = build_app(codec, store_authenticator(keys.engine), max_body_bytes=1024)
    async with TestClient(TestServer(app)) as http:
        assert "use POST" in await error_of(await http.get("/decode"), 405)
        assert "encode and .../decode" in await error_of(await http.post("/other"), 404)
        big = as_json([Payload(data=bytes(4096))])
        response = await http.post("/decode", json=big, headers=ui_headers(keys.operator))
        assert "larger than 1024 bytes" in await error_of(response, 413)


async def test_a_failing_auth_backend_is_503_not_a_traceback(codec: EncryptionCodec) -> None:
    async def broken(_: str) -> bool:
        raise ConnectionError("store down")

    async with TestClient(TestServer(build_app(codec, broken))) as http:
        response = await http.post("/decode", json={"payloads": []}, headers=ui_headers("k"))
        assert "authentication backend failed" in await error_of(response, 503)


# ----------------------------------------------------------------- the command


def run_codec_server_command(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``agentrun codec-server`` as cli.py mounts it: the command function, run by typer."""
    code = "import typer; from agentrun.cli.codec import codec_server; typer.run(codec_server)"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_json_document(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The first JSON document on stdout (``--json`` output is indented over several lines)."""
    assert process.stdout is not None
    text = ""
    while line := process.stdout.readline():
        text += line
        try:
            document: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError:
            continue
        return document
    process.wait(10)
    raise AssertionError(f"no JSON document; stderr: {process.communicate()[1]}")


def key_line(kid: str, key: bytes) -> str:
    return f"{kid}:{base64.b64encode(key).decode()}"


async def test_the_command_serves_store_keys_and_stops_on_sigterm(
    keys: Keys, codec: EncryptionCodec
) -> None:
    env = {
        **os.environ,
        "AGENTRUN_CODEC_KEYS": f"{key_line('k1', K1)},{key_line('k2', K2)}",
        "AGENTRUN_CODEC_ACTIVE_KEY": "k2",
        "AGENTRUN_DATABASE_URL": str(keys.engine.url),
        "AGENTRUN_LOG_LEVEL": "WARNING",
    }
    process = run_codec_server_command(env, "--port", "0", "--json")
    started = read_json_document(process)
    assert started["kids"] == ["k1", "k2"]
    assert started["active_kid"] == "k2"
    assert started["login_url"] == started["url"] + "/login"
    sealed = await codec.encode([Payload(data=SECRET_TEXT.encode())])
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            started["url"] + "/decode", json=as_json(sealed), headers=ui_headers(keys.operator)
        ) as response,
    ):
        assert response.status == 200
        assert from_json(await response.json())[0].data == SECRET_TEXT.encode()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("env_update", "expected"),
    [
        ({}, "error: AGENTRUN_CODEC_KEYS is not set"),
        ({"AGENTRUN_CODEC_KEYS": "k1:abc"}, "error: invalid settings: codec_keys: entry 1"),
        (
            {"AGENTRUN_CODEC_KEYS": key_line("k1", K1), "AGENTRUN_CODEC_ACTIVE_KEY": "k7"},
            "error: invalid settings: codec_active_key: active key id 'k7'",
        ),
    ],
)
def test_the_command_fails_in_one_line_on_bad_settings(
    tmp_path: Path, env_update: dict[str, str], expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTRUN_CODEC")}
    env |= {"AGENTRUN_DATA_DIR": str(tmp_path), **env_update}
    process = run_codec_server_command(env, "--port", "0")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.startswith(expected), stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_the_command_needs_a_store_with_api_keys(tmp_path: Path) -> None:
    env = {**os.environ, "AGENTRUN_DATA_DIR": str(tmp_path)}
    env["AGENTRUN_CODEC_KEYS"] = key_line("k1", K1)
    env.pop("AGENTRUN_DATABASE_URL", None)
    (tmp_path / "agentrun.db").touch()
    process = run_codec_server_command(env, "--port", "0")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "has no API key table: run agentrun db upgrade" in stderr


def test_the_command_rejects_a_ui_origin_with_a_path(keys: Keys) -> None:
    env = {**os.environ, "AGENTRUN_DATABASE_URL": str(keys.engine.url)}
    env["AGENTRUN_CODEC_KEYS"] = key_line("k1", K1)
    process = run_codec_server_command(env, "--port", "0", "--ui-origin", "http://ui/path")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.startswith("error: --ui-origin: UI origin 'http://ui/path' must be"), stderr


def test_the_command_says_when_the_port_is_taken(keys: Keys) -> None:
    env = {**os.environ, "AGENTRUN_DATABASE_URL": str(keys.engine.url)}
    env["AGENTRUN_CODEC_KEYS"] = key_line("k1", K1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = run_codec_server_command(env, "--port", str(port))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}"), stderr
