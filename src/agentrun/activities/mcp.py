"""MCP tools at run time: a session per server, discovery when the worker starts, the calls.

The sessions live on an event loop of their own, in a thread the worker owns. ``build_worker``
is synchronous, yet must know every tool before it registers the activities, so discovery
blocks the worker's start; and the SDK's transports are anyio task groups that one task must
enter and leave, so a keeper task per session holds it open between calls, on a loop no
activity can stall and whose transport failures cannot cancel an activity's task. Activities
hand their calls over and await the answer; cancelling an activity cancels its call.
"""

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import anyio
import httpx2
import structlog
from mcp import Client, StdioServerParameters
from mcp.client import Transport
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CONNECTION_CLOSED,
    INTERNAL_ERROR,
    REQUEST_TIMEOUT,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    Implementation,
    RequestParamsMeta,
    ResourceLink,
    TextContent,
    TextResourceContents,
    Tool,
)
from temporalio.exceptions import ApplicationError

from agentrun import __version__
from agentrun.activities.errors import tool_failure
from agentrun.agents.mcp import (
    McpContractError,
    McpHttpServer,
    McpServer,
    McpStdioServer,
    SchemaModel,
    mcp_tool,
    wraps_output,
)
from agentrun.agents.registry import (
    AgentDefinition,
    AgentRegistry,
    ToolContext,
    ToolDefinition,
    ToolFn,
)
from agentrun.contracts.names import ErrorType
from agentrun.contracts.tools import ToolContract
from agentrun.errors import UserError
from agentrun.logic.retry import ErrorClass, effective_error

log = structlog.get_logger(__name__)

T = TypeVar("T")

CLIENT_INFO = Implementation(name="agentrun", version=__version__)
# Sent with every call: a server that deduplicates on it makes a non-idempotent tool safe to
# retry (override accepts_idempotency_key=True).
IDEMPOTENCY_META_KEY = "agentrun/idempotency-key"
MAX_TOOL_PAGES = 100
MAX_MESSAGE_CHARS = 500
CLOSE_TIMEOUT_S = 15.0


class McpStartupError(UserError, RuntimeError):
    """A declared MCP server the worker cannot use, so it does not start."""


class _Session:
    """One server's session: opened on first use, kept across calls, reopened after it broke.

    Only the sessions' own loop touches it.
    """

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self._client: Client | None = None
        self._stop: asyncio.Event | None = None
        self._keepers: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    async def list_tools(self) -> list[Tool]:
        client = await self._connected()
        tools: list[Tool] = []
        cursor: str | None = None
        async with asyncio.timeout(self.server.connect_timeout.total_seconds()):
            for _ in range(MAX_TOOL_PAGES):
                page = await client.list_tools(cursor=cursor)
                tools += page.tools
                cursor = page.next_cursor
                if cursor is None:
                    break
        return tools

    async def call(
        self, tool: str, arguments: dict[str, Any], seconds: float, key: str
    ) -> CallToolResult:
        """The call's result; a lost connection raises ConnectionError (the session reopens on
        the next call) and no answer in time TimeoutError: both are retried per the contract."""
        client = await self._connected()
        meta = cast(RequestParamsMeta, {IDEMPOTENCY_META_KEY: key})
        try:
            return await client.call_tool(tool, arguments, read_timeout_seconds=seconds, meta=meta)
        except MCPError as err:
            if err.code == REQUEST_TIMEOUT:
                raise TimeoutError(f"no answer from MCP server within {seconds:g}s") from None
            if err.code != CONNECTION_CLOSED:
                raise
            self._drop(client)
            raise ConnectionError(f"MCP server {self.server.name}: connection closed") from None
        except (OSError, httpx2.TransportError, anyio.BrokenResourceError) as err:
            self._drop(client)
            raise ConnectionError(f"MCP server {self.server.name}: {reason(err)}") from err

    async def close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self._client = None
        if self._keepers:
            _, stuck = await asyncio.wait(set(self._keepers), timeout=CLOSE_TIMEOUT_S)
            for task in stuck:
                task.cancel()

    async def _connected(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await self._open()
            return self._client

    async def _open(self) -> Client:
        ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        keeper = asyncio.create_task(self._keep(ready, stop))
        self._keepers.add(keeper)
        keeper.add_done_callback(self._keepers.discard)
        seconds = self.server.connect_timeout.total_seconds()
        try:
            async with asyncio.timeout(seconds):
                client = await asyncio.shield(ready)
        except TimeoutError:
            keeper.cancel()
            raise TimeoutError(f"no answer within {seconds:g}s") from None
        except Exception as err:
            raise ConnectionError(f"cannot connect: {reason(err)}") from err
        except BaseException:
            keeper.cancel()
            raise
        self._stop = stop
        return client

    async def _keep(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        client: Client | None = None
        try:
            async with Client(self._transport(), cache=None, client_info=CLIENT_INFO) as client:
                ready.set_result(client)
                await stop.wait()
        except Exception as err:  # noqa: BLE001 -- whatever ends the session is reported once
            if not ready.done():
                ready.set_exception(err)
            else:
                log.warning("MCP session ended", server=self.server.name, error=reason(err))
        finally:
            if client is not None and self._client is client:
                self._client = None

    def _drop(self, client: Client) -> None:
        if self._client is client:
            self._client = None
            if self._stop is not None:
                self._stop.set()

    def _transport(self) -> Transport | StdioServerParameters:
        server = self.server
        if isinstance(server, McpStdioServer):
            return StdioServerParameters(
                command=server.command, args=list(server.args), env=server.env, cwd=server.cwd
            )
        assert isinstance(server, McpHttpServer)  # noqa: S101 -- McpServer refuses other kinds
        return _http_transport(server.url, server.headers)


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    """Streamable HTTP with the server's headers; the SDK closes only clients it made."""
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


class McpSessions:
    """The worker's MCP sessions, one per declared server, and the tools they serve."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sessions: dict[tuple[object, ...], _Session] = {}
        # Agents that declare the same server share its tools (one activity per tool).
        self._tools: dict[tuple[object, ...], ToolDefinition] = {}

    @classmethod
    def for_registry(cls, registry: AgentRegistry) -> "McpSessions":
        """Sessions for every MCP server the registry's agents declare, their tools added to
        the agents; any failure closes what was opened and raises one line naming the agent."""
        sessions = cls()
        try:
            for definition in list(registry.definitions()):
                if definition.mcp_servers:
                    registry.add_mcp_tools(definition, sessions._tools_of(definition))
        except BaseException:
            sessions.close()
            raise
        return sessions

    def close(self) -> None:
        """End every session (a stdio server's process with it) and the sessions' thread."""
        loop, thread = self._loop, self._thread
        self._loop = None
        if loop is None or thread is None:
            return
        sessions = list(self._sessions.values())

        async def close_all() -> None:
            await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(CLOSE_TIMEOUT_S + 5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_TIMEOUT_S)
            if not thread.is_alive():
                loop.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def _tools_of(self, definition: AgentDefinition) -> tuple[ToolDefinition, ...]:
        ref = definition.spec.ref
        names = [server.name for server in definition.mcp_servers]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise McpStartupError(f"agent {ref}: MCP server {twice[0]!r} is declared twice")
        tools: list[ToolDefinition] = []
        for server in definition.mcp_servers:
            try:
                tools += self._server_tools(server)
            except (McpContractError, OSError, MCPError) as err:
                raise McpStartupError(
                    f"agent {ref}: MCP server {server.name!r} ({server.describe()}): {reason(err)}"
                ) from None
        names = [t.contract.name for t in (*definition.tools, *tools)]
        clash = next((name for name in names if names.count(name) > 1), None)
        if clash is not None:
            raise McpStartupError(
                f"agent {ref}: two of its tools would be named {clash!r}: name one of them in "
                "its MCP server's overrides (overrides[<tool>].name)"
            )
        return tuple(tools)

    def _server_tools(self, server: McpServer) -> list[ToolDefinition]:
        session = self._sessions.setdefault(server.identity(), _Session(server))
        # The session bounds connecting and listing each by connect_timeout.
        wait = 2 * server.connect_timeout.total_seconds() + 5
        listed = {tool.name: tool for tool in self._blocking(session.list_tools(), wait)}
        missing = [name for name in server.wanted() if name not in listed]
        if missing:
            raise McpContractError(
                f"lists no tool {', '.join(map(repr, missing))} "
                f"(it lists {', '.join(sorted(listed)) or 'none'})"
            )
        taken = server.tools if server.tools is not None else tuple(listed)
        return [self._tool(session, server, listed[name]) for name in taken]

    def _tool(self, session: _Session, server: McpServer, tool: Tool) -> ToolDefinition:
        override = server.overrides.get(tool.name)
        retry_errors = override is not None and override.retry_error_results

        def calls(contract: ToolContract) -> ToolFn:
            return self._call_fn(session, tool, contract, retry_errors=retry_errors)

        definition = mcp_tool(server, tool, calls)
        key = (server.identity(), tool.name, definition.contract.model_dump_json(), retry_errors)
        return self._tools.setdefault(key, definition)

    def _call_fn(
        self, session: _Session, tool: Tool, contract: ToolContract, *, retry_errors: bool
    ) -> ToolFn:
        timeout = contract.timeout.total_seconds()
        structured, wraps = tool.output_schema is not None, wraps_output(tool)

        async def call(params: SchemaModel, ctx: ToolContext) -> Any:
            try:
                result = await self._on_loop(
                    session.call(tool.name, params.root, timeout, ctx.idempotency_key)
                )
            except MCPError as err:
                raise _protocol_failure(contract, ctx.attempt, err) from None
            except RuntimeError as err:
                if "structured content" not in str(err):
                    raise
                # The SDK checks structured content against the tool's output schema first.
                error = ErrorClass(ErrorType.CONTRACT_VIOLATION, "contract_violation", False)
                raise tool_failure(contract.name, error, ctx.attempt, one_line(err)) from None
            if result.is_error:
                raise _error_result(contract, ctx.attempt, result, retry=retry_errors)
            if not structured:
                return {"text": text_of(result.content)}
            return {"result": result.structured_content} if wraps else result.structured_content

        return call

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="mcp", daemon=True)
            self._thread.start()
        return self._loop

    def _blocking(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._start())
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g}s") from None

    async def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None:
            coro.close()
            raise ConnectionError("this worker's MCP sessions are closed")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


def _error_result(
    contract: ToolContract, attempt: int, result: CallToolResult, *, retry: bool
) -> ApplicationError:
    """An ``isError`` result: the tool ran and says it failed. MCP cannot say whether trying
    again would help, so it is permanent unless the agent says the tool's errors are transient
    (``retry_error_results``); then the contract's retries apply, as to a 503."""
    kind = ErrorType.TOOL_UNAVAILABLE if retry else ErrorType.TOOL_REJECTED
    error = effective_error(contract, ErrorClass(kind, "mcp_tool_error", retry))
    message = one_line(text_of(result.content)) or "the tool reported an error"
    return tool_failure(contract.name, error, attempt, message)


def _protocol_failure(contract: ToolContract, attempt: int, err: MCPError) -> ApplicationError:
    """A JSON-RPC error instead of a result: the server's internal error may clear, anything
    else (unknown tool, params it refuses) is the request's fault."""
    retry = err.code == INTERNAL_ERROR
    kind = ErrorType.TOOL_UNAVAILABLE if retry else ErrorType.TOOL_REJECTED
    error = effective_error(contract, ErrorClass(kind, f"mcp_error_{abs(err.code)}", retry))
    return tool_failure(contract.name, error, attempt, one_line(f"MCP error: {err.message}"))


def text_of(content: Sequence[ContentBlock]) -> str:
    """What a model can read of a result's content: text, and a note for anything else."""
    parts = []
    for block in content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, EmbeddedResource) and isinstance(
            block.resource, TextResourceContents
        ):
            parts.append(block.resource.text)
        elif isinstance(block, ResourceLink):
            parts.append(f"[resource {block.uri}]")
        else:
            parts.append(f"[{block.type} content omitted]")
    return "\n".join(parts)


def reason(err: BaseException) -> str:
    """One line for an error, from the first leaf of any exception group around it."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    if isinstance(err, MCPError) and err.code == CONNECTION_CLOSED:
        return "the server closed the connection"
    if isinstance(err, OSError) and err.strerror and not isinstance(err, ConnectionError):
        return one_line(f"{err.strerror}: {err.filename}" if err.filename else err.strerror)
    return one_line(str(err)) or type(err).__name__


def one_line(text: object) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MAX_MESSAGE_CHARS else flat[: MAX_MESSAGE_CHARS - 1] + "…"
