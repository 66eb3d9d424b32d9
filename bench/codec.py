"""Payload encryption cost: ``python -m bench.codec``.

Encode then decode one 2 KiB JSON payload (a typical tool result or conversation slice) through
:class:`EncryptionCodec`'s async API, the way the SDK calls it, with compression off and on.
Every workflow step encodes and decodes a few such payloads, so the figure to keep small is the
round trip next to a step's ~millisecond of Temporal round trips.
"""

import argparse
import asyncio
import json
import os
import time

from temporalio.api.common.v1 import Payload

from agentrun.codec.cipher import EncryptionCodec, Keyring

PAYLOAD_BYTES = 2048


def sample_payload() -> Payload:
    turn = {"role": "tool", "content": "order 1001: arrived broken, refund 60.00 EUR approved"}
    text = json.dumps({"messages": [turn] * 64})[:PAYLOAD_BYTES]
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def round_trip_us(codec: EncryptionCodec, payload: Payload, n: int) -> float:
    """The best of five batches, in microseconds per encode+decode."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            [sealed] = await codec.encode([payload])
            [back] = await codec.decode([sealed])
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    assert back == payload
    return best


async def main(n: int) -> None:
    keyring = Keyring({"k1": os.urandom(32), "k2": os.urandom(32)}, "k2")
    payload = sample_payload()
    print(f"{len(payload.data)}-byte payload, AES-256-GCM, best of 5 x {n}:")
    for compress in (False, True):
        codec = EncryptionCodec(keyring, compress=compress)
        [sealed] = await codec.encode([payload])
        us = await round_trip_us(codec, payload, n)
        print(
            f"  compress={'on ' if compress else 'off'}  encode+decode {us:6.1f} us"
            f"  stored {len(sealed.data)} bytes"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20_000, help="round trips per batch")
    asyncio.run(main(parser.parse_args().n))
