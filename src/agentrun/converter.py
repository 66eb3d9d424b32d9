"""The data converter every agentrun client and worker uses.

Temporal's pydantic converter, told to leave out fields that were never set: they decode to the
same defaults, and history stops carrying ``null`` and ``[]`` for every unused field. A changed
default therefore applies to runs in flight from their next step on, like any other code change.

With ``codec_keys`` set, :func:`data_converter` adds AES-256-GCM payload encryption
(:mod:`agentrun.codec.cipher`), failure messages included: build clients through it, not from
:data:`DATA_CONVERTER` directly.
"""

import dataclasses
from typing import TYPE_CHECKING, Any

import temporalio.api.failure.v1
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, ToJsonOptions
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadConverter,
)
from temporalio.exceptions import ApplicationError

from agentrun.contracts.names import REVIEW_REFUSED, ErrorType
from agentrun.contracts.states import FailureCategory
from agentrun.logic.problems import payload_problem

if TYPE_CHECKING:  # for the annotation only: the converter must stay importable on its own
    from agentrun.settings import Settings


class CheckedJSONPayloadConverter(PydanticJSONPlainPayloadConverter):
    """Decodes like pydantic's, but a payload that does not fit its type is refused in one line.

    Any client can send anything: a review decision typed by hand into the plain ``temporal``
    CLI, a malformed run request. Left to the SDK, the ValidationError became a multi-line
    dump marked retryable; as a non-retryable ApplicationError naming the first bad field it
    reads ``invalid ReviewDecision: decision: Input should be 'approve', ...``, an update is
    rejected with it, and an activity is not retried on input that can never decode.
    """

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as err:
            raise ApplicationError(
                payload_problem(err, type_hint), type=ErrorType.INVALID_PAYLOAD, non_retryable=True
            ) from None


class CompactPydanticPayloadConverter(CompositePayloadConverter):
    """Temporal's pydantic converter with :class:`CheckedJSONPayloadConverter` for JSON."""

    def __init__(self) -> None:
        checked = CheckedJSONPayloadConverter(ToJsonOptions(exclude_unset=True))
        super().__init__(
            *(
                checked if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


# Failures a run reports on purpose: the category and message say it all, and the Web UI shows
# a stack trace under them that only points into agentrun's own workflow code. Internal errors
# (``internal``, and any exception that is not one of these) keep theirs.
QUIET_FAILURE_TYPES = frozenset(
    {c.value for c in FailureCategory if c is not FailureCategory.INTERNAL}
    | {ErrorType.INVALID_PAYLOAD, REVIEW_REFUSED}
)


class RunFailureConverter(DefaultFailureConverter):
    """Temporal's failure converter, minus the stack trace of business failures."""

    def to_failure(
        self,
        exception: BaseException,
        payload_converter: PayloadConverter,
        failure: temporalio.api.failure.v1.Failure,
    ) -> None:
        if isinstance(exception, ApplicationError) and exception.type in QUIET_FAILURE_TYPES:
            exception.__traceback__ = None
        super().to_failure(exception, payload_converter, failure)


class EncodedRunFailureConverter(RunFailureConverter):
    """:class:`RunFailureConverter` with messages moved into the encoded (encryptable) part."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)


DATA_CONVERTER = DataConverter(
    payload_converter_class=CompactPydanticPayloadConverter,
    failure_converter_class=RunFailureConverter,
)


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
        failure_converter_class=EncodedRunFailureConverter,
    )
