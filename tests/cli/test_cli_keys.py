"""``agentrun keys`` and ``review sign`` end to end on a SQLite store, as a person uses them.

The key commands run in-process (typer's runner, real files and database); the signed
``agentrun review`` runs as a real process against a real run on the dev server.
"""

import asyncio
import json
import os
import shlex
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner, Result

from agentrun.cli import app as cli
from agentrun.cli import keys as cli_keys
from agentrun.client import AgentRunClient
from agentrun.contracts.identity import ApiKeyInfo, Role
from agentrun.contracts.review import Decision, ReviewDecision
from agentrun.contracts.runs import RunRequest
from agentrun.logic.grants import (
    REVIEW_ROLES,
    START_ROLES,
    GrantRefused,
    RefusalReason,
    decision_digest,
    key_id,
    public_key_b64,
    start_digest,
    verify_grant,
)
from agentrun.settings import Settings
from agentrun.signing import (
    SigningKeyError,
    init_signing_key,
    load_signing_key,
    mint_start_grant,
    public_keys,
    signing_dir,
)
from agentrun.store import migrate
from tests.support.waiting import wait_for_review

# Until cli.py mounts them, the commands under test get the names they will have there.
app = typer.Typer()
app.add_typer(cli_keys.keys_app, name="keys")
review_app = typer.Typer()
review_app.command("sign")(cli_keys.review_sign)
review_app.command("noop")(lambda: None)  # two commands: "sign" stays a subcommand
app.add_typer(review_app, name="review")


@dataclass
class Store:
    data_dir: Path
    url: str

    @property
    def env(self) -> dict[str, str]:
        return {"AGENTRUN_DATA_DIR": str(self.data_dir), "AGENTRUN_DATABASE_URL": self.url}

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.url)

    def run(self, *args: str, target: typer.Typer = app) -> Result:
        result = CliRunner().invoke(target, list(args), env=self.env)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, result.stderr
        return result

    def error(self, *args: str, target: typer.Typer = app) -> str:
        """The one ``error:`` line a failing command prints, with its non-zero exit."""
        result = self.run(*args, target=target)
        assert result.exit_code == 1, (result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        return lines[0]

    def create(self, name: str, role: str, tenant: str = "acme") -> str:
        result = self.ok("keys", "create", "--role", role, "--tenant", tenant, "--name", name)
        return result.stdout.strip()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    return Store(data_dir=tmp_path / "data", url=url)


def sign_args(api_key: str, *extra: str) -> list[str]:
    return ["review", "sign", "run-1", "--review-id", "final-1", "--api-key", api_key, *extra]


def test_create_sign_and_verify(store: Store) -> None:
    init = json.loads(store.ok("keys", "init-signing", "--json").stdout)
    pem = Path(init["path"])
    assert pem == store.data_dir / "signing" / f"{init['kid']}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    keys = public_keys(store.settings())
    assert keys == {init["kid"]: init["public_key"].split(":", 1)[1]}

    created = store.run(
        "keys", "create", "--role", "reviewer", "--tenant", "acme", "--name", "alice"
    )
    assert created.exit_code == 0, created.stderr
    alice = created.stdout.strip()
    assert created.stdout == alice + "\n"  # the key alone on stdout: KEY=$(...) works
    assert alice.startswith("ark_")
    assert "shown only this once" in created.stderr

    signed = store.ok(
        *sign_args(alice, "--decision", "edit", "--comment", "halved :smile:"),
        *("--output", '{"amount": 5, "note": "[b]x[/b]"}', "--json"),
    )
    body = json.loads(signed.stdout)
    payload = body["payload"]
    assert payload["reviewer"] == "alice"
    assert ReviewDecision.model_validate(payload).output == {"amount": 5, "note": "[b]x[/b]"}
    grant = verify_grant(
        payload["token"],
        keys,
        now=datetime.now(UTC),
        run_id="run-1",
        tenant_id="acme",
        action="review",
        review_id="final-1",
        decision=Decision.EDIT,
        payload_digest=decision_digest("halved :smile:", {"amount": 5, "note": "[b]x[/b]"}),
        allowed_roles=REVIEW_ROLES,
        subject="alice",
    )
    assert (grant.sub, grant.role.value, grant.tenant, grant.kid) == (
        "alice",
        "reviewer",
        "acme",
        init["kid"],
    )
    assert grant.exp - grant.iat == 600  # the default --ttl 10m

    words = shlex.split(body["command"])
    assert words[:8] == [
        *("temporal", "workflow", "update", "execute"),
        *("--workflow-id", "run-1", "--name", "submit_review"),
    ]
    assert words[8] == "--input"
    assert json.loads(words[9]) == payload


def test_human_output_is_the_payload_then_the_command(store: Store) -> None:
    store.ok("keys", "init-signing")
    alice = store.create("alice", "reviewer")
    shown = store.ok(*sign_args(alice, "--decision", "approve", "--ttl", "1h"))
    text, _, command = shown.stdout.rstrip("\n").rpartition("\n")
    payload = json.loads(text)
    assert payload["decision"] == "approve"
    assert command.startswith("temporal workflow update execute --workflow-id run-1 ")
    assert json.loads(shlex.split(command)[-1]) == payload
    assert "signed by API key" in shown.stderr
    assert "valid for 1h" in shown.stderr


def test_list_and_revoke(store: Store) -> None:
    alice = store.create("alice", "reviewer")
    store.create("billing-svc", "runner", tenant="globex")
    listed = json.loads(store.ok("keys", "list", "--json").stdout)
    assert [(k["name"], k["role"], k["tenant"]) for k in listed] == [
        ("alice", "reviewer", "acme"),
        ("billing-svc", "runner", "globex"),
    ]
    assert alice.rsplit("_", 1)[1] not in json.dumps(listed)
    only = json.loads(store.ok("keys", "list", "--tenant", "globex", "--json").stdout)
    assert [k["name"] for k in only] == ["billing-svc"]
    table = store.ok("keys", "list").stdout
    assert "alice" in table
    assert "billing-svc" in table

    key_id = listed[0]["key_id"]
    revoked = store.ok("keys", "revoke", key_id)
    assert f"API key {key_id} (alice, reviewer, tenant acme) revoked at" in revoked.stdout
    after = json.loads(store.ok("keys", "list", "--json").stdout)
    assert after[0]["revoked_at"] is not None
    assert after[1]["revoked_at"] is None
    store.ok("keys", "init-signing")
    line = store.error(*sign_args(alice, "--decision", "approve"))
    assert line == "error: --api-key: not a valid API key (unknown, revoked or mistyped)"


def test_a_key_without_the_reviewer_role_is_refused(store: Store) -> None:
    store.ok("keys", "init-signing")
    runner = store.create("billing-svc", "runner")
    operator = store.create("ops", "operator")
    for key, name, role in ((runner, "billing-svc", "runner"), (operator, "ops", "operator")):
        line = store.error(*sign_args(key, "--decision", "approve"))
        assert f"({name}) has role '{role}'" in line
        assert "deciding a review needs role admin or reviewer" in line
    # An admin for every tenant may sign.
    root = store.create("root", "admin", tenant="*")
    body = json.loads(store.ok(*sign_args(root, "--decision", "reject", "--json")).stdout)
    assert body["reviewer"] == "root"


def test_mistakes_get_one_clear_line(store: Store, tmp_path: Path) -> None:
    alice = store.create("alice", "reviewer")
    assert "no signing key in" in store.error(*sign_args(alice, "--decision", "approve"))
    store.ok("keys", "init-signing")
    cases = {
        "--ttl '10 minutes': use a duration such as 10m, 1h or 90s": sign_args(
            alice, "--decision", "approve", "--ttl", "10 minutes"
        ),
        "--ttl '2d': use a duration": sign_args(alice, "--decision", "approve", "--ttl", "2d"),
        "--ttl '25h': must be more than 0s and at most 24h": sign_args(
            alice, "--decision", "approve", "--ttl", "25h"
        ),
        "--comment: required when decision is 'request_changes'": sign_args(
            alice, "--decision", "request_changes"
        ),
        "--output is not valid JSON": sign_args(alice, "--decision", "edit", "--output", "{"),
        "--output: Out of range float values": sign_args(
            alice, "--decision", "edit", "--output", '{"amount": NaN}'
        ),
        "--api-key: not a valid API key": sign_args("ark_nope", "--decision", "approve"),
        "--tenant '*': only an admin key may act for every tenant": [
            *("keys", "create", "--role", "reviewer", "--tenant", "*", "--name", "eve"),
        ],
        "--name 'eve smith': String should match pattern": [
            *("keys", "create", "--role", "reviewer", "--tenant", "acme", "--name", "eve smith"),
        ],
        "key_id 'nope': no such API key": ["keys", "revoke", "nope"],
    }
    for expected, args in cases.items():
        assert expected in store.error(*args), args
    missing = store.error("review", "sign", "run-1", "--review-id", "r", "--decision", "approve")
    assert missing == "error: --api-key: required (or set AGENTRUN_API_KEY)"
    bare = Store(data_dir=store.data_dir, url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert "has no API key table: run agentrun db upgrade" in bare.error("keys", "list")


def test_signed_review_command_checks_the_key_before_calling_temporal(store: Store) -> None:
    store.ok("keys", "init-signing")
    runner = store.create("billing-svc", "runner")
    alice = store.create("alice", "reviewer")
    # Port 1 answers nobody: reaching Temporal would be a different error.
    base = ["review", "run-1", "--decision", "approve", "--address", "127.0.0.1:1"]
    refused = store.error(*base, "--review-id", "final-1", "--api-key", runner, target=cli.app)
    assert "has role 'runner'" in refused
    other = [*base, "--review-id", "final-1", "--reviewer", "bob", "--api-key", alice]
    assert "--reviewer 'bob': this API key belongs to 'alice'" in store.error(
        *other, target=cli.app
    )
    no_review = store.error(*base, "--api-key", alice, target=cli.app)
    assert "--review-id: required to sign" in no_review


async def test_signed_review_reaches_a_real_run(
    runs: AgentRunClient, temporal_env: Any, store: Store
) -> None:
    store.ok("keys", "init-signing")
    alice = store.create("alice", "reviewer")
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "signed"}))
    pending = (await wait_for_review(runs, run_id)).pending_review
    assert pending is not None
    address = temporal_env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "agentrun.cli", "review", run_id, "--json"),
        *("--decision", "approve", "--review-id", pending.review_id, "--address", address),
        env={**os.environ, **store.env, "AGENTRUN_API_KEY": alice},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert json.loads(stdout)["next_state"] == "COMPLETED"
    result = await runs.result(run_id)
    assert result.state.value == "COMPLETED"
    status = await runs.status(run_id)
    assert [(r.reviewer, r.decision) for r in status.reviews] == [("alice", Decision.APPROVE)]


# ----------------------------------------------------------------- signing keys


def test_public_keys_for_rotation_and_their_mistakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path)
    assert public_keys(settings) == {}
    with pytest.raises(SigningKeyError, match="auth_required is on but there is no public key"):
        public_keys(settings.model_copy(update={"auth_required": True}))
    old = init_signing_key(signing_dir(settings))
    new = init_signing_key(signing_dir(settings))
    os.utime(old.path, (1, 1))  # unmistakably the older file
    assert load_signing_key(settings).kid == new.kid
    elsewhere = Ed25519PrivateKey.generate()
    entry = f"{key_id(elsewhere.public_key())}:{public_key_b64(elsewhere.public_key())}"
    rotated = Settings(data_dir=tmp_path, extra_public_keys=(entry,))
    assert set(public_keys(rotated)) == {old.kid, new.kid, key_id(elsewhere.public_key())}
    # From the environment: comma-separated.
    monkeypatch.setenv("AGENTRUN_EXTRA_PUBLIC_KEYS", f" {entry} ,{old.public_entry}")
    assert Settings().extra_public_keys == (entry, old.public_entry)
    wrong_kid = f"{old.kid}:{public_key_b64(elsewhere.public_key())}"
    for bad, message in (
        ("no-colon", "expected kid:base64"),
        (f"{old.kid}:not-base64!", "not the base64 of a 32-byte Ed25519 key"),
        (f"{old.kid}:AAAA", "not the base64 of a 32-byte Ed25519 key"),
        (wrong_kid, f"that key's id is '{key_id(elsewhere.public_key())}'"),
    ):
        broken = Settings(data_dir=tmp_path, extra_public_keys=(entry, bad))
        with pytest.raises(SigningKeyError, match=rf"extra_public_keys\[1\] .*{message}"):
            public_keys(broken)


def test_a_signing_key_others_can_read_is_refused(tmp_path: Path) -> None:
    key = init_signing_key(tmp_path / "signing")
    settings = Settings(data_dir=tmp_path, signing_key_file=key.path)
    assert load_signing_key(settings).kid == key.kid
    key.path.chmod(0o644)
    with pytest.raises(SigningKeyError, match=r"readable by others .*chmod 600"):
        load_signing_key(settings)
    missing = settings.model_copy(update={"signing_key_file": tmp_path / "nope.pem"})
    with pytest.raises(SigningKeyError, match="no such file"):
        load_signing_key(missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    garbage.chmod(0o600)
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM key"):
        load_signing_key(settings.model_copy(update={"signing_key_file": garbage}))


def test_start_grants_are_minted_for_runners_of_the_tenant(tmp_path: Path) -> None:
    key = init_signing_key(tmp_path)
    now = datetime.now(UTC)
    request = RunRequest(agent="refund", input={"amount": 5}, tenant_id="acme", request_id="r-9")

    def holder(role: Role, tenant: str = "acme") -> ApiKeyInfo:
        return ApiKeyInfo(key_id="k", name="svc", role=role, tenant=tenant, created_at=now)

    token = mint_start_grant(
        key, holder(Role.RUNNER), request=request, now=now, ttl=timedelta(minutes=1)
    )
    grant = verify_grant(
        token,
        {key.kid: key.public_b64},
        now=now,
        run_id="r-9",
        tenant_id="acme",
        action="start",
        payload_digest=start_digest(request),
        allowed_roles=START_ROLES,
    )
    assert (grant.sub, grant.exp - grant.iat) == ("svc", 60)
    with pytest.raises(GrantRefused) as refused:
        mint_start_grant(key, holder(Role.REVIEWER), request=request, now=now, ttl=timedelta(1))
    assert refused.value.reason is RefusalReason.WRONG_ROLE
    with pytest.raises(GrantRefused) as refused:
        mint_start_grant(
            key, holder(Role.RUNNER, "globex"), request=request, now=now, ttl=timedelta(1)
        )
    assert refused.value.reason is RefusalReason.WRONG_TENANT
    with pytest.raises(ValueError, match="ttl: must be more than 0"):
        mint_start_grant(key, holder(Role.ADMIN, "*"), request=request, now=now, ttl=timedelta(2))


def test_review_sign_is_the_sign_review_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`agentrun review sign ...` (the issue's spelling) reaches `sign-review`, not a run."""
    assert cli.run_cli(["review", "sign", "--help"]) == 0
    assert "Sign a review decision" in capsys.readouterr().out
