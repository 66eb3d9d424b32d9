"""Encrypted payloads against a real Temporal dev server: history holds only ciphertext.

A client and a worker on the encrypting converter run agents whose input carries a distinctive
marker; a client without the codec then reads the raw history and finds the marker nowhere (not
in inputs, tool calls, results, failures or their messages), while the codec-equipped client
still reads the result. The UI's path is checked too: a dev server started with
``--ui-codec-endpoint`` tells the UI about a real codec server, which answers the UI's preflight
and its decode request for the payloads of that very history.
"""

import asyncio
import base64
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from agentrun.cli.codec import store_authenticator
from agentrun.cli.devserver import DevServer, free_port
from agentrun.client import AgentRunClient, connect
from agentrun.codec.cipher import ENCODING, EncryptionCodec
from agentrun.codec.server import build_app
from agentrun.contracts import RunRequest, RunState
from agentrun.converter import data_converter
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.keys import create_api_key
from agentrun.workers.worker import build_worker
from tests.support.store import migrate_data_dir
from tests.support.waiting import ui_server_settings

K_OLD = base64.b64encode(bytes(range(32))).decode()
K_NEW = base64.b64encode(bytes(range(100, 132))).decode()
K_NEWER = base64.b64encode(bytes(range(200, 232))).decode()
TEMPORAL = str(Path(sys.executable).parent / "temporal")


@dataclass
class Encrypted:
    settings: Settings
    client: Client
    runs: AgentRunClient


@pytest.fixture(scope="module")
async def encrypted(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[Encrypted]:
    """A worker and a client of their own, on the encrypting converter, on a queue of their own
    (the session's plain worker must not pick these runs up)."""
    encrypting = settings.model_copy(
        update={
            "codec_keys": SecretStr(f"old:{K_OLD},new:{K_NEW}"),
            "codec_active_key": "new",
            "task_queue": "agentrun-encrypted-tests",
        }
    )
    client = await connect(
        temporal_env.client.service_client.config.target_host,
        data_converter=data_converter(encrypting),
    )
    worker = build_worker(client, encrypting)
    async with worker:
        yield Encrypted(encrypting, client, AgentRunClient(client, encrypting.task_queue))


def history_bytes(history: WorkflowHistory) -> bytes:
    events = b"".join(event.SerializeToString() for event in history.events)
    return events + history.to_json().encode()


def all_payloads(event: HistoryEvent) -> dict[str, Payload]:
    """Every Payload message anywhere in an event, however deeply nested, by field path."""
    found: dict[str, Payload] = {}

    def walk(message: Message, path: str) -> None:
        if isinstance(message, Payload):
            found[path] = message
            return
        for field, value in message.ListFields():
            if field.message_type is None:
                continue
            if isinstance(value, Message):
                walk(value, f"{path}.{field.name}")
                continue
            items = value.items() if hasattr(value, "items") else enumerate(value)
            for key, item in items:
                if isinstance(item, Message):
                    walk(item, f"{path}.{field.name}[{key}]")

    walk(event, f"#{event.event_id}")
    return found


# Left in clear on purpose: search attributes (visibility queries need them; they hold agent,
# tenant, state and version, never input) and the SDK's local-activity marker bookkeeping
# (sequence numbers and times; the activity's result sits beside it, encrypted).
CLEAR_BY_DESIGN = re.compile(
    r"\.search_attributes\.|\.marker_recorded_event_attributes\.details\[data\]"
)


async def test_history_holds_no_plaintext_and_the_codec_client_reads_the_result(
    encrypted: Encrypted, temporal_env: WorkflowEnvironment
) -> None:
    marker = f"zebra-{uuid.uuid4().hex}"
    run_id = await encrypted.runs.start(
        RunRequest(agent="echo", input={"key": marker}, tenant_id="acme")
    )
    result = await encrypted.runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {"answer": "done", "key": marker}
    status = await encrypted.runs.status(run_id)  # queries go through the codec too
    assert [c.tool for c in status.tool_calls] == ["echo"]

    plain = temporal_env.client  # the pydantic converter, no codec
    history = await plain.get_workflow_handle(run_id).fetch_history()
    raw = history_bytes(history)
    assert marker.encode() not in raw
    payloads = {
        path: payload
        for event in history.events
        for path, payload in all_payloads(event).items()
        if not CLEAR_BY_DESIGN.search(path)
    }
    assert len(payloads) >= 6  # run input, model/tool calls and results, the result
    assert {p.metadata["encoding"] for p in payloads.values()} == {ENCODING}
    assert {p.metadata["encryption-key-id"] for p in payloads.values()} == {b"new"}
    with pytest.raises(Exception, match="binary/encrypted"):
        await plain.get_workflow_handle(run_id).result()


async def test_failure_messages_are_encrypted_too(
    encrypted: Encrypted, temporal_env: WorkflowEnvironment
) -> None:
    """The strict agent's tool fails with the key in its message ("no such record <key>")."""
    marker = f"okapi-{uuid.uuid4().hex}"
    run_id = await encrypted.runs.start(
        RunRequest(agent="strict", input={"key": marker}, tenant_id="acme")
    )
    result = await encrypted.runs.result(run_id)
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert marker in result.failure.message  # readable with the codec...
    history = await temporal_env.client.get_workflow_handle(run_id).fetch_history()
    assert marker.encode() not in history_bytes(history)  # ...and only with it


async def test_runs_started_before_a_rotation_still_read_after_it(
    encrypted: Encrypted, temporal_env: WorkflowEnvironment
) -> None:
    marker = f"tapir-{uuid.uuid4().hex}"
    run_id = await encrypted.runs.start(
        RunRequest(agent="echo", input={"key": marker}, tenant_id="acme")
    )
    await encrypted.runs.result(run_id)
    # Rotated: a newer active key, "new" kept for reading, "old" dropped.
    rotated = encrypted.settings.model_copy(
        update={"codec_keys": SecretStr(f"newer:{K_NEWER},new:{K_NEW}"), "codec_active_key": None}
    )
    reader = await connect(
        temporal_env.client.service_client.config.target_host,
        data_converter=data_converter(rotated),
    )
    result = await AgentRunClient(reader, rotated.task_queue).result(run_id)
    assert result.output == {"answer": "done", "key": marker}


# ----------------------------------------------------------------- the Web UI's path


@pytest.fixture(scope="module")
def operator_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, str]:
    engine = make_engine(migrate_data_dir(tmp_path_factory.mktemp("codec-ui-store")))
    with session_factory(engine)() as session:
        key, _ = create_api_key(session, name="ops", role="operator", tenant="acme")
        session.commit()
    return engine, key


async def test_ui_decodes_history_payloads_through_the_codec_server(
    encrypted: Encrypted,
    temporal_env: WorkflowEnvironment,
    operator_key: tuple[Engine, str],
) -> None:
    engine, key = operator_key
    marker = f"quokka-{uuid.uuid4().hex}"
    run_id = await encrypted.runs.start(
        RunRequest(agent="echo", input={"key": marker}, tenant_id="acme")
    )
    await encrypted.runs.result(run_id)
    history = await temporal_env.client.get_workflow_handle(run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes.input
    assert marker.encode() not in started.SerializeToString()

    ui_port = free_port()
    ui_origin = f"http://localhost:{ui_port}"
    codec = encrypted.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    runner = web.AppRunner(build_app(codec, store_authenticator(engine), ui_origins=[ui_origin]))
    await runner.setup()
    codec_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", codec_port).start()
    endpoint = f"http://127.0.0.1:{codec_port}"
    dev = DevServer(port=free_port(), ui_port=ui_port, ui_codec_endpoint=endpoint)
    try:
        await dev.astart()
        command = dev.command()
        assert command[command.index("--ui-codec-endpoint") + 1] == endpoint
        ui_settings = await ui_server_settings(ui_port)
        assert ui_settings["Codec"]["Endpoint"] == endpoint

        # What the UI's browser does: the preflight, then data-encoder.ts's POST .../decode.
        body = {"payloads": [json_format.MessageToDict(p) for p in started.payloads]}
        async with aiohttp.ClientSession() as http:
            preflight = await http.options(
                endpoint + "/decode",
                headers={
                    "Origin": ui_origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
                },
            )
            assert preflight.status == 204
            assert preflight.headers["Access-Control-Allow-Origin"] == ui_origin
            headers = {
                "Content-Type": "application/json",
                "X-Namespace": "default",
                "Origin": ui_origin,
            }
            refused = await http.post(endpoint + "/decode", json=body, headers=headers)
            assert refused.status == 401
            assert marker not in await refused.text()
            headers["Authorization"] = f"Bearer {key}"
            decoded = await http.post(endpoint + "/decode", json=body, headers=headers)
            assert decoded.status == 200
            assert decoded.headers["Access-Control-Allow-Origin"] == ui_origin
            [payload] = [
                json_format.ParseDict(p, Payload()) for p in (await decoded.json())["payloads"]
            ]
        assert payload.metadata["encoding"] == b"json/plain"
        assert json.loads(payload.data)["input"] == {"key": marker}
    finally:
        await dev.astop()
        await runner.cleanup()


async def test_temporal_cli_shows_decoded_history_with_codec_auth(
    encrypted: Encrypted,
    temporal_env: WorkflowEnvironment,
    operator_key: tuple[Engine, str],
) -> None:
    """``temporal workflow show --codec-endpoint --codec-auth``: the codec server's other
    client, and the way operators read payloads where the UI has no token to pass."""
    engine, key = operator_key
    marker = f"numbat-{uuid.uuid4().hex}"
    run_id = await encrypted.runs.start(
        RunRequest(agent="echo", input={"key": marker}, tenant_id="acme")
    )
    await encrypted.runs.result(run_id)
    codec = encrypted.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    runner = web.AppRunner(build_app(codec, store_authenticator(engine)))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    address = temporal_env.client.service_client.config.target_host
    base = [TEMPORAL, "workflow", "show", "-w", run_id, "--address", address, "-o", "json"]
    codec_args = ["--codec-endpoint", f"http://127.0.0.1:{port}"]
    try:
        raw = await run(base)
        assert marker not in payload_texts(raw)
        decoded = await run([*base, *codec_args, "--codec-auth", f"Bearer {key}"])
        assert marker in payload_texts(decoded)
        refused = await run([*base, *codec_args, "--codec-auth", "Bearer ark_wrong"], check=False)
        assert marker not in refused
    finally:
        await runner.cleanup()


def payload_texts(output: str) -> str:
    """The CLI's JSON shows payload data base64-encoded: every ``data`` value, decoded."""
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "data" and isinstance(value, str):
                    texts.append(base64.b64decode(value).decode(errors="replace"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(output))
    return "\n".join(texts)


async def run(argv: list[str], *, check: bool = True) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    if check:
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()
    return stdout.decode() + stderr.decode()
