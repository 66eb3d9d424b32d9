"""Who may do what: roles per tenant, API keys, and the signed grants they earn.

See docs/governance.md.

A ``Grant`` is the claim set of a signed token (``agentrun.logic.grants``): the trusted side
mints one after authenticating an API key, and the workflow checks it without any I/O, holding
only public keys. Its fields are short and flat because it travels inside every decision.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentrun.contracts.review import Decision

# Any tenant: only an admin key may hold it.
ALL_TENANTS = "*"
# A tenant as RunRequest.tenant_id spells it, or "*".
TENANT_PATTERN = r"^(\*|[A-Za-z0-9][A-Za-z0-9._:@-]{0,127})$"
# A person or a service; it becomes the reviewer name, so it stays printable and unambiguous.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$"
# Grant (and ``ReviewDecision.token``/``RunRequest.grant``) length bound: a real one is ~500.
MAX_TOKEN_LENGTH = 4096

GrantAction = Literal["review", "start"]


class Role(StrEnum):
    RUNNER = "runner"  # starts runs (services)
    REVIEWER = "reviewer"  # decides reviews
    OPERATOR = "operator"  # operates: cancel, retention, inspection
    ADMIN = "admin"  # everything, may hold tenant "*"


class ApiKeyInfo(BaseModel):
    """An API key as the store describes it: never its secret, never its hash."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    name: str
    role: Role
    tenant: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Grant(BaseModel):
    """The signed claims of a review or start grant.

    ``exp``/``iat`` are Unix seconds (as in JWT): integers have one JSON form, so the signed
    bytes never depend on how a datetime was rendered. ``payload_digest`` binds a review grant
    to the decision's comment and output (``decision_digest``), and a start grant, optionally,
    to the request (``start_digest``), so neither can be swapped under a valid signature.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")
    sub: str = Field(min_length=1, max_length=200)
    role: Role
    tenant: str = Field(min_length=1, max_length=128)
    action: GrantAction
    run_id: str = Field(min_length=1, max_length=200)
    review_id: str | None = Field(default=None, max_length=200)
    decision: Decision | None = None
    payload_digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    exp: int
    iat: int
    jti: str = Field(min_length=16, max_length=64)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)

    @property
    def issued_at(self) -> datetime:
        return datetime.fromtimestamp(self.iat, UTC)
