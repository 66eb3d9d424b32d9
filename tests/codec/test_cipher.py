"""The payload codec: AES-256-GCM round trips, rotation, tampering, compression, passthrough,
and the settings that configure it (errors name the setting, never a key)."""

import base64
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload

from agentrun.cli.common import validation_message
from agentrun.codec.cipher import (
    ENCODING,
    META_COMPRESSION,
    META_KEY_ID,
    EncryptionCodec,
    Keyring,
    MalformedPayloadError,
    PayloadAuthenticationError,
    UnknownKeyError,
)
from agentrun.codec.keys import new_key_line, parse_keys
from agentrun.converter import DATA_CONVERTER, data_converter
from agentrun.settings import Settings

K1 = bytes(range(32))
K2 = bytes(range(32, 64))


def plain(text: str, encoding: bytes = b"json/plain") -> Payload:
    return Payload(metadata={"encoding": encoding}, data=text.encode())


def codec(*, active: str = "k1", compress: bool = False) -> EncryptionCodec:
    return EncryptionCodec(Keyring({"k1": K1, "k2": K2}, active), compress=compress)


def line(kid: str, key: bytes) -> str:
    return f"{kid}:{base64.b64encode(key).decode()}"


async def test_round_trip_hides_data_and_metadata() -> None:
    c = codec()
    original = plain('{"card": "4111 1111 1111 1111"}')
    [sealed] = await c.encode([original])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[META_KEY_ID] == b"k1"
    assert b"4111" not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()  # the inner encoding is hidden too
    assert await c.decode([sealed]) == [original]


async def test_each_payload_gets_a_fresh_nonce() -> None:
    c = codec()
    a, b = await c.encode([plain("same"), plain("same")])
    assert a.data[:12] != b.data[:12]
    assert a.data != b.data


async def test_rotation_old_payloads_still_decode_new_ones_use_the_new_key() -> None:
    before = codec(active="k1")
    [old] = await before.encode([plain("written under k1")])
    after = codec(active="k2")
    [new] = await after.encode([plain("written under k2")])
    assert new.metadata[META_KEY_ID] == b"k2"
    assert await after.decode([old, new]) == [plain("written under k1"), plain("written under k2")]


async def test_unknown_key_id_names_it_and_the_setting() -> None:
    [sealed] = await codec(active="k2").encode([plain("x")])
    only_k1 = EncryptionCodec(Keyring({"k1": K1}))
    with pytest.raises(UnknownKeyError) as caught:
        await only_k1.decode([sealed])
    message = str(caught.value)
    assert "'k2'" in message
    assert "AGENTRUN_CODEC_KEYS" in message
    assert "configured: k1" in message


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "tag"])
async def test_tampered_ciphertext_fails_authentication(where: str) -> None:
    c = codec()
    [sealed] = await c.encode([plain("pay 10 EUR")])
    data = bytearray(sealed.data)
    index = {"nonce": 0, "ciphertext": 14, "tag": len(data) - 1}[where]
    data[index] ^= 0x01
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(data))
    with pytest.raises(PayloadAuthenticationError, match="authentication failed"):
        await c.decode([tampered])


async def test_relabelled_key_id_fails_authentication_not_decrypts() -> None:
    """Same key under two ids: the id is bound as associated data, so relabelling fails."""
    c = EncryptionCodec(Keyring({"a": K1, "b": K1}, "a"))
    [sealed] = await c.encode([plain("x")])
    relabelled = Payload(metadata={**sealed.metadata, META_KEY_ID: b"b"}, data=sealed.data)
    with pytest.raises(PayloadAuthenticationError, match="key id 'b'"):
        await c.decode([relabelled])


async def test_compression_above_threshold_is_recorded_and_round_trips() -> None:
    c = codec(compress=True)
    big = plain("refund requested " * 200)
    small = plain("short")
    sealed_big, sealed_small = await c.encode([big, small])
    assert sealed_big.metadata[META_COMPRESSION] == b"zlib"
    assert len(sealed_big.data) < len(big.data) // 5
    assert META_COMPRESSION not in sealed_small.metadata
    assert await c.decode([sealed_big, sealed_small]) == [big, small]


async def test_incompressible_payload_is_stored_uncompressed() -> None:
    c = codec(compress=True)
    noise = Payload(data=os.urandom(4096))
    [sealed] = await c.encode([noise])
    assert META_COMPRESSION not in sealed.metadata
    assert await c.decode([sealed]) == [noise]


async def test_flipping_the_compression_flag_fails_authentication() -> None:
    c = codec(compress=True)
    [sealed] = await c.encode([plain("z" * 5000)])
    stripped = Payload(
        metadata={k: v for k, v in sealed.metadata.items() if k != META_COMPRESSION},
        data=sealed.data,
    )
    with pytest.raises(PayloadAuthenticationError):
        await c.decode([stripped])


async def test_unencrypted_payloads_pass_through_decode_untouched() -> None:
    c = codec()
    legacy = [plain('{"a": 1}'), Payload(metadata={"encoding": b"binary/null"}), Payload()]
    decoded = await c.decode(legacy)
    assert decoded == legacy


async def test_malformed_encrypted_payloads_get_clear_errors() -> None:
    c = codec()
    no_kid = Payload(metadata={"encoding": ENCODING}, data=bytes(40))
    with pytest.raises(MalformedPayloadError, match="encryption-key-id"):
        await c.decode([no_kid])
    short = Payload(metadata={"encoding": ENCODING, META_KEY_ID: b"k1"}, data=bytes(10))
    with pytest.raises(MalformedPayloadError, match="truncated"):
        await c.decode([short])
    odd = Payload(
        metadata={"encoding": ENCODING, META_KEY_ID: b"k1", META_COMPRESSION: b"lz4"},
        data=bytes(40),
    )
    with pytest.raises(MalformedPayloadError, match="'lz4'"):
        await c.decode([odd])


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=5000),
    metadata=st.dictionaries(st.text(min_size=1, max_size=20), st.binary(max_size=40), max_size=4),
    compress=st.booleans(),
    active=st.sampled_from(["k1", "k2"]),
)
async def test_round_trip_property(
    data: bytes, metadata: dict[str, bytes], compress: bool, active: str
) -> None:
    original = Payload(metadata=metadata, data=data)
    c = codec(active=active, compress=compress)
    [sealed] = await c.encode([original])
    assert sealed.metadata["encoding"] == ENCODING
    if len(data) >= 8:
        assert data not in sealed.data
    # A reader that knows every key decodes whatever the writer's active key was.
    assert await codec(active="k1").decode([sealed]) == [original]


def test_keyring_repr_never_shows_keys() -> None:
    ring = Keyring({"k1": K1, "k2": K2}, "k2")
    assert repr(ring) == "Keyring(kids=['k1', 'k2'], active='k2')"
    assert ring.kids == ("k1", "k2")


def test_new_key_line_parses_back_to_a_32_byte_key() -> None:
    entry = new_key_line("ops-2025")
    keys = parse_keys(entry)
    assert list(keys) == ["ops-2025"]
    assert len(keys["ops-2025"]) == 32
    assert parse_keys(new_key_line()) != parse_keys(new_key_line())


# ----------------------------------------------------------------- settings


def settings_error(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(values)
    return validation_message(caught.value)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("k1:not*base64", "codec_keys: entry 1 ('k1'): the key is not valid base64"),
        (f"k1:{base64.b64encode(bytes(16)).decode()}", "the key is 16 bytes, AES-256 needs 32"),
        (f"{line('k1', K1)},{line('k1', K2)}", "entry 2: duplicate key id 'k1'"),
        ("k1", "entry 1 is not kid:BASE64"),
        (f"{line('k1', K1)},", "entry 2 is empty"),
        (f"bad id:{base64.b64encode(K1).decode()}", "key id 'bad id' must be"),
        (" , ", "no keys: expected kid:BASE64 entries"),
    ],
)
def test_bad_codec_keys_name_the_setting_and_why(keys: str, expected: str) -> None:
    message = settings_error(codec_keys=keys)
    assert message.startswith("codec_keys: ")
    assert expected in message


def test_settings_errors_and_repr_never_carry_the_key() -> None:
    secret = base64.b64encode(bytes(31)).decode()
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"codec_keys": f"k1:{secret}"})
    assert secret not in str(caught.value)
    assert secret not in json.dumps(caught.value.errors(include_context=False), default=str)
    good = Settings.model_validate({"codec_keys": line("k1", K1)})
    assert base64.b64encode(K1).decode() not in repr(good)
    assert base64.b64encode(K1).decode() not in str(good.model_dump())


def test_active_key_must_be_among_the_keys() -> None:
    message = settings_error(codec_keys=line("k1", K1), codec_active_key="k9")
    assert message == (
        "codec_active_key: active key id 'k9' is not among the keys in AGENTRUN_CODEC_KEYS "
        "(known: k1)"
    )
    assert "there is no key to activate" in settings_error(codec_active_key="k1")


def test_settings_read_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRUN_CODEC_KEYS", f"{line('k1', K1)}, {line('k2', K2)}")
    monkeypatch.setenv("AGENTRUN_CODEC_ACTIVE_KEY", "k2")
    monkeypatch.setenv("AGENTRUN_CODEC_COMPRESS", "true")
    s = Settings()
    assert s.codec_active_key == "k2"
    converter = data_converter(s)
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.keyring.active == "k2"
    assert converter.payload_codec.compress is True


class Order(BaseModel):
    order_id: str
    note: str = "none"


async def test_data_converter_encrypts_only_when_keys_are_set() -> None:
    assert data_converter(Settings()) is DATA_CONVERTER
    converter = data_converter(Settings.model_validate({"codec_keys": line("k1", K1)}))
    assert converter.payload_converter_class is DATA_CONVERTER.payload_converter_class
    [payload] = await converter.encode([Order(order_id="SECRET-1001")])
    assert payload.metadata["encoding"] == ENCODING
    assert b"SECRET-1001" not in payload.SerializeToString()
    [back] = await converter.decode([payload], [Order])
    assert back == Order(order_id="SECRET-1001")
    # Histories written before encryption: plain payloads still decode.
    [legacy] = await DATA_CONVERTER.encode([Order(order_id="1002")])
    assert await converter.decode([legacy], [Order]) == [Order(order_id="1002")]
