"""What a wrong Temporal address reads like: one short reason, never Rust transport internals.

Each case is the real thing: a closed port, a name that cannot resolve (``.invalid`` never does,
RFC 2606), a web server that is not Temporal, a server that accepts and never answers.
"""

import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from agentrun.cli.devserver import free_port
from agentrun.client import AgentRunError, connect


def _refused(address: str) -> str:
    return f"cannot reach Temporal at {address}: connection refused (is `agentrun server` running?)"


async def test_a_closed_port_is_connection_refused() -> None:
    address = f"127.0.0.1:{free_port()}"

    with pytest.raises(AgentRunError) as refused:
        await connect(address)

    assert str(refused.value) == _refused(address)


async def test_an_unknown_host_is_named() -> None:
    with pytest.raises(AgentRunError) as unknown:
        await connect("no-such-host.invalid:7233")

    assert str(unknown.value) == (
        "cannot reach Temporal at no-such-host.invalid:7233: unknown host 'no-such-host.invalid'"
    )


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("localhost:99999", "invalid port number"),
        ("bad host:1", "invalid international domain name"),
        # The SDK would warn on stderr (two lines) and drop the scheme, https's TLS with it.
        ("https://localhost:7233", "give host:port, no scheme"),
    ],
)
async def test_an_address_that_does_not_parse_is_invalid(address: str, reason: str) -> None:
    with pytest.raises(AgentRunError) as invalid:
        await connect(address)

    assert str(invalid.value) == f"cannot reach Temporal at {address}: invalid address ({reason})"


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- the base's name
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_web_server_is_not_a_temporal_frontend(web_server: str) -> None:
    """An HTTP/1.1 server refuses the HTTP/2 preface: with an error, or by closing."""
    with pytest.raises(AgentRunError) as wrong:
        await connect(web_server)

    message = str(wrong.value)
    assert message.startswith(f"cannot reach Temporal at {web_server}: "), message
    assert "not a Temporal frontend" in message
    assert "tonic" not in message


async def test_a_server_that_never_answers_times_out() -> None:
    """The SDK alone would wait about 30 s; the client gives up at its own timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"

        started = time.monotonic()
        with pytest.raises(AgentRunError) as timed_out:
            await connect(address, connect_timeout=1.5)
        waited = time.monotonic() - started

    assert str(timed_out.value) == (
        f"cannot reach Temporal at {address}: no answer within 1.5 s "
        "(is `agentrun server` running?)"
    )
    assert waited < 10  # the client's timeout, not the SDK's 30 s
