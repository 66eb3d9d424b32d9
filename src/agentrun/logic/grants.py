"""Signed grants: proof of who decided a review or started a run, checkable with no I/O.

A token is ``ar1.<kid>.<b64url claims JSON>.<b64url Ed25519 signature>``; the signature covers
everything before the last dot, so neither the version, the key id nor a single claim byte can
change unnoticed. Ed25519 rather than HMAC: the verifier (a workflow's update validator) needs
only public keys, which may sit in Temporal history; the private key never leaves the minting
side (CLI, client library).

Everything here is pure: the clock comes in as ``now`` (a workflow passes ``workflow.now()``).
Workflows must import this module through ``workflow.unsafe.imports_passed_through()``:
``cryptography``'s native module can be initialised only once per process, so the sandbox may
not re-import it.
"""

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import ValidationError

from agentrun.contracts.identity import ALL_TENANTS, MAX_TOKEN_LENGTH, Grant, Role
from agentrun.contracts.runs import RunRequest

FORMAT_TAG = "ar1"
# A token minted on a host whose clock runs ahead is still fine within this margin.
CLOCK_SKEW_S = 60
REVIEW_ROLES = frozenset({Role.REVIEWER, Role.ADMIN})
START_ROLES = frozenset({Role.RUNNER, Role.ADMIN})

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_KID = re.compile(r"[0-9a-f]{1,64}")
_SIGNATURE_BYTES = 64
_TOKEN_PARTS = 4
_PUBLIC_KEY_BYTES = 32


class RefusalReason(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    FORGED = "forged"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_ACTION = "wrong_action"
    WRONG_RUN = "wrong_run"
    WRONG_TENANT = "wrong_tenant"
    WRONG_ROLE = "wrong_role"
    WRONG_REVIEW = "wrong_review"
    WRONG_DECISION = "wrong_decision"
    WRONG_PAYLOAD = "wrong_payload"
    WRONG_SUBJECT = "wrong_subject"
    REPLAYED = "replayed"


class GrantRefused(Exception):
    """The token proves nothing usable here; ``reason`` says which check failed."""

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"grant refused ({reason.value}): {detail}")
        self.reason = reason
        self.detail = detail


def canonical_json(value: object) -> str:
    """One byte form per value: what digests and signatures are computed over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _sha256(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def decision_digest(comment: str | None, output: Mapping[str, Any] | None) -> str:
    """Binds a review grant to exactly this comment and replacement output."""
    return _sha256({"comment": comment, "output": None if output is None else dict(output)})


def start_digest(request: RunRequest) -> str:
    """Binds a start grant to what the run will do, so its input cannot be swapped.

    Everything but the grant itself and the tenant, which the grant names in its own claim.
    """
    return _sha256(request.model_dump(mode="json", exclude={"grant", "tenant_id"}))


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's id is its fingerprint: a kid can never name a different key by mistake."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_grant(grant: Grant, private_key: Ed25519PrivateKey) -> str:
    """The compact token for ``grant``; its ``kid`` must be this key's."""
    if grant.kid != key_id(private_key.public_key()):
        raise ValueError(f"grant.kid {grant.kid!r} is not the signing key's id")
    claims = _b64url(canonical_json(grant.model_dump(mode="json")).encode("utf-8"))
    signing_input = f"{FORMAT_TAG}.{grant.kid}.{claims}"
    signature = private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{_b64url(signature)}"


@lru_cache(maxsize=64)
def _load_public_key(encoded: str) -> Ed25519PublicKey | None:
    """Each configured key is decoded and checked once per process, not once per grant."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _PUBLIC_KEY_BYTES:
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


def _when(epoch: int) -> str:
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return f"{epoch} (Unix seconds)"


def _parse(token: object, public_keys: Mapping[str, str]) -> Grant:
    """Structure, key and signature: after this, every claim is what the key holder signed."""
    malformed = RefusalReason.MALFORMED
    if not isinstance(token, str):
        raise GrantRefused(malformed, f"a token is a string, not {type(token).__name__}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise GrantRefused(malformed, f"token longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != _TOKEN_PARTS or parts[0] != FORMAT_TAG:
        raise GrantRefused(malformed, f"not a {FORMAT_TAG}.<kid>.<claims>.<signature> token")
    _, kid, claims_b64, signature_b64 = parts
    if not _KID.fullmatch(kid):
        raise GrantRefused(malformed, "the key id is not lowercase hex")
    if not (_B64URL.fullmatch(claims_b64) and _B64URL.fullmatch(signature_b64)):
        raise GrantRefused(malformed, "claims and signature must be base64url")
    encoded_key = public_keys.get(kid)
    public_key = _load_public_key(encoded_key) if encoded_key is not None else None
    if public_key is None:
        known = ", ".join(sorted(public_keys)) or "none"
        raise GrantRefused(
            RefusalReason.UNKNOWN_KEY, f"signed by unknown key {kid!r} (known: {known})"
        )
    try:
        signature = _unb64url(signature_b64)
        claims = _unb64url(claims_b64)
    except (binascii.Error, ValueError):
        raise GrantRefused(malformed, "claims or signature is not valid base64url") from None
    if len(signature) != _SIGNATURE_BYTES:
        raise GrantRefused(malformed, f"the signature is not {_SIGNATURE_BYTES} bytes")
    if _b64url(signature) != signature_b64:
        # Unused low bits set: the same signature spelt differently would make one grant many.
        raise GrantRefused(malformed, "the signature is not canonical base64url")
    try:
        public_key.verify(signature, token[: token.rindex(".")].encode("ascii"))
    except InvalidSignature:
        raise GrantRefused(
            RefusalReason.FORGED, f"the signature does not match key {kid!r}"
        ) from None
    try:
        grant = Grant.model_validate_json(claims)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "claims"
        raise GrantRefused(malformed, f"claims {where}: {first['msg']}") from None
    if grant.kid != kid:
        raise GrantRefused(malformed, f"claims name key {grant.kid!r}, the token {kid!r}")
    return grant


def _expect(reason: RefusalReason, what: str, got: object, want: object) -> None:
    if got != want:
        raise GrantRefused(reason, f"granted for {what} {got!r}, not {want!r}")


def verify_grant(
    token: str,
    public_keys: Mapping[str, str],
    *,
    now: datetime,
    run_id: str,
    tenant_id: str,
    action: str,
    review_id: str | None = None,
    decision: str | None = None,
    payload_digest: str | None = None,
    allowed_roles: frozenset[Role],
    subject: str | None = None,
    seen_jtis: Collection[str] = (),
) -> Grant:
    """The grant's claims if ``token`` authorises exactly this action, else ``GrantRefused``.

    ``public_keys`` maps key id to the standard base64 of the raw 32-byte Ed25519 public key.
    A review grant is checked against ``review_id``, ``decision`` and ``payload_digest``, which
    the caller must therefore pass; a start grant against ``payload_digest`` when one is given.
    ``subject``, when given, must be the grant's ``sub`` (a decision's ``reviewer``). A token
    whose ``jti`` is in ``seen_jtis`` was used before. ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware (pass workflow.now())")
    if action == "review" and (review_id is None or decision is None or payload_digest is None):
        raise ValueError("review_id, decision and payload_digest are required for a review")
    grant = _parse(token, public_keys)
    at = now.timestamp()
    if at >= grant.exp:
        raise GrantRefused(
            RefusalReason.EXPIRED, f"expired at {_when(grant.exp)}; now {now.isoformat()}"
        )
    if grant.iat > at + CLOCK_SKEW_S:
        raise GrantRefused(
            RefusalReason.NOT_YET_VALID,
            f"issued at {_when(grant.iat)}, after now {now.isoformat()}",
        )
    _expect(RefusalReason.WRONG_ACTION, "action", grant.action, action)
    _expect(RefusalReason.WRONG_RUN, "run", grant.run_id, run_id)
    admin_anywhere = grant.tenant == ALL_TENANTS and grant.role is Role.ADMIN
    if not admin_anywhere:
        _expect(RefusalReason.WRONG_TENANT, "tenant", grant.tenant, tenant_id)
    if grant.role not in allowed_roles:
        allowed = ", ".join(sorted(r.value for r in allowed_roles)) or "none"
        raise GrantRefused(
            RefusalReason.WRONG_ROLE,
            f"role {grant.role.value!r} may not {action} (allowed: {allowed})",
        )
    if action == "review":
        _expect(RefusalReason.WRONG_REVIEW, "review", grant.review_id, review_id)
        got = grant.decision.value if grant.decision is not None else None
        _expect(RefusalReason.WRONG_DECISION, "decision", got, str(decision))
    if payload_digest is not None and grant.payload_digest != payload_digest:
        what = "comment/output" if action == "review" else "request"
        raise GrantRefused(
            RefusalReason.WRONG_PAYLOAD, f"granted for a different {what} than the one presented"
        )
    if subject is not None:
        _expect(RefusalReason.WRONG_SUBJECT, "subject", grant.sub, subject)
    if grant.jti in seen_jtis:
        raise GrantRefused(RefusalReason.REPLAYED, f"token {grant.jti} was already used")
    return grant
