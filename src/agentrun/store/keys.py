"""API keys for services and reviewers: created, checked, listed and revoked in the store.

A key reads ``ark_<key_id>_<secret>``. The key id finds the row; the secret is checked against
its stored SHA-256 in constant time. The plaintext exists once, in ``create_api_key``'s return
value: losing it means revoking the key and creating another. Creation and revocation are audit
events (kept 7 years: they say who could act when), which never carry the secret or its hash.

Like ``append_event``, the writers work in the caller's transaction: the caller commits.
"""

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, col, select

from agentrun.contracts.identity import (
    ALL_TENANTS,
    NAME_PATTERN,
    TENANT_PATTERN,
    ApiKeyInfo,
    Role,
)
from agentrun.contracts.tools import RetentionClass
from agentrun.errors import UserError
from agentrun.store.audit import AuditKind, append_event
from agentrun.store.models import ApiKeyRow

KEY_PREFIX = "ark"
_KEY = re.compile(rf"{KEY_PREFIX}_([0-9a-f]{{16}})_([0-9a-f]{{64}})")
# Compared against when the key id is unknown, so a miss costs what a wrong secret costs.
_NO_HASH = "0" * 64


class ApiKeyError(UserError, ValueError):
    """A key request the store refuses; the message names the field and why."""


class UnknownApiKey(ApiKeyError, LookupError):
    pass


class _NewKey(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    role: Role
    tenant: str = Field(pattern=TENANT_PATTERN)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row.key_id,
        name=row.name,
        role=Role(row.role),
        tenant=row.tenant,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _validated(name: str, role: str, tenant: str) -> _NewKey:
    try:
        new = _NewKey.model_validate({"name": name, "role": role, "tenant": tenant})
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        value = {"name": name, "role": role, "tenant": tenant}.get(field)
        raise ApiKeyError(f"{field} {value!r}: {first['msg']}") from None
    if new.tenant == ALL_TENANTS and new.role is not Role.ADMIN:
        raise ApiKeyError(f"tenant '*': only an admin key may act for every tenant, not a {role}")
    return new


def create_api_key(
    session: Session,
    *,
    name: str,
    role: Role | str,
    tenant: str,
    actor: str = "system",
    now: datetime | None = None,
) -> tuple[str, ApiKeyInfo]:
    """A new key: its plaintext (shown once, never stored) and what the store keeps of it."""
    new = _validated(name, str(role), tenant)
    key_id = secrets.token_hex(8)
    secret = secrets.token_hex(32)
    row = ApiKeyRow(
        key_id=key_id,
        name=new.name,
        role=new.role.value,
        tenant=new.tenant,
        secret_sha256=_hash(secret),
        created_at=(now or datetime.now(UTC)).astimezone(UTC),
    )
    session.add(row)
    session.flush()
    info = _info(row)
    _audit(session, info, "api_key_created", actor, row.created_at)
    return f"{KEY_PREFIX}_{key_id}_{secret}", info


def authenticate(session: Session, presented: str) -> ApiKeyInfo | None:
    """The key's description if ``presented`` is a live key; None if malformed, unknown, revoked."""
    match = _KEY.fullmatch(presented.strip())
    if match is None:
        return None
    key_id, secret = match.groups()
    row = session.get(ApiKeyRow, key_id)
    stored = row.secret_sha256 if row is not None else _NO_HASH
    if not hmac.compare_digest(_hash(secret), stored) or row is None:
        return None
    if row.revoked_at is not None:
        return None
    return _info(row)


def list_keys(session: Session, tenant: str | None = None) -> list[ApiKeyInfo]:
    """Every key, revoked ones included, oldest first; ``tenant`` narrows to one tenant."""
    stmt = select(ApiKeyRow).order_by(col(ApiKeyRow.created_at), col(ApiKeyRow.key_id))
    if tenant is not None:
        stmt = stmt.where(col(ApiKeyRow.tenant) == tenant)
    return [_info(row) for row in session.exec(stmt)]


def revoke_key(
    session: Session, key_id: str, *, actor: str = "system", now: datetime | None = None
) -> ApiKeyInfo:
    """Revoke for good; revoking a revoked key changes nothing and reports when it happened."""
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise UnknownApiKey(f"key_id {key_id!r}: no such API key (see: agentrun keys list)")
    if row.revoked_at is None:
        row.revoked_at = (now or datetime.now(UTC)).astimezone(UTC)
        session.add(row)
        session.flush()
        _audit(session, _info(row), "api_key_revoked", actor, row.revoked_at)
    return _info(row)


def _audit(session: Session, info: ApiKeyInfo, action: str, actor: str, at: datetime) -> None:
    append_event(
        session,
        kind=AuditKind.POLICY,
        actor=actor,
        action=action,
        tenant_id=None if info.tenant == ALL_TENANTS else info.tenant,
        detail={
            "key_id": info.key_id,
            "name": info.name,
            "role": info.role.value,
            "tenant": info.tenant,
        },
        retention=RetentionClass.LEGAL_7Y,
        at=at,
    )
