"""The text form of payload-encryption keys (``kid:base64,kid:base64``), and the codec's errors.

Kept apart from :mod:`agentrun.codec.cipher` so that Settings can validate keys, and the CLI can
name a decryption failure, without importing the cipher. Keys are secrets: no message built here
ever carries key material, and a bad setting fails as a pydantic error whose recorded input is the
masked :class:`SecretStr`, never the raw text (``str(ValidationError)`` prints a field's input).
"""

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import GetCoreSchemaHandler, SecretStr, ValidationInfo
from pydantic_core import core_schema

from agentrun.errors import UserError

KEY_BYTES = 32  # AES-256
KID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KEYS_SETTING = "AGENTRUN_CODEC_KEYS"
ACTIVE_KEY_SETTING = "AGENTRUN_CODEC_ACTIVE_KEY"


class CodecError(UserError, ValueError):
    """A payload could not be decrypted; the message says which key id and what to do."""


class UnknownKeyError(CodecError):
    pass


class PayloadAuthenticationError(CodecError):
    pass


class MalformedPayloadError(CodecError):
    pass


def parse_keys(text: str) -> dict[str, bytes]:
    """``kid:base64`` entries, comma-separated, in order (the first is the default active key).

    Raises ValueError naming the entry and what is wrong with it: never the key itself.
    """
    keys: dict[str, bytes] = {}
    entries = [e.strip() for e in text.split(",")]
    if not any(entries):
        raise ValueError(
            "no keys: expected kid:BASE64 entries (generate one with `agentrun codec keygen`)"
        )
    for number, entry in enumerate(entries, start=1):
        if not entry:
            raise ValueError(f"entry {number} is empty (stray comma?)")
        kid, sep, encoded = entry.partition(":")
        kid, encoded = kid.strip(), encoded.strip()
        if not sep or not encoded:
            raise ValueError(f"entry {number} is not kid:BASE64 (no ':' or no key after it)")
        if not KID_PATTERN.fullmatch(kid):
            raise ValueError(
                f"entry {number}: key id {kid[:70]!r} must be 1-64 characters of letters, "
                "digits, '.', '_' or '-', starting with a letter or digit"
            )
        if kid in keys:
            raise ValueError(f"entry {number}: duplicate key id {kid!r}")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"entry {number} ({kid!r}): the key is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"entry {number} ({kid!r}): the key is {len(key)} bytes, AES-256 needs "
                f"{KEY_BYTES} (generate one with `agentrun codec keygen`)"
            )
        keys[kid] = key
    return keys


def choose_active(keys: Mapping[str, bytes], active: str | None) -> str:
    """The key new payloads are encrypted with: ``active`` if given, else the first key."""
    if active is None or not active.strip():
        return next(iter(keys))
    active = active.strip()
    if active not in keys:
        raise ValueError(
            f"active key id {active!r} is not among the keys in {KEYS_SETTING} "
            f"(known: {', '.join(keys)})"
        )
    return active


def new_key_line(kid: str | None = None, *, now: datetime | None = None) -> str:
    """A fresh ``kid:base64`` entry; the default kid sorts by creation date, which reads well
    when several keys are configured during a rotation."""
    if kid is None:
        kid = f"k{(now or datetime.now(UTC)):%Y%m%d}-{secrets.token_hex(3)}"
    if not KID_PATTERN.fullmatch(kid):
        raise ValueError(
            f"key id {kid[:70]!r} must be 1-64 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


class _ValidKeyring:
    """Validates the keyring text after it became a SecretStr, so a failure records the masked
    value as its input."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.chain_schema(
            [handler(source), core_schema.no_info_plain_validator_function(_check_keyring)]
        )


def _check_keyring(value: SecretStr) -> SecretStr:
    parse_keys(value.get_secret_value())
    return value


VALID_KEYRING = _ValidKeyring()


def check_active_key(value: str | None, info: ValidationInfo) -> str | None:
    """Cross-checked against ``codec_keys`` (declared before it, so already validated)."""
    if value is None or not value.strip():
        return None
    keys = info.data.get("codec_keys")
    if "codec_keys" not in info.data:
        return value.strip()  # codec_keys itself failed: that error is the one to read
    if keys is None:
        raise ValueError(f"set, but {KEYS_SETTING} is empty: there is no key to activate")
    assert isinstance(keys, SecretStr)  # noqa: S101 -- the field's type, validated above
    return choose_active(parse_keys(keys.get_secret_value()), value)
