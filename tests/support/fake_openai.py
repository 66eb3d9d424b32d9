"""A local server speaking OpenAI's Chat Completions wire protocol, for the openai provider's
tests: the official SDK talks real HTTP to it, so what is tested is what goes over the wire.

It answers from a deterministic brain that plays the refund agent's procedure from the request
alone (the tools it is offered, the run input in the first user message, the tool results so
far), the way a model would. A test can queue canned responses instead (any status, headers
such as ``Retry-After``, OpenAI's error JSON, malformed tool-call arguments, a delay), and reads
back every request received, with the monotonic time it arrived.

The server runs on its own thread and event loop, so it answers while a test blocks (a CLI
subprocess) as well as while it awaits.
"""

import asyncio
import itertools
import json
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

SNAPSHOT = "-2024-07-18"
REFUND_TOOLS = ("lookup_order", "get_shipping_status", "issue_refund", "send_email")


@dataclass(frozen=True)
class Received:
    """One request as the server saw it (header names in any case); ``at`` is
    ``time.monotonic()`` on arrival."""

    at: float
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        return messages


@dataclass(frozen=True)
class Canned:
    """One queued response. ``body``: a dict is sent as JSON, a str as it is, None: the brain's
    answer (after ``delay_s``: a slow model)."""

    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def error_body(
    message: str, type_: str, code: str | int | None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error JSON."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def rate_limited(retry_after: str = "2") -> Canned:
    return Canned(
        429,
        error_body(
            "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.",
            "requests",
            "rate_limit_exceeded",
        ),
        headers={"Retry-After": retry_after},
    )


def context_overflow() -> Canned:
    return Canned(
        400,
        error_body(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 131072 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        ),
    )


def completion(
    *,
    model: str = "gpt-4o-mini" + SNAPSHOT,
    content: str | None = None,
    tool_calls: tuple[tuple[str, str], ...] = (),
    usage: tuple[int, int, int] | None = (10, 5, 0),
    finish_reason: str | None = None,
    call_ids: Iterator[int] | None = None,
) -> dict[str, Any]:
    """A chat.completion body; ``tool_calls`` as (name, arguments text): the text is sent as
    given, valid JSON or not; ``usage`` as (prompt, completion, cached prompt) tokens."""
    ids = call_ids or itertools.count(9001)  # apart from the brain's ids
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{next(ids):04d}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for name, arguments in tool_calls
        ]
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
                "logprobs": None,
            }
        ],
    }
    if usage is not None:
        prompt, output, cached = usage
        body["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
    return body


# ----------------------------------------------------------------- the brain

Step = tuple[str, Callable[[], dict[str, Any]]]


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _conversation(
    messages: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any], Counter[str], str]:
    """The run input, each tool's latest result (matched to its call by id), how often each
    tool was called, and a reviewer's feedback (a user message after the first)."""
    run_input: dict[str, Any] = {}
    names: dict[str, str] = {}
    results: dict[str, Any] = {}
    called: Counter[str] = Counter()
    feedback = ""
    users = 0
    for message in messages:
        role = message.get("role")
        if role == "user":
            users += 1
            if users == 1:
                try:
                    run_input = json.loads(message.get("content") or "{}")
                except ValueError:
                    run_input = {"text": message.get("content")}
            else:
                feedback = message.get("content") or ""
        elif role == "assistant":
            for call in message.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
                called[call["function"]["name"]] += 1
        elif role == "tool":
            name = names.get(message.get("tool_call_id", ""), "?")
            try:
                results[name] = json.loads(message.get("content") or "{}")
            except ValueError:
                results[name] = {"error": message.get("content")}
    return run_input, results, called, feedback


def _refund_steps(run_input: dict[str, Any], results: dict[str, Any]) -> list[Step]:
    order, amount, reason = (run_input.get(k) for k in ("order_id", "amount", "reason"))

    def email() -> dict[str, Any]:
        found, refund = results["lookup_order"], results["issue_refund"]
        return {
            "to": found["customer_email"],
            "subject": f"Your refund for order {order}",
            "body": (
                f"Hello {found['customer_name']},\n\nWe have refunded {amount} "
                f"{found['currency']} for order {order} ({reason}). Your refund reference is "
                f"{refund['refund_id']}; expect the money within 5 to 10 business days.\n\n"
                "Kind regards,\nCustomer Support"
            ),
        }

    return [
        ("lookup_order", lambda: {"order_id": order}),
        ("get_shipping_status", lambda: {"order_id": order}),
        ("issue_refund", lambda: {"order_id": order, "amount": amount, "reason": reason}),
        ("send_email", email),
        (
            "add_order_note",
            lambda: {
                "order_id": order,
                "note": f"refund {results['issue_refund']['refund_id']} issued: {reason}",
            },
        ),
    ]


def _refund_answer(run_input: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The sample agent's final answer, worded as its offline script words it."""
    order, amount, reason = (run_input.get(k) for k in ("order_id", "amount", "reason"))
    found = results["lookup_order"]
    return {
        "refund_id": results["issue_refund"]["refund_id"],
        "order_id": order,
        "amount": amount,
        "shipping_status": results["get_shipping_status"]["status"],
        "customer_notified": True,
        "summary": (
            f"Refunded {amount} {found['currency']} on order {order} ({reason}) and emailed the "
            f"customer at {found['customer_email']}."
        ),
    }


def decide(body: dict[str, Any]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The next move for a request: (final text, no calls) or (None, tool calls).

    With the refund agent's tools it follows the agent's procedure, one tool a turn; a tool that
    answered with an error is called once more (arguments fixed), then reported in the answer.
    Offered other tools, it answers with the input at once."""
    offered = {t["function"]["name"] for t in body.get("tools", [])}
    run_input, results, called, feedback = _conversation(body.get("messages", []))
    if not set(REFUND_TOOLS) <= offered:
        return json.dumps({"answer": "nothing to do", "input": run_input}), ()
    for tool, args in _refund_steps(run_input, results):
        if tool not in offered:
            continue
        result = results.get(tool)
        if result is None or ("error" in result and called[tool] < 2):
            return None, ((tool, json.dumps(args())),)
        if "error" in result:
            return json.dumps({"error": f"{tool}: {result['error']}"}), ()
    answer = _refund_answer(run_input, results)
    if feedback:
        answer["revision_notes"] = feedback
    # Fenced, as models often write JSON; the provider reads it either way.
    return "```json\n" + json.dumps(answer, indent=2) + "\n```", ()


# ----------------------------------------------------------------- the server


class FakeOpenAI:
    """``with FakeOpenAI() as server:`` serves ``server.url`` (use it as OPENAI_BASE_URL)."""

    def __init__(self, *, snapshot: str = SNAPSHOT) -> None:
        self._snapshot = snapshot
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._queue: deque[Canned] = deque()
        self._prefixes: set[str] = set()
        self._call_ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._failed: BaseException | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- what tests use

    def queue(self, *responses: Canned) -> None:
        """Answer the next requests with these, in order, before the brain answers again."""
        with self._lock:
            self._queue.extend(responses)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def reset(self) -> None:
        with self._lock:
            self._received.clear()
            self._queue.clear()
            self._prefixes.clear()

    # -- lifecycle

    def __enter__(self) -> "FakeOpenAI":
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="fake-openai", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or self._failed is not None:
            raise RuntimeError(f"the fake OpenAI server did not start: {self._failed!r}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(15)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as err:  # noqa: BLE001 -- reported by __enter__
            self._failed = err
            ready.set()
            return
        ready.set()
        self._loop.run_forever()
        if self._runner is not None:
            self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    # -- handlers

    async def _unknown(self, request: web.Request) -> web.Response:
        return web.json_response(
            error_body(
                f"Invalid URL ({request.method} {request.path})", "invalid_request_error", None
            ),
            status=404,
        )

    async def _chat(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(
                error_body("We could not parse the JSON body", "invalid_request_error", None),
                status=400,
            )
        with self._lock:
            self._received.append(
                Received(time.monotonic(), request.path, CIMultiDict(request.headers), body)
            )
            canned = self._queue.popleft() if self._queue else None
        if canned is not None and canned.delay_s:
            await asyncio.sleep(canned.delay_s)
        if canned is not None and canned.body is not None:
            if isinstance(canned.body, str):
                return web.Response(
                    status=canned.status, text=canned.body, headers=dict(canned.headers)
                )
            return web.json_response(
                canned.body, status=canned.status, headers=dict(canned.headers)
            )
        return web.json_response(self._answer(body), status=canned.status if canned else 200)

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        content, calls = decide(body)
        messages = body.get("messages", [])
        system = "".join(m.get("content") or "" for m in messages[:1] if m.get("role") == "system")
        prefix = system + json.dumps(body.get("tools", []))
        with self._lock:
            cached = _tokens(prefix) if prefix in self._prefixes else 0
            self._prefixes.add(prefix)
        prompt = _tokens(json.dumps(messages) + json.dumps(body.get("tools", [])))
        output = _tokens(content or json.dumps(calls))
        return completion(
            model=str(body.get("model")) + self._snapshot,
            content=content,
            tool_calls=calls,
            usage=(prompt, output, cached),
            call_ids=self._call_ids,
        )
