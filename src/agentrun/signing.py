"""The Ed25519 key that signs grants, and the public keys workflows check them with.

Private keys live as PKCS#8 PEM files in ``<data_dir>/signing/<kid>.pem`` (mode 0600), named by
their fingerprint. Rotating means ``agentrun keys init-signing`` (the newest key signs) while the
older file stays until the grants it signed have expired; a worker on another host learns the
keys through ``AGENTRUN_EXTRA_PUBLIC_KEYS`` (``kid:base64``, printed by ``init-signing``).

Minting lives here rather than in ``agentrun.logic`` because it reads the clock and randomness:
the pure half (``sign_grant``/``verify_grant``) is in ``agentrun.logic.grants``.
"""

import base64
import binascii
import math
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from agentrun.contracts.identity import ALL_TENANTS, ApiKeyInfo, Grant, GrantAction, Role
from agentrun.contracts.review import Decision
from agentrun.contracts.runs import RunRequest
from agentrun.errors import UserError
from agentrun.logic.grants import (
    REVIEW_ROLES,
    START_ROLES,
    GrantRefused,
    RefusalReason,
    decision_digest,
    key_id,
    public_key_b64,
    sign_grant,
    start_digest,
)
from agentrun.settings import Settings

SIGNING_DIR = "signing"
# Grants are for the request at hand, not credentials to keep.
MAX_GRANT_TTL = timedelta(hours=24)


class SigningKeyError(UserError):
    """No usable signing or public key; the message says which file or entry, and why."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    path: Path

    @property
    def public_b64(self) -> str:
        return public_key_b64(self.private_key.public_key())

    @property
    def public_entry(self) -> str:
        """The ``kid:base64`` form ``extra_public_keys`` takes."""
        return f"{self.kid}:{self.public_b64}"


def signing_dir(settings: Settings) -> Path:
    return settings.data_dir / SIGNING_DIR


def init_signing_key(directory: Path) -> SigningKey:
    """Generate a key and write it readable by its owner only (never briefly wider)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    kid = key_id(private_key.public_key())
    path = directory / f"{kid}.pem"
    pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    path.chmod(0o600)  # the umask can only narrow the mode; this states it exactly
    return SigningKey(kid=kid, private_key=private_key, path=path)


def read_signing_key(path: Path) -> SigningKey:
    """Refuses a key others can read, as ssh does: it would let them sign as anyone."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"signing key {path}: no such file") from None
    if mode & 0o077:
        raise SigningKeyError(
            f"signing key {path}: readable by others (mode {mode:04o}); run: chmod 600 {path}"
        )
    try:
        private_key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise SigningKeyError(f"signing key {path}: not an unencrypted PEM key ({err})") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        kind = type(private_key).__name__
        raise SigningKeyError(f"signing key {path}: {kind} is not an Ed25519 key")
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key, path=path)


def _key_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.pem"), key=lambda p: (p.stat().st_mtime_ns, p.name))


def load_signing_key(settings: Settings) -> SigningKey:
    """``signing_key_file``, else the newest key in ``<data_dir>/signing``."""
    if settings.signing_key_file is not None:
        return read_signing_key(settings.signing_key_file)
    files = _key_files(signing_dir(settings))
    if not files:
        raise SigningKeyError(
            f"no signing key in {signing_dir(settings)}: run agentrun keys init-signing "
            "(or set AGENTRUN_SIGNING_KEY_FILE)"
        )
    return read_signing_key(files[-1])


def parse_public_entry(entry: str, where: str = "extra_public_keys") -> tuple[str, str]:
    """``kid:base64`` checked: 32 raw bytes, and the kid is that key's fingerprint."""
    kid, sep, encoded = entry.strip().partition(":")
    if not sep:
        raise SigningKeyError(f"{where} {entry!r}: expected kid:base64")
    try:
        raw = base64.b64decode(encoded, validate=True)
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{where} {kid!r}: not the base64 of a 32-byte Ed25519 key") from None
    if key_id(public_key) != kid:
        raise SigningKeyError(f"{where} {kid!r}: that key's id is {key_id(public_key)!r}")
    return kid, public_key_b64(public_key)


def public_keys(settings: Settings) -> dict[str, str]:
    """Every key a grant may be signed with: kid -> base64 raw public key, for the workflow.

    The keys in ``<data_dir>/signing``, ``signing_key_file`` and ``extra_public_keys``. With
    ``auth_required`` and no key at all every grant would be refused, so that is an error here.
    """
    paths = _key_files(signing_dir(settings))
    if settings.signing_key_file is not None:
        paths.append(settings.signing_key_file)
    keys = {}
    for path in paths:
        key = read_signing_key(path)
        keys[key.kid] = key.public_b64
    for i, entry in enumerate(settings.extra_public_keys):
        kid, encoded = parse_public_entry(entry, f"extra_public_keys[{i}]")
        keys[kid] = encoded
    if settings.auth_required and not keys:
        raise SigningKeyError(
            "auth_required is on but there is no public key to check grants with: run agentrun "
            "keys init-signing, or set AGENTRUN_EXTRA_PUBLIC_KEYS"
        )
    return keys


def _sign(
    key: SigningKey,
    holder: ApiKeyInfo,
    *,
    action: GrantAction,
    run_id: str,
    payload_digest: str,
    now: datetime,
    ttl: timedelta,
    review_id: str | None = None,
    decision: Decision | None = None,
) -> str:
    """A grant in the holder's name, valid from ``now`` for ``ttl``, with a fresh nonce."""
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware")
    if not timedelta(0) < ttl <= MAX_GRANT_TTL:
        raise ValueError(f"ttl: must be more than 0 and at most {MAX_GRANT_TTL}, got {ttl}")
    iat = math.floor(now.timestamp())
    grant = Grant(
        kid=key.kid,
        sub=holder.name,
        role=holder.role,
        tenant=holder.tenant,
        action=action,
        run_id=run_id,
        review_id=review_id,
        decision=decision,
        payload_digest=payload_digest,
        exp=iat + math.ceil(ttl.total_seconds()),
        iat=iat,
        jti=secrets.token_hex(16),
    )
    return sign_grant(grant, key.private_key)


def _require_role(holder: ApiKeyInfo, allowed: frozenset[Role], doing: str) -> None:
    if holder.role not in allowed:
        roles = " or ".join(sorted(r.value for r in allowed))
        raise GrantRefused(
            RefusalReason.WRONG_ROLE,
            f"API key {holder.key_id} ({holder.name}) has role {holder.role.value!r}; "
            f"{doing} needs role {roles}",
        )


def mint_review_grant(
    key: SigningKey,
    holder: ApiKeyInfo,
    *,
    run_id: str,
    review_id: str,
    decision: Decision,
    comment: str | None,
    output: dict[str, object] | None,
    now: datetime,
    ttl: timedelta,
) -> str:
    """A review grant for an authenticated key holder; the holder's name becomes the reviewer."""
    _require_role(holder, REVIEW_ROLES, "deciding a review")
    return _sign(
        key,
        holder,
        action="review",
        run_id=run_id,
        review_id=review_id,
        decision=decision,
        payload_digest=decision_digest(comment, output),
        now=now,
        ttl=ttl,
    )


def mint_start_grant(
    key: SigningKey, holder: ApiKeyInfo, *, request: RunRequest, now: datetime, ttl: timedelta
) -> str:
    """A start grant for ``request``, whose ``request_id`` (the run id) must already be set."""
    _require_role(holder, START_ROLES, "starting a run")
    if request.request_id is None:
        raise ValueError("request.request_id: required, the grant names the run it starts")
    if holder.tenant not in {ALL_TENANTS, request.tenant_id}:
        raise GrantRefused(
            RefusalReason.WRONG_TENANT,
            f"API key {holder.key_id} ({holder.name}) is for tenant {holder.tenant!r}, "
            f"not {request.tenant_id!r}",
        )
    return _sign(
        key,
        holder,
        action="start",
        run_id=request.request_id,
        payload_digest=start_digest(request),
        now=now,
        ttl=ttl,
    )
