"""Fault-injection drills: an operator makes a tool fail, slow down or return malformed output
at a set rate, for one agent (version, tenant), so a team rehearses retries, fallbacks, alerts
and rollback on real runs. Applied in the tool activity, never in workflow code."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

FAULT_ID_PATTERN = r"^f-[0-9a-f]{8}$"


class FaultMode(StrEnum):
    ERROR = "error"  # a retryable failure, as a 503 from the tool's service
    SLOW = "slow"  # the call waits ``delay_s`` first
    MALFORMED = "malformed"  # output that breaks the tool's contract


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fault_id: str = Field(pattern=FAULT_ID_PATTERN)
    agent: str = Field(min_length=1, max_length=64)
    tool: str = Field(min_length=1, max_length=64)
    mode: FaultMode
    rate: float = Field(gt=0, le=1)
    version: str | None = Field(default=None, max_length=64)
    tenant_id: str | None = Field(default=None, max_length=128)
    delay_s: float = Field(default=5.0, gt=0, le=600)
    created_by: str = Field(min_length=1, max_length=200)
    created_at: datetime
    until: datetime | None = None
