"""The data converter every agentrun client and worker uses.

Temporal's pydantic converter, told to leave out fields that were never set: they decode to the
same defaults, and history stops carrying ``null`` and ``[]`` for every unused field. A changed
default therefore applies to runs in flight from their next step on, like any other code change.
"""

from temporalio.contrib.pydantic import PydanticPayloadConverter, ToJsonOptions
from temporalio.converter import DataConverter


class CompactPydanticPayloadConverter(PydanticPayloadConverter):
    def __init__(self) -> None:
        super().__init__(ToJsonOptions(exclude_unset=True))


DATA_CONVERTER = DataConverter(payload_converter_class=CompactPydanticPayloadConverter)
