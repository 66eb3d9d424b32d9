"""The Temporal Web UI in a real headless Chromium decrypts a run's payloads through the codec
server once an operator has logged in there, and not before nor after logging out.

Everything is real: a dev server started with ``--ui-codec-endpoint``, a worker and client on
the encrypting converter, the codec server checking an operator key from a run store, and the
UI's own JavaScript calling it. The dev server cannot tell its UI to send credentials (it sets
only the endpoint), so the test flips the one switch an operator flips: Codec Server settings,
browser endpoint, "Include cross-origin credentials".
"""

import base64
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect
from pydantic import SecretStr

from agentrun.cli.codec import store_authenticator
from agentrun.cli.devserver import DevServer, free_port
from agentrun.client import AgentRunClient, connect
from agentrun.codec.cipher import EncryptionCodec
from agentrun.codec.login import SESSION_COOKIE
from agentrun.codec.server import build_app
from agentrun.contracts import RunRequest, RunState
from agentrun.converter import data_converter
from agentrun.settings import Settings
from agentrun.store.db import make_engine, session_factory
from agentrun.store.keys import create_api_key
from agentrun.workers.worker import build_worker
from tests.support.store import migrate_data_dir
from tests.support.waiting import ui_server_settings

KEY = base64.b64encode(bytes(range(7, 39))).decode()
WAIT_MS = 20_000


def find_chromium() -> str | None:
    """AGENTRUN_CHROMIUM, else a Chromium or Chrome on PATH (Debian: apt-get install chromium)."""
    configured = os.environ.get("AGENTRUN_CHROMIUM")
    if configured:
        return configured
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((found for name in names if (found := shutil.which(name))), None)


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found: apt-get install -y chromium, or set AGENTRUN_CHROMIUM to a "
    "Chromium/Chrome binary",
)


@dataclass
class Stack:
    ui_origin: str
    endpoint: str
    operator_key: str
    run_id: str
    marker: str
    ciphertext: str  # the run input's encrypted data, base64, as the UI shows it undecoded
    decode_statuses: list[int] = field(default_factory=list)

    @property
    def run_page(self) -> str:
        return f"{self.ui_origin}/namespaces/default/workflows/{self.run_id}"


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    """Dev server + UI, encrypting worker and client, one finished run, and the codec server."""
    engine = make_engine(migrate_data_dir(tmp_path / "keys"))
    with session_factory(engine)() as session:
        operator_key, _ = create_api_key(session, name="ops", role="operator", tenant="acme")
        session.commit()
    encrypting = settings.model_copy(
        update={
            "codec_keys": SecretStr(f"ui1:{KEY}"),
            "codec_active_key": None,
            "task_queue": "agentrun-ui-browser-tests",
        }
    )
    ui_port, codec_port = free_port(), free_port()
    ui_origin = f"http://127.0.0.1:{ui_port}"
    endpoint = f"http://127.0.0.1:{codec_port}"  # same host as the UI: one site for the cookie
    dev = DevServer(
        port=free_port(),
        ui_port=ui_port,
        ui_codec_endpoint=endpoint,
        extra_args=["--ui-disable-news-fetch"],
    )
    runner: web.AppRunner | None = None
    try:
        await dev.astart()
        client = await connect(dev.address, data_converter=data_converter(encrypting))
        codec = client.data_converter.payload_codec
        assert isinstance(codec, EncryptionCodec)
        app = build_app(codec, store_authenticator(engine), ui_origins=[ui_origin])
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", codec_port).start()
        async with build_worker(client, encrypting):
            runs = AgentRunClient(client, encrypting.task_queue)
            marker = f"pangolin-{uuid.uuid4().hex}"
            run_id = await runs.start(
                RunRequest(agent="echo", input={"key": marker}, tenant_id="acme")
            )
            assert (await runs.result(run_id)).state is RunState.COMPLETED
        history = await client.get_workflow_handle(run_id).fetch_history()
        [sealed] = history.events[0].workflow_execution_started_event_attributes.input.payloads
        assert marker.encode() not in sealed.SerializeToString()
        ui_codec = (await ui_server_settings(ui_port))["Codec"]
        # Why the switch is flipped in the browser: the dev server sets only the endpoint.
        assert ui_codec["Endpoint"] == endpoint
        assert ui_codec["IncludeCredentials"] is False
        yield Stack(
            ui_origin,
            endpoint,
            operator_key,
            run_id,
            marker,
            base64.b64encode(sealed.data).decode(),
        )
    finally:
        if runner is not None:
            await runner.cleanup()
        await dev.astop()
        engine.dispose()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


async def use_codec_server_with_credentials(page: Page, stack: Stack) -> None:
    """What docs/encryption.md tells operators to do once per browser, done through the UI."""
    await page.goto(f"{stack.ui_origin}/namespaces/default/workflows")
    await page.get_by_test_id("data-encoder-status-configured").click()
    dialog = page.locator("#data-encoder-settings")
    await dialog.get_by_test_id("use-local-endpoint-input").check()
    await dialog.get_by_test_id("data-encoder-endpoint-input").fill(stack.endpoint)
    await dialog.get_by_test_id("data-encoder-include-credentials").click()
    await dialog.get_by_test_id("confirm-modal-button").click()
    stored = await page.evaluate("() => ({...localStorage})")
    assert stored["includeCredentials"] == "true"
    assert stored["overrideRemoteCodecConfiguration"] == "true"


async def shows_ciphertext_only(page: Page, stack: Stack) -> None:
    stack.decode_statuses.clear()
    await page.goto(stack.run_page)
    await expect(page.locator("body")).to_contain_text(stack.ciphertext[:48], timeout=WAIT_MS)
    assert stack.marker not in await page.locator("body").inner_text()
    assert 401 in stack.decode_statuses
    assert 200 not in stack.decode_statuses


async def test_the_ui_decrypts_through_the_codec_server_only_while_logged_in(
    stack: Stack, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    page.on(
        "response",
        lambda r: stack.decode_statuses.append(r.status) if "/decode" in r.url else None,
    )
    await use_codec_server_with_credentials(page, stack)

    # Control: the UI does call the codec server, with credentials, and is refused.
    await shows_ciphertext_only(page, stack)

    # Log in at the codec server; it sends the browser back to the run's page.
    await page.goto(f"{stack.endpoint}/login?next={stack.run_page}")
    await page.fill("#api_key", stack.operator_key)
    stack.decode_statuses.clear()
    await page.click("button[type=submit]")
    await page.wait_for_url(stack.run_page)
    await expect(page.locator("body")).to_contain_text(stack.marker, timeout=WAIT_MS)
    assert stack.ciphertext[:48] not in await page.locator("body").inner_text()
    assert 200 in stack.decode_statuses
    [cookie] = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert stack.operator_key not in cookie["value"]

    # Log out: the same page is ciphertext again.
    await page.goto(f"{stack.endpoint}/login")
    await page.click("text=Log out")
    await expect(page.locator("#api_key")).to_be_visible()
    await shows_ciphertext_only(page, stack)
    await context.close()
