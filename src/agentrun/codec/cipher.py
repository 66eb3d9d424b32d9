"""Payload encryption: Temporal's history holds AES-256-GCM ciphertext, never customer data.

Every payload a client or worker sends (run input, tool arguments and results, outputs, failure
details) is serialized whole, metadata included, and sealed under the keyring's active key, so the
server and anyone reading history see only ``binary/encrypted`` and a key id. The key id travels
in clear metadata and is bound as associated data, together with the compression flag: moving a
ciphertext under another key id, or flipping its compression, fails authentication instead of
decrypting to garbage. Rotation is adding a key: new payloads use the active key, every key in
the ring still decrypts, so histories written under an old key read until that key is removed.

Payloads that are not ``binary/encrypted`` pass through decode untouched: histories written
before encryption was switched on stay readable.
"""

import os
import zlib
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from agentrun.codec.keys import (
    KEY_BYTES,
    KEYS_SETTING,
    KID_PATTERN,
    CodecError,
    MalformedPayloadError,
    PayloadAuthenticationError,
    UnknownKeyError,
    choose_active,
    parse_keys,
)

__all__ = [
    "CodecError",
    "EncryptionCodec",
    "Keyring",
    "MalformedPayloadError",
    "PayloadAuthenticationError",
    "UnknownKeyError",
]

ENCODING = b"binary/encrypted"
META_ENCODING = "encoding"
META_KEY_ID = "encryption-key-id"
META_COMPRESSION = "encryption-compression"
ZLIB = b"zlib"
NONCE_BYTES = 12
TAG_BYTES = 16
# Below this, zlib's header and the CPU outweigh what it saves.
COMPRESS_MIN_BYTES = 1024
# Versioned, so a future format can never be mistaken for this one under the same key.
_AAD_PREFIX = b"agentrun/payload/aes-256-gcm/v1\x00"


class Keyring:
    """Named AES-256 keys: one active for encrypting, all of them for decrypting."""

    def __init__(self, keys: Mapping[str, bytes], active: str | None = None) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        for kid, key in keys.items():
            if not KID_PATTERN.fullmatch(kid):
                raise ValueError(f"invalid key id {kid[:70]!r}")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {kid!r} is {len(key)} bytes, AES-256 needs {KEY_BYTES}")
        self._ciphers = {kid.encode(): AESGCM(key) for kid, key in keys.items()}
        self.active = choose_active(keys, active)
        self.active_id = self.active.encode()

    @classmethod
    def from_text(cls, text: str, active: str | None = None) -> "Keyring":
        """From the ``AGENTRUN_CODEC_KEYS`` form: ``kid:base64,kid:base64``."""
        return cls(parse_keys(text), active)

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(kid.decode() for kid in self._ciphers)

    def __repr__(self) -> str:  # never the keys
        return f"Keyring(kids={list(self.kids)}, active={self.active!r})"

    def cipher(self, kid: bytes) -> AESGCM:
        """The cipher of key id ``kid`` (as it appears in payload metadata)."""
        cipher = self._ciphers.get(kid)
        if cipher is None:
            shown = kid.decode(errors="replace")
            raise UnknownKeyError(
                f"payload was encrypted with key id {shown!r}, which is not configured: add "
                f"that key to {KEYS_SETTING} (configured: {', '.join(self.kids)}); a retired "
                "key stays needed while histories written under it are read"
            )
        return cipher


def _aad(kid: bytes, compression: bytes) -> bytes:
    return _AAD_PREFIX + kid + b"\x00" + compression


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM with a random 96-bit nonce per payload (safe for ~2^32 payloads per key:
    rotate well before that), optionally zlib-compressed first.

    Compression is off by default: compressing before encrypting makes the ciphertext length
    depend on the content, which leaks when attacker-supplied text shares a payload with a
    secret. Turn it on for large payloads when that trade is acceptable.
    """

    def __init__(
        self,
        keyring: Keyring,
        *,
        compress: bool = False,
        compress_min_bytes: int = COMPRESS_MIN_BYTES,
    ) -> None:
        self.keyring = keyring
        self.compress = compress
        self.compress_min_bytes = compress_min_bytes

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        kid = self.keyring.active_id
        plaintext = payload.SerializeToString()
        compression = b""
        if self.compress and len(plaintext) >= self.compress_min_bytes:
            packed = zlib.compress(plaintext)
            if len(packed) < len(plaintext):
                plaintext, compression = packed, ZLIB
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.keyring.cipher(kid).encrypt(nonce, plaintext, _aad(kid, compression))
        metadata = {META_ENCODING: ENCODING, META_KEY_ID: kid}
        if compression:
            metadata[META_COMPRESSION] = compression
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; anything not ``binary/encrypted`` is returned as it is."""
        if payload.metadata.get(META_ENCODING) != ENCODING:
            return payload
        kid = payload.metadata.get(META_KEY_ID)
        if not kid:
            raise MalformedPayloadError(
                f"encrypted payload has no {META_KEY_ID!r} metadata: it was not written by "
                "this codec, or its metadata was stripped"
            )
        cipher = self.keyring.cipher(kid)
        compression = payload.metadata.get(META_COMPRESSION, b"")
        shown = kid.decode(errors="replace")
        if compression not in (b"", ZLIB):
            raise MalformedPayloadError(
                f"encrypted payload (key id {shown!r}) names an unknown compression "
                f"{compression.decode(errors='replace')!r}"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise MalformedPayloadError(
                f"encrypted payload (key id {shown!r}) is {len(data)} bytes, shorter than a "
                "nonce and an authentication tag: it was truncated"
            )
        try:
            plaintext = cipher.decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], _aad(kid, compression)
            )
        except InvalidTag:
            raise PayloadAuthenticationError(
                f"payload authentication failed (key id {shown!r}): the ciphertext or its "
                f"metadata was altered, or the key configured as {shown!r} is not the one that "
                "encrypted it"
            ) from None
        if compression:
            plaintext = zlib.decompress(plaintext)
        try:
            return Payload.FromString(plaintext)
        except DecodeError:
            raise MalformedPayloadError(
                f"encrypted payload (key id {shown!r}) decrypted, but is not a Temporal payload"
            ) from None
