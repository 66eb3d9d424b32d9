"""API keys on both databases: only hashes stored, live keys authenticate, revoked ones never."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from agentrun.contracts.identity import ApiKeyInfo, Role
from agentrun.store.audit import verify_chain
from agentrun.store.keys import (
    ApiKeyError,
    UnknownApiKey,
    authenticate,
    create_api_key,
    list_keys,
    revoke_key,
)
from agentrun.store.models import AuditEventRow

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def create(
    sessions: Callable[[], Session],
    *,
    name: str = "alice",
    role: Role | str = Role.REVIEWER,
    tenant: str = "acme",
    actor: str = "system",
    now: datetime = T0,
) -> tuple[str, ApiKeyInfo]:
    with sessions() as s, s.begin():
        return create_api_key(s, name=name, role=role, tenant=tenant, actor=actor, now=now)


def test_create_authenticate_revoke(sessions: Callable[[], Session]) -> None:
    plaintext, info = create(sessions, actor="cli:ops")
    assert plaintext.startswith(f"ark_{info.key_id}_")
    with sessions() as s:
        found = authenticate(s, plaintext)
        assert found == info
        assert found is not None
        assert (found.name, found.role, found.tenant) == ("alice", Role.REVIEWER, "acme")
        assert found.created_at == T0
        assert found.revoked_at is None
        # Surrounding whitespace from a copy-paste is forgiven; nothing else is.
        assert authenticate(s, f"  {plaintext}\n") == info
    revoked_at = T0 + timedelta(days=1)
    with sessions() as s, s.begin():
        revoked = revoke_key(s, info.key_id, actor="cli:ops", now=revoked_at)
    assert revoked.revoked_at == revoked_at
    assert not revoked.active
    with sessions() as s:
        assert authenticate(s, plaintext) is None
    # Revoking again changes nothing and keeps the first revocation time.
    with sessions() as s, s.begin():
        again = revoke_key(s, revoked.key_id, now=revoked_at + timedelta(days=1))
    assert again.revoked_at == revoked_at


def test_wrong_unknown_and_malformed_keys_do_not_authenticate(
    sessions: Callable[[], Session],
) -> None:
    plaintext, _ = create(sessions)
    prefix, key_id, secret = plaintext.split("_")
    flipped = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    other_id = ("0" if key_id[0] != "0" else "1") + key_id[1:]
    with sessions() as s:
        assert authenticate(s, f"{prefix}_{key_id}_{flipped}") is None
        assert authenticate(s, f"{prefix}_{other_id}_{secret}") is None
        for bad in ("", "ark_", plaintext[:-1], plaintext + "0", plaintext.upper(), secret):
            assert authenticate(s, bad) is None, bad
        assert authenticate(s, plaintext) is not None


def test_the_plaintext_secret_is_in_no_column(sessions: Callable[[], Session]) -> None:
    plaintext, info = create(sessions)
    secret = plaintext.rsplit("_", 1)[1]
    with sessions() as s, s.begin():
        revoke_key(s, info.key_id)
    with sessions() as s:
        rows = s.execute(text("SELECT * FROM api_keys")).mappings().all()
        events = s.execute(text("SELECT * FROM audit_events")).mappings().all()
    assert len(rows) == 1
    assert len(events) == 2
    stored = [str(value) for row in [*rows, *events] for value in row.values()]
    assert all(secret not in value and plaintext not in value for value in stored)
    # The hash is stored, but the audit trail does not carry it either.
    digest = str(rows[0]["secret_sha256"])
    assert len(digest) == 64
    assert digest != secret
    assert all(digest not in str(value) for event in events for value in event.values())


def test_creation_and_revocation_are_audited(sessions: Callable[[], Session]) -> None:
    _, info = create(sessions, actor="cli:ops", name="billing-svc", role=Role.RUNNER)
    with sessions() as s, s.begin():
        revoke_key(s, info.key_id, actor="cli:sec", now=T0 + timedelta(hours=1))
    with sessions() as s:
        events = s.exec(select(AuditEventRow).order_by(col(AuditEventRow.seq))).all()
        report = verify_chain(s)
    assert report.ok, report.message
    assert [(e.actor, e.action, e.tenant_id) for e in events] == [
        ("cli:ops", "api_key_created", "acme"),
        ("cli:sec", "api_key_revoked", "acme"),
    ]
    assert events[0].detail == {
        "key_id": info.key_id,
        "name": "billing-svc",
        "role": "runner",
        "tenant": "acme",
    }
    assert events[0].retention_class == "legal_7y"
    assert events[1].at == T0 + timedelta(hours=1)


def test_list_keys_by_tenant_oldest_first(sessions: Callable[[], Session]) -> None:
    create(sessions, name="alice", now=T0)
    create(sessions, name="bob", tenant="globex", now=T0 + timedelta(minutes=1))
    create(sessions, name="root", role=Role.ADMIN, tenant="*", now=T0 + timedelta(minutes=2))
    create(sessions, name="carol", now=T0 + timedelta(minutes=3))
    with sessions() as s:
        assert [k.name for k in list_keys(s)] == ["alice", "bob", "root", "carol"]
        assert [k.name for k in list_keys(s, "acme")] == ["alice", "carol"]
        assert [k.name for k in list_keys(s, "*")] == ["root"]
        assert list_keys(s, "initech") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "name ''"),
        ({"name": "alice smith"}, "name 'alice smith'"),
        ({"name": "x" * 201}, "name 'xxx"),
        ({"tenant": ""}, "tenant ''"),
        ({"tenant": "acme corp"}, "tenant 'acme corp'"),
        ({"role": "superuser"}, "role 'superuser'"),
        ({"tenant": "*", "role": Role.REVIEWER}, "only an admin key may act for every tenant"),
    ],
)
def test_bad_key_requests_name_the_field(
    sessions: Callable[[], Session], fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ApiKeyError, match=message.replace("*", r"\*")):
        create(sessions, **fields)  # type: ignore[arg-type]
    with sessions() as s:
        assert list_keys(s) == []
        assert s.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 0


def test_revoking_an_unknown_key_is_a_clear_error(sessions: Callable[[], Session]) -> None:
    with sessions() as s, s.begin(), pytest.raises(UnknownApiKey, match="'nope': no such API key"):
        revoke_key(s, "nope")
