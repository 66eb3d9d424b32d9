"""A real MCP server for the MCP tool tests, one tool per annotation case.

Runs over stdio (``python -m tests.support.mcp_server``) or streamable HTTP (``--http PORT``).
``--state FILE`` keeps its items and the log of calls in a JSON file, so a test can see what
the server did (and did not do) from outside the worker that owns the server's process.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, ToolAnnotations
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
SEED = {"A-1": {"sku": "A-1", "name": "anvil", "stock": 3}}


class Item(BaseModel):
    sku: str
    name: str
    stock: int


class Note(BaseModel):
    key: str
    text: str


class Pid(BaseModel):
    pid: int


class Carried(BaseModel):
    header: str | None
    idempotency_key: str | None


class State:
    """The server's items and call log, kept in a file when one is given."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Any] = {"items": dict(SEED), "notes": {}, "calls": []}
        if path is not None and path.exists():
            self.data = json.loads(path.read_text())
        self.save()

    def called(self, tool: str) -> None:
        self.data["calls"].append(tool)
        self.save()

    def save(self) -> None:
        """Whole or not at all: a test may read the file while the server writes it."""
        if self.path is not None:
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(self.data))
            partial.replace(self.path)


def read_state(path: Path) -> dict[str, Any]:
    """What the server at ``--state path`` holds and has been called for."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def build(state: State) -> MCPServer:
    server = MCPServer("agentrun-test-server", log_level="WARNING")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def lookup_item(sku: str) -> Item:
        """Look an item up by its SKU."""
        state.called("lookup_item")
        item = state.data["items"].get(sku)
        if item is None:
            raise ToolError(f"no item {sku}")
        return Item.model_validate(item)

    @server.tool(
        annotations=ToolAnnotations(
            read_only_hint=False,
            idempotent_hint=True,
            destructive_hint=False,
            open_world_hint=False,
        )
    )
    def put_note(key: str, text: str) -> Note:
        """Store a note under a key (the same call twice stores it once)."""
        state.data["notes"][key] = text
        state.called("put_note")
        return Note(key=key, text=text)

    @server.tool(
        annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False),
    )
    def delete_item(sku: str) -> str:
        """Delete an item for good."""
        deleted = state.data["items"].pop(sku, None)
        state.called("delete_item")
        if deleted is None:
            raise ToolError(f"no item {sku}")
        return f"deleted {sku}"

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True),
        structured_output=False,
    )
    def fetch_page(url: str) -> str:
        """Fetch a web page (a canned one: the tests make no network calls)."""
        state.called("fetch_page")
        return f"<html>page at {url}</html>"

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case a text; declares no annotations at all."""
        state.called("shout")
        return text.upper()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def always_fails(reason: str) -> str:
        """Report an error result (isError) every time."""
        state.called("always_fails")
        raise ToolError(f"refused: {reason}")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def overloaded() -> str:
        """Answer with a JSON-RPC error instead of a result."""
        raise MCPError(INTERNAL_ERROR, "overloaded, try later")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def server_pid() -> Pid:
        """This server process's id: the same one across calls means one session is reused."""
        return Pid(pid=os.getpid())

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def carried(ctx: Context) -> Carried:
        """What the call carried: its X-Test header (HTTP only) and agentrun's idempotency key."""
        meta: dict[str, Any] = dict(ctx.request_context.meta or {})
        return Carried(
            header=(ctx.headers or {}).get("x-test"),
            idempotency_key=meta.get("agentrun/idempotency-key"),
        )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def crash() -> str:
        """End the server process mid-call, as a crashing server would."""
        os._exit(3)

    return server


def server_pids(state: Path) -> list[int]:
    """Processes serving ``--state state`` (Linux's /proc; elsewhere none are found)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:  # it ended while we looked
            continue
        if b"tests.support.mcp_server" in args and str(state).encode() in args:
            pids.append(int(cmdline.parent.name))
    return pids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def http_server(state: Path | None = None, timeout: float = 20.0) -> Iterator[str]:
    """This server over streamable HTTP in a process of its own; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "tests.support.mcp_server", "--http", str(port)]
    if state is not None:
        command += ["--state", str(state)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"MCP test server on port {port} did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP")
    parser.add_argument("--state", type=Path, help="keep items and the call log in this file")
    options = parser.parse_args()
    server = build(State(options.state))
    if options.http is None:
        server.run()
    else:
        server.run("streamable-http", port=options.http)


if __name__ == "__main__":
    main()
