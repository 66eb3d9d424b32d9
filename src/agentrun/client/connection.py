"""Connecting to Temporal with agentrun's data converter, and saying in one line why not."""

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from agentrun.client.errors import AgentRunError, connect_reason
from agentrun.converter import DATA_CONVERTER

# Long enough for a dev server busy starting up; short enough that a wrong port is said soon.
CONNECT_TIMEOUT_S = 10.0


async def connect(
    address: str,
    namespace: str = "default",
    *,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
    data_converter: DataConverter = DATA_CONVERTER,
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> Client:
    """A client on our converter; workers add tracing interceptors and a metrics runtime.

    Pass ``agentrun.converter.data_converter(settings)`` where payloads may be encrypted.
    ``connect_timeout``: a port that accepts and never answers would hold the SDK for about 30 s.
    """
    if "://" in address:  # the SDK warns on stderr, then drops the scheme (TLS intent too)
        raise AgentRunError(
            f"cannot reach Temporal at {address}: invalid address (give host:port, no scheme)"
        )
    try:
        return await asyncio.wait_for(
            Client.connect(
                address,
                namespace=namespace,
                data_converter=data_converter,
                interceptors=interceptors,
                runtime=runtime,
            ),
            connect_timeout,
        )
    except TimeoutError:
        raise AgentRunError(
            f"cannot reach Temporal at {address}: no answer within {connect_timeout:g} s "
            "(is `agentrun server` running?)"
        ) from None
    except (RuntimeError, ValueError) as err:
        reason = connect_reason(address, err)
        raise AgentRunError(f"cannot reach Temporal at {address}: {reason}") from None


async def connect_patiently(
    address: str,
    namespace: str = "default",
    *,
    wait_s: float,
    on_retry: Callable[[str, float], None] | None = None,
    **kwargs: Any,
) -> Client:
    """:func:`connect`, tried again until ``wait_s`` has passed: for workers, which a deployment
    (docker compose, Kubernetes) routinely starts before the Temporal server answers, and which
    should then wait for it rather than exit. ``on_retry(reason, delay_s)`` hears each failure.
    The last failure is raised, saying how long it was tried."""
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return await connect(address, namespace, **kwargs)
        except AgentRunError as err:
            if "://" in address or time.monotonic() + delay > deadline:
                if wait_s <= 0:
                    raise
                raise AgentRunError(f"{err} (tried for {wait_s:g} s)") from None
            if on_retry is not None:
                on_retry(str(err), delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
