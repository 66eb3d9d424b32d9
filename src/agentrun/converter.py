"""The data converter every agentrun client and worker uses.

Temporal's pydantic converter, told to leave out fields that were never set: they decode to the
same defaults, and history stops carrying ``null`` and ``[]`` for every unused field. A changed
default therefore applies to runs in flight from their next step on, like any other code change.

With ``codec_keys`` set, :func:`data_converter` adds AES-256-GCM payload encryption
(:mod:`agentrun.codec.cipher`), failure messages included: build clients through it, not from
:data:`DATA_CONVERTER` directly.
"""

import dataclasses
from typing import TYPE_CHECKING

from temporalio.contrib.pydantic import PydanticPayloadConverter, ToJsonOptions
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

if TYPE_CHECKING:  # for the annotation only: the converter must stay importable on its own
    from agentrun.settings import Settings


class CompactPydanticPayloadConverter(PydanticPayloadConverter):
    def __init__(self) -> None:
        super().__init__(ToJsonOptions(exclude_unset=True))


DATA_CONVERTER = DataConverter(payload_converter_class=CompactPydanticPayloadConverter)


def data_converter(settings: "Settings") -> DataConverter:
    """The converter for this deployment: :data:`DATA_CONVERTER`, plus payload encryption when
    ``codec_keys`` is set. Every client and worker of a deployment needs the same keys: a
    worker without them fails every task whose payloads are encrypted (plaintext payloads still
    decode with keys, so switching encryption on needs no migration)."""
    if settings.codec_keys is None:
        return DATA_CONVERTER
    # Imported here: the cipher is only loaded by deployments that encrypt.
    from agentrun.codec.cipher import EncryptionCodec, Keyring  # noqa: PLC0415

    keyring = Keyring.from_text(settings.codec_keys.get_secret_value(), settings.codec_active_key)
    codec = EncryptionCodec(keyring, compress=settings.codec_compress)
    # Failure messages and stack traces name inputs too ("no such record <order id>"): they move
    # into the failure's encoded attributes, which the codec encrypts like any payload.
    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
