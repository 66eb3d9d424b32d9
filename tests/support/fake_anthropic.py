"""A local server speaking Anthropic's Messages API, for the official SDK to talk real HTTP to.

It checks requests the way the API does where a provider's mapping can go wrong (alternating
roles, every ``tool_use`` answered by a ``tool_result`` in the next user turn, results first,
no empty text, at most four cache breakpoints, no sampling parameters: API version 2026-10-21,
which SDK 2.x sends, refuses them) and answers with Anthropic's error JSON when they are wrong.

A valid request gets a canned response if a test queued one for it, else the brain's: a
deterministic customer-support agent that walks the refund agent's tools with arguments taken
from the ticket (the first user message) and earlier tool results, then answers in JSON. Token
usage is estimated from the request's text, prompt caching included: a prefix that an earlier
request marked with ``cache_control`` is read from the "cache" (``cache_read_input_tokens``).
Every request is kept, with the monotonic time it arrived, so tests can measure retry delays.
"""

import asyncio
import contextlib
import hashlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-ant-test-fake-key"
SNAPSHOT = "-20250929"  # the API answers an alias with its dated snapshot
_TOP_LEVEL = {
    "model", "max_tokens", "messages", "system", "tools", "tool_choice", "metadata",
    "stop_sequences", "stream", "thinking", "cache_control", "output_config", "service_tier",
}  # fmt: skip
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_REFUND_STEPS = (
    "lookup_order", "get_shipping_status", "issue_refund", "send_email", "add_order_note",
)  # fmt: skip


@dataclass
class Canned:
    """One response a test wants sent. ``content``: a 200 message with these blocks (id, model,
    stop reason and usage filled in as for the brain's); otherwise ``status`` with ``body``.
    ``match``: only for a request whose JSON contains this text (e.g. a run's ticket)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: list[dict[str, Any]] | None = None
    delay_s: float = 0.0
    match: str | None = None


def error(
    status: int,
    kind: str,
    message: str,
    headers: dict[str, str] | None = None,
    match: str | None = None,
) -> Canned:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Canned(status=status, body=body, headers=headers or {}, match=match)


def tool_use(name: str, tool_input: Any, call_id: str = "toolu_canned01") -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": tool_input}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


@dataclass
class Received:
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0  # what the fake answered
    usage: dict[str, int] = field(default_factory=dict)  # what it billed, when it answered

    def contains(self, marker: str) -> bool:
        return marker in json.dumps(self.body)


class Invalid(Exception):
    """A request the API would refuse; answered as Anthropic does, with its error JSON."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind = status, kind

    def response(self) -> web.Response:
        error = {"type": self.kind, "message": str(self)}
        body = {"type": "error", "error": error, "request_id": "req_x"}
        return web.json_response(body, status=self.status, headers={"request-id": "req_x"})


class FakeAnthropic:
    def __init__(self, *, context_window: int = 200_000, min_cache_tokens: int = 1024) -> None:
        self.context_window = context_window
        self.min_cache_tokens = min_cache_tokens
        self.requests: list[Received] = []
        self._canned: list[Canned] = []
        self._cache: set[str] = set()
        self._lock = threading.Lock()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environ(self) -> dict[str, str]:
        return {"ANTHROPIC_BASE_URL": self.base_url, "ANTHROPIC_API_KEY": API_KEY}

    def queue(self, *responses: Canned) -> None:
        with self._lock:
            self._canned.extend(responses)

    def received(self, marker: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if marker is None or r.contains(marker)]

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeAnthropic":
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _handle(self, http: web.Request) -> web.StreamResponse:
        try:
            body = await http.json()
        except ValueError:
            body = None
        received = Received(time.monotonic(), dict(http.headers), body or {})
        with self._lock:
            self.requests.append(received)
        try:
            response = await self._answer(http, received)
        except Invalid as err:
            response = err.response()
        received.status = response.status
        return response

    async def _answer(self, http: web.Request, received: Received) -> web.Response:
        auth = http.headers.get("x-api-key") or http.headers.get("Authorization") or ""
        if auth.removeprefix("Bearer ") != API_KEY:
            raise Invalid(401, "authentication_error", "invalid x-api-key")
        if not http.headers.get("anthropic-version"):
            raise _bad("anthropic-version: header is required")
        body = received.body
        _check_request(body)
        total, read, written = self._usage(body, cache=False)
        if total > self.context_window:
            raise _bad(f"prompt is too long: {total} tokens > {self.context_window} maximum")
        canned = self._take(received)
        if canned is not None and canned.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), canned.delay_s)
        if canned is not None and canned.content is None:
            raw = canned.body if isinstance(canned.body, str) else json.dumps(canned.body)
            headers = {"content-type": "application/json", **canned.headers}
            return web.Response(status=canned.status, text=raw, headers=headers)
        content = decide(body) if canned is None or canned.content is None else canned.content
        headers = canned.headers if canned is not None else {}
        total, read, written = self._usage(body, cache=True)
        out_tokens = _tokens(len(json.dumps(content)))
        stop = "tool_use" if any(b.get("type") == "tool_use" for b in content) else "end_turn"
        model = body["model"]
        received.usage = {
            "input_tokens": total - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "output_tokens": out_tokens,
        }
        message = {
            "id": "msg_" + hashlib.sha256(json.dumps(body).encode()).hexdigest()[:24],
            "type": "message",
            "role": "assistant",
            "model": model if re.search(r"-\d{8}$", model) else model + SNAPSHOT,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": received.usage,
        }
        return web.json_response(message, headers={"request-id": "req_fake", **headers})

    def _take(self, received: Received) -> Canned | None:
        with self._lock:
            for i, canned in enumerate(self._canned):
                if canned.match is None or received.contains(canned.match):
                    return self._canned.pop(i)
        return None

    def _usage(self, body: dict[str, Any], *, cache: bool) -> tuple[int, int, int]:
        """(total, read from cache, written to cache) input tokens, as Anthropic counts them: a
        breakpoint caches the prefix up to it (when the call succeeds: ``cache``); a later
        request reads the longest cached prefix at or up to 20 blocks before a breakpoint."""
        segments = _segments(body)
        digest, hashes, tokens, chars = hashlib.sha256(), [], [], 0
        for segment, _ in segments:
            digest.update(segment.encode())
            hashes.append(digest.hexdigest())
            chars += len(segment)
            tokens.append(_tokens(chars))
        total = tokens[-1] if tokens else 0
        marks = [i for i, (_, marked) in enumerate(segments) if marked]
        with self._lock:
            read = max(
                (tokens[j] for i in marks for j in range(i, max(-1, i - 20), -1)
                 if hashes[j] in self._cache),
                default=0,
            )  # fmt: skip
            written = 0
            if marks and tokens[marks[-1]] >= self.min_cache_tokens:
                written = max(0, tokens[marks[-1]] - read)
            if cache:
                self._cache.update(hashes[i] for i in marks if tokens[i] >= self.min_cache_tokens)
        return total, read, written


@contextlib.contextmanager
def serving_in_thread(**options: Any) -> Iterator[FakeAnthropic]:
    """The fake on an event loop of its own, for tests that block (CLI subprocesses)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeAnthropic(**options)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# ----------------------------------------------------------------- validation


def _bad(message: str) -> Invalid:
    return Invalid(400, "invalid_request_error", message)


def _check_request(body: dict[str, Any]) -> None:
    for key in body:
        if key not in _TOP_LEVEL:
            raise _bad(f"{key}: Extra inputs are not permitted")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _bad("model: Field required")
    if not body["model"].startswith("claude-"):
        raise Invalid(404, "not_found_error", f"model: {body['model']}")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        raise _bad("max_tokens: Field required")
    if body.get("stream"):
        raise _bad("stream: the fake does not stream")
    system = body.get("system", "")
    if not isinstance(system, str):
        for i, block in enumerate(system):
            _check_text(block, f"system.{i}")
    for i, tool in enumerate(body.get("tools", [])):
        if not _TOOL_NAME.match(tool.get("name", "")):
            raise _bad(f"tools.{i}.name: String should match pattern '{_TOOL_NAME.pattern}'")
        if (tool.get("input_schema") or {}).get("type") != "object":
            raise _bad(f"tools.{i}.input_schema.type: Input should be 'object'")
    _check_messages(body.get("messages"))
    marks = json.dumps(body).count('"cache_control"') - (1 if "cache_control" in body else 0)
    if marks > 4:
        raise _bad(f"A maximum of 4 blocks with cache_control may be provided. Found {marks}.")


def _check_text(block: dict[str, Any], where: str) -> None:
    if block.get("type") != "text" or not isinstance(block.get("text"), str):
        raise _bad(f"{where}.type: Input should be 'text'")
    if not block["text"].strip():
        raise _bad(f"{where}: text content blocks must contain non-whitespace text")


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _bad("messages: at least one message is required")
    asked: set[str] = set()  # the previous assistant turn's tool_use ids
    for i, message in enumerate(messages):
        role, blocks = message.get("role"), _blocks(message)
        if role != ("user" if i % 2 == 0 else "assistant"):
            raise _bad(f"messages.{i}.role: roles must alternate, starting with user: {role!r}")
        if not isinstance(blocks, list) or not blocks:
            raise _bad(f"messages.{i}: all messages must have non-empty content")
        kinds = [block.get("type") for block in blocks]
        allowed = {"text", "tool_result"} if role == "user" else {"text", "tool_use"}
        if not set(kinds) <= allowed:
            raise _bad(f"messages.{i}: {role} content may only hold {sorted(allowed)} blocks")
        if kinds != sorted(kinds, key=lambda kind: kind != "tool_result"):
            raise _bad(f"messages.{i}: tool_result blocks must come before any other content")
        for j, block in enumerate(blocks):
            where = f"messages.{i}.content.{j}"
            if block["type"] == "text":
                _check_text(block, where)
            elif block["type"] == "tool_use" and (
                not _TOOL_ID.match(str(block.get("id"))) or not isinstance(block.get("input"), dict)
            ):
                raise _bad(f"{where}: tool_use needs an id matching [a-zA-Z0-9_-]+ and an object")
            elif block["type"] == "tool_result" and block.get("tool_use_id") not in asked:
                raise _bad(
                    f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block.get('tool_use_id')}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message."
                )
        answered = {b["tool_use_id"] for b in blocks if b["type"] == "tool_result"}
        if role == "user" and asked - answered:
            raise _bad(
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(sorted(asked - answered))}"
            )
        asked = {b["id"] for b in blocks if b["type"] == "tool_use"}
    if messages[-1]["role"] != "user":
        raise _bad("messages: the last message must be a user message (no prefill here)")


# ----------------------------------------------------------------- tokens


def _tokens(chars: int) -> int:
    return max(1, math.ceil(chars / 4))


def _blocks(message: dict[str, Any]) -> Any:
    content = message.get("content")
    return [text(content)] if isinstance(content, str) else content


def _segments(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The prompt in cache order (tools, system, messages), one entry a block, each with
    whether it carries a cache breakpoint (the marker itself is not part of the text)."""

    def entry(value: dict[str, Any], **extra: Any) -> tuple[str, bool]:
        plain = {k: v for k, v in value.items() if k != "cache_control"}
        return json.dumps({**extra, **plain}, sort_keys=True), "cache_control" in value

    out = [entry(tool) for tool in body.get("tools", [])]
    system = body.get("system", "")
    out.extend(
        [entry(text(system))] if isinstance(system, str) and system else
        [entry(b) for b in system if isinstance(b, dict)]
    )  # fmt: skip
    for message in body["messages"]:
        out.extend(entry(block, role=message["role"]) for block in _blocks(message))
    return out


# ----------------------------------------------------------------- the brain


@dataclass
class _Conversation:
    ticket: dict[str, Any]
    results: dict[str, list[tuple[Any, bool]]]  # tool -> [(answer, is_error)] in order


def _read(body: dict[str, Any]) -> _Conversation:
    names: dict[str, str] = {}
    results: dict[str, list[tuple[Any, bool]]] = {}
    ticket: dict[str, Any] = {}
    for i, message in enumerate(body["messages"]):
        for block in _blocks(message):
            if block["type"] == "text" and i == 0:
                with contextlib.suppress(ValueError):
                    ticket = json.loads(block["text"])
            elif block["type"] == "tool_use":
                names[block["id"]] = block["name"]
            elif block["type"] == "tool_result":
                raw = block.get("content", "")
                raw = raw if isinstance(raw, str) else "".join(b.get("text", "") for b in raw)
                try:
                    answer = json.loads(raw)
                except ValueError:
                    answer = raw
                results.setdefault(names[block["tool_use_id"]], []).append(
                    (answer, bool(block.get("is_error")))
                )
    return _Conversation(ticket, results)


def decide(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The next assistant turn: the first refund step without a good result, or the answer."""
    tools = {tool["name"] for tool in body.get("tools", [])}
    talk = _read(body)
    for tool in _REFUND_STEPS:
        if tool not in tools:
            continue
        done = talk.results.get(tool, [])
        if done and not done[-1][1]:
            continue
        if done and (len(done) >= 3 or not _correctable(done[-1][0])):
            return [text(_final(talk, failed=f"{tool}: {_said(done[-1][0])}"))]
        call_id = "toolu_" + hashlib.sha256(json.dumps(body).encode()).hexdigest()[:20]
        return [text(f"Next: {tool}."), tool_use(tool, _args(tool, talk), call_id)]
    return [text(_final(talk))]


def _correctable(answer: Any) -> bool:
    """Errors the model can act on: its own bad arguments, or a person's requested changes."""
    return _said(answer).startswith(("invalid arguments", "not approved"))


def _said(answer: Any) -> str:
    return str(answer.get("error", answer)) if isinstance(answer, dict) else str(answer)


def _last(talk: _Conversation, tool: str) -> dict[str, Any]:
    good = [a for a, failed in talk.results.get(tool, []) if not failed and isinstance(a, dict)]
    return good[-1] if good else {}


def _args(tool: str, talk: _Conversation) -> dict[str, Any]:
    ticket, order = talk.ticket, _last(talk, "lookup_order")
    refund = _last(talk, "issue_refund")
    order_id = ticket.get("order_id", "")
    if tool in ("lookup_order", "get_shipping_status"):
        return {"order_id": order_id}
    if tool == "issue_refund":
        return {key: ticket.get(key) for key in ("order_id", "amount", "reason")}
    if tool == "send_email":
        said = [_said(a) for a, failed in talk.results.get(tool, []) if failed]
        notes = [n.removeprefix("not approved: ") for n in said if n.startswith("not approved")]
        body = (
            f"Hello {order.get('customer_name', 'there')},\n\nWe have refunded "
            f"{ticket.get('amount')} {order.get('currency', '')} for order {order_id} to your "
            f"original payment method (reference {refund.get('refund_id', 'pending')}). It "
            "usually shows within 5 to 10 business days.\n\nKind regards,\nCustomer Support"
        )
        if notes:
            body += "\n\nP.S. " + notes[-1]
        subject = f"Your refund for order {order_id}"
        return {"to": order.get("customer_email", ""), "subject": subject, "body": body}
    note = f"refund {refund.get('refund_id')} issued: {ticket.get('reason')}"
    return {"order_id": order_id, "note": note}


def _final(talk: _Conversation, failed: str | None = None) -> str:
    ticket = talk.ticket
    done = f"Refunded {ticket.get('amount')} on order {ticket.get('order_id')}, customer told."
    answer = {
        "refund_id": _last(talk, "issue_refund").get("refund_id"),
        "order_id": ticket.get("order_id"),
        "amount": ticket.get("amount"),
        "shipping_status": _last(talk, "get_shipping_status").get("status"),
        "customer_notified": bool(_last(talk, "send_email")),
        "summary": f"Could not finish: {failed}" if failed else done,
    }
    return "```json\n" + json.dumps(answer, indent=2) + "\n```"
