"""Signed grants: every refusal has its own reason, and nothing but a real grant gets through."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from agentrun.contracts.identity import Grant, Role
from agentrun.contracts.review import Decision
from agentrun.contracts.runs import ParentLink, RunRequest
from agentrun.logic.grants import (
    CLOCK_SKEW_S,
    REVIEW_ROLES,
    START_ROLES,
    GrantRefused,
    RefusalReason,
    decision_digest,
    key_id,
    public_key_b64,
    sign_grant,
    start_digest,
    verify_grant,
)

KEY = Ed25519PrivateKey.generate()
KID = key_id(KEY.public_key())
OTHER = Ed25519PrivateKey.generate()
OTHER_KID = key_id(OTHER.public_key())
PUBLIC = {KID: public_key_b64(KEY.public_key())}
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
IAT = int(NOW.timestamp())
EXP = IAT + 600
COMMENT = "looks right"
DIGEST = decision_digest(COMMENT, None)


def review_grant(**changes: Any) -> Grant:
    claims: dict[str, Any] = {
        "kid": KID,
        "sub": "alice",
        "role": Role.REVIEWER,
        "tenant": "acme",
        "action": "review",
        "run_id": "run-1",
        "review_id": "final-1",
        "decision": Decision.APPROVE,
        "payload_digest": DIGEST,
        "exp": EXP,
        "iat": IAT,
        "jti": "0123456789abcdef0123456789abcdef",
    }
    claims.update(changes)
    return Grant.model_validate(claims)


def review_token(**changes: Any) -> str:
    return sign_grant(review_grant(**changes), KEY)


def check_review(token: str, **expect: Any) -> Grant:
    """verify_grant as the review validator calls it, with the defaults a valid token meets."""
    args: dict[str, Any] = {
        "now": NOW,
        "run_id": "run-1",
        "tenant_id": "acme",
        "action": "review",
        "review_id": "final-1",
        "decision": "approve",
        "payload_digest": DIGEST,
        "allowed_roles": REVIEW_ROLES,
        "subject": "alice",
    }
    args.update(expect)
    return verify_grant(token, PUBLIC, **args)


def refusal(token: str, **expect: Any) -> GrantRefused:
    with pytest.raises(GrantRefused) as caught:
        check_review(token, **expect)
    return caught.value


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_valid_review_grant_returns_its_claims() -> None:
    token = review_token()
    assert token.startswith(f"ar1.{KID}.")
    grant = check_review(token)
    assert grant == review_grant()
    assert grant.expires_at == NOW + timedelta(minutes=10)
    # The decision may arrive as the contract's enum, as the workflow holds it.
    assert check_review(token, decision=Decision.APPROVE).sub == "alice"


def test_a_valid_start_grant_is_bound_to_the_request() -> None:
    request = RunRequest(agent="refund", input={"amount": 10}, tenant_id="acme", request_id="r1")
    digest = start_digest(request)
    token = sign_grant(
        review_grant(
            role=Role.RUNNER,
            action="start",
            run_id="r1",
            review_id=None,
            decision=None,
            payload_digest=digest,
            sub="billing-svc",
        ),
        KEY,
    )
    args: dict[str, Any] = {"now": NOW, "run_id": "r1", "tenant_id": "acme", "action": "start"}
    grant = verify_grant(token, PUBLIC, allowed_roles=START_ROLES, payload_digest=digest, **args)
    assert grant.sub == "billing-svc"
    # The grant itself and the tenant (a claim of its own) are not part of the digest.
    assert start_digest(request.model_copy(update={"grant": token})) == digest
    swapped = start_digest(request.model_copy(update={"input": {"amount": 10_000}}))
    with pytest.raises(GrantRefused) as caught:
        verify_grant(token, PUBLIC, allowed_roles=START_ROLES, payload_digest=swapped, **args)
    assert caught.value.reason is RefusalReason.WRONG_PAYLOAD
    with pytest.raises(GrantRefused) as caught:
        verify_grant(token, PUBLIC, allowed_roles=REVIEW_ROLES, **args)
    assert caught.value.reason is RefusalReason.WRONG_ROLE


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "ar1.abc.def",
        f"ar2.{KID}.e30.AAAA",
        f"ar1.{KID.upper()}.e30.AAAA",
        "ar1..e30.AAAA",
        f"ar1.{KID}.e30!.AAAA",
        f"ar1.{KID}.e30.AA AA",
        f"ar1.{KID}.e30.AAAA.extra",
        f"ar1.{KID}\n.e30.AAAA",
        f"ar1.{KID}.e30.{b64url(b'short')}",
        f"ar1.{KID}.e30.A",
        "ar1." + "a" * 5000,
    ],
    # The key id is random per process: ids that name it stay the same in every process.
    ids=lambda token: token.replace(KID, "KID").replace(KID.upper(), "KID-UPPER")[:40],
)
def test_malformed_tokens_are_refused_as_malformed(token: str) -> None:
    assert refusal(token).reason is RefusalReason.MALFORMED


def test_a_non_string_token_is_malformed() -> None:
    assert refusal(42).reason is RefusalReason.MALFORMED  # type: ignore[arg-type]


def test_signed_but_invalid_claims_are_malformed() -> None:
    signing_input = f"ar1.{KID}.{b64url(json.dumps({'sub': 'alice'}).encode())}"
    token = f"{signing_input}.{b64url(KEY.sign(signing_input.encode()))}"
    err = refusal(token)
    assert err.reason is RefusalReason.MALFORMED
    assert "claims" in err.detail


def test_claims_naming_another_key_than_the_token_are_malformed() -> None:
    claims = review_grant().model_dump(mode="json") | {"kid": OTHER_KID}
    signing_input = f"ar1.{KID}.{b64url(json.dumps(claims).encode())}"
    token = f"{signing_input}.{b64url(KEY.sign(signing_input.encode()))}"
    assert refusal(token).reason is RefusalReason.MALFORMED


def test_a_token_signed_by_an_unknown_key_is_refused() -> None:
    token = sign_grant(review_grant(kid=OTHER_KID), OTHER)
    err = refusal(token)
    assert err.reason is RefusalReason.UNKNOWN_KEY
    assert OTHER_KID in str(err)
    assert KID in str(err)  # names the keys it does know
    # A known kid whose configured public key is unusable refuses the same way, never crashes.
    broken = {KID: "not base64!"}
    with pytest.raises(GrantRefused) as caught:
        verify_grant(review_token(), broken, **_review_args())
    assert caught.value.reason is RefusalReason.UNKNOWN_KEY


def _review_args() -> dict[str, Any]:
    return {
        "now": NOW,
        "run_id": "run-1",
        "tenant_id": "acme",
        "action": "review",
        "review_id": "final-1",
        "decision": "approve",
        "payload_digest": DIGEST,
        "allowed_roles": REVIEW_ROLES,
    }


@pytest.mark.parametrize(
    "edit",
    [
        {"decision": "reject"},
        {"tenant": "*", "role": "admin"},
        {"sub": "mallory"},
        {"exp": EXP + 86_400},
        {"run_id": "run-2"},
    ],
)
def test_claims_edited_after_signing_are_forged(edit: dict[str, Any]) -> None:
    _, kid, claims_b64, signature = review_token().split(".")
    claims = json.loads(unb64url(claims_b64)) | edit
    edited = b64url(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    err = refusal(f"ar1.{kid}.{edited}.{signature}", **_matching(edit))
    assert err.reason is RefusalReason.FORGED


def _matching(edit: dict[str, Any]) -> dict[str, Any]:
    """Expectations the edited claims would meet, so only the signature can refuse them."""
    expect: dict[str, Any] = {}
    if "decision" in edit:
        expect["decision"] = edit["decision"]
    if "run_id" in edit:
        expect["run_id"] = edit["run_id"]
    if "sub" in edit:
        expect["subject"] = edit["sub"]
    return expect


def test_a_signature_by_another_key_under_our_kid_is_forged() -> None:
    signing_input = review_token().rsplit(".", 1)[0]
    token = f"{signing_input}.{b64url(OTHER.sign(signing_input.encode()))}"
    assert refusal(token).reason is RefusalReason.FORGED


def test_a_signature_moved_to_another_token_is_forged() -> None:
    approve = review_token()
    reject = review_token(decision=Decision.REJECT)
    spliced = reject.rsplit(".", 1)[0] + "." + approve.rsplit(".", 1)[1]
    assert refusal(spliced, decision="reject").reason is RefusalReason.FORGED


def test_expiry_boundary() -> None:
    token = review_token()
    expires = datetime.fromtimestamp(EXP, UTC)
    assert check_review(token, now=expires - timedelta(microseconds=1)).exp == EXP
    err = refusal(token, now=expires)
    assert err.reason is RefusalReason.EXPIRED
    assert "2025-06-01T12:10:00+00:00" in str(err)
    assert refusal(token, now=expires + timedelta(days=1)).reason is RefusalReason.EXPIRED


def test_a_grant_from_the_future_is_refused_beyond_the_clock_skew() -> None:
    token = review_token(iat=IAT + CLOCK_SKEW_S)
    assert check_review(token).iat == IAT + CLOCK_SKEW_S
    late = review_token(iat=IAT + CLOCK_SKEW_S + 1)
    assert refusal(late).reason is RefusalReason.NOT_YET_VALID


@pytest.mark.parametrize(
    ("expect", "reason"),
    [
        ({"action": "start"}, RefusalReason.WRONG_ACTION),
        ({"run_id": "run-2"}, RefusalReason.WRONG_RUN),
        ({"tenant_id": "globex"}, RefusalReason.WRONG_TENANT),
        ({"allowed_roles": frozenset({Role.ADMIN})}, RefusalReason.WRONG_ROLE),
        ({"allowed_roles": frozenset()}, RefusalReason.WRONG_ROLE),
        ({"review_id": "final-2"}, RefusalReason.WRONG_REVIEW),
        ({"decision": "reject"}, RefusalReason.WRONG_DECISION),
        ({"payload_digest": decision_digest("looks wrong", None)}, RefusalReason.WRONG_PAYLOAD),
        ({"subject": "mallory"}, RefusalReason.WRONG_SUBJECT),
        ({"seen_jtis": {"0123456789abcdef0123456789abcdef"}}, RefusalReason.REPLAYED),
    ],
)
def test_each_mismatch_has_its_own_reason(expect: dict[str, Any], reason: RefusalReason) -> None:
    token = review_token()
    if expect.get("action") == "start":
        expect["review_id"] = expect["decision"] = None
    err = refusal(token, **expect)
    assert err.reason is reason
    assert str(err).startswith(f"grant refused ({reason.value}): ")


def test_other_jtis_are_not_a_replay() -> None:
    assert check_review(review_token(), seen_jtis=["f" * 32]).jti.startswith("0123")


def test_an_admin_for_every_tenant_may_act_in_any_tenant() -> None:
    token = review_token(role=Role.ADMIN, tenant="*")
    assert check_review(token, tenant_id="acme").tenant == "*"
    assert check_review(token, tenant_id="globex").role is Role.ADMIN
    # "*" is an admin's privilege alone: a reviewer claiming it is refused.
    reviewer_everywhere = review_token(role=Role.REVIEWER, tenant="*")
    assert refusal(reviewer_everywhere, tenant_id="acme").reason is RefusalReason.WRONG_TENANT
    # An admin of one tenant is still bound to it.
    assert refusal(review_token(role=Role.ADMIN), tenant_id="globex").reason is (
        RefusalReason.WRONG_TENANT
    )


def test_an_edited_comment_or_output_is_refused() -> None:
    assert decision_digest("a", None) != decision_digest("a ", None)
    assert decision_digest(None, None) != decision_digest("", None)
    assert decision_digest(None, {"a": 1, "b": 2}) == decision_digest(None, {"b": 2, "a": 1})
    assert decision_digest(None, {"a": 1}) != decision_digest(None, {"a": 1.5})
    edit = decision_digest(None, {"amount": 10})
    token = review_token(decision=Decision.EDIT, payload_digest=edit)
    assert check_review(token, decision="edit", payload_digest=edit).decision is Decision.EDIT
    swapped = decision_digest(None, {"amount": 10_000})
    err = refusal(token, decision="edit", payload_digest=swapped)
    assert err.reason is RefusalReason.WRONG_PAYLOAD


def test_caller_mistakes_are_errors_not_refusals() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_review(review_token(), now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="required for a review"):
        check_review(review_token(), payload_digest=None)
    with pytest.raises(ValueError, match="not the signing key"):
        sign_grant(review_grant(), OTHER)


@given(st.text(max_size=300))
def test_random_strings_are_only_ever_refused(token: str) -> None:
    with pytest.raises(GrantRefused):
        check_review(token)


_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@given(
    st.text(alphabet="0123456789abcdef", max_size=20),
    st.text(alphabet=_B64_ALPHABET, max_size=200),
    st.text(alphabet=_B64_ALPHABET, max_size=120),
)
def test_random_well_shaped_tokens_are_only_ever_refused(kid: str, claims: str, sig: str) -> None:
    with pytest.raises(GrantRefused):
        check_review(f"ar1.{kid}.{claims}.{sig}")
    with pytest.raises(GrantRefused):
        check_review(f"ar1.{KID}.{claims}.{sig}")


_VALID = review_token()


@given(st.integers(min_value=0, max_value=len(_VALID) - 1), st.sampled_from(_B64_ALPHABET + "."))
def test_any_one_character_change_is_refused(at: int, char: str) -> None:
    tampered = _VALID[:at] + char + _VALID[at + 1 :]
    if tampered == _VALID:
        return
    with pytest.raises(GrantRefused):
        check_review(tampered)


# ----------------------------------------------------------------- inside a real workflow

# What a workflow does with grants: a validator that refuses, a handler that re-checks on
# replay. Written out as a module of its own because the sandbox re-imports a workflow's module,
# and this one must import nothing a sandbox cannot (this test file imports pytest, hypothesis).
GATE_MODULE = """
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.review import ReviewDecision
    from agentrun.logic.grants import REVIEW_ROLES, GrantRefused, decision_digest, verify_grant


@workflow.defn(name="GrantGate")
class GrantGate:
    @workflow.init
    def __init__(self, keys: dict[str, str]) -> None:
        # The public keys come with the run (history may hold them): an update can arrive
        # before the run method has started, so they must be there from the first moment.
        self.keys = keys
        self.seen: set[str] = set()
        self.accepted: list[str] = []

    @workflow.run
    async def run(self, keys: dict[str, str]) -> list[str]:
        await workflow.wait_condition(lambda: len(self.accepted) == 2)
        return self.accepted

    def check(self, decision: ReviewDecision) -> str:
        if decision.token is None:
            raise ValueError("unsigned decision")
        try:
            grant = verify_grant(
                decision.token,
                self.keys,
                now=workflow.now(),
                run_id=workflow.info().workflow_id,
                tenant_id="acme",
                action="review",
                review_id=decision.review_id or "",
                decision=decision.decision,
                payload_digest=decision_digest(decision.comment, decision.output),
                allowed_roles=REVIEW_ROLES,
                subject=decision.reviewer,
                seen_jtis=self.seen,
            )
        except GrantRefused as err:
            raise ValueError(str(err)) from None
        return grant.jti

    @workflow.update
    def submit(self, decision: ReviewDecision) -> str:
        self.seen.add(self.check(decision))
        self.accepted.append(decision.reviewer)
        return decision.reviewer

    @submit.validator
    def validate(self, decision: ReviewDecision) -> None:
        self.check(decision)
"""


async def test_grants_are_checked_inside_the_workflow_sandbox(
    temporal_env: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import uuid

    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.worker import Replayer, Worker

    from agentrun.converter import DATA_CONVERTER

    (tmp_path / "grant_gate_workflow.py").write_text(GATE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    gate = importlib.import_module("grant_gate_workflow").GrantGate
    queue = f"grants-{uuid.uuid4().hex}"
    run_id = f"gate-{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    window = {"iat": int(now.timestamp()), "exp": int(now.timestamp()) + 300}

    def decision(token: str, reviewer: str = "alice", comment: str = COMMENT) -> Any:
        return {
            "decision": "approve",
            "reviewer": reviewer,
            "comment": comment,
            "review_id": "final-1",
            "token": token,
        }

    alice = review_token(run_id=run_id, **window)
    admin = review_token(
        run_id=run_id, sub="root", role=Role.ADMIN, tenant="*", jti="f" * 32, **window
    )
    async with Worker(temporal_env.client, task_queue=queue, workflows=[gate]):
        handle = await temporal_env.client.start_workflow(
            "GrantGate", PUBLIC, id=run_id, task_queue=queue
        )
        assert await handle.execute_update("submit", decision(alice)) == "alice"
        refused = {
            "replayed": decision(alice),
            "wrong_payload": decision(alice, comment="swapped"),
            "wrong_subject": decision(alice, reviewer="bob"),
            "unknown_key": decision(sign_grant(review_grant(kid=OTHER_KID), OTHER)),
            "malformed": decision("ar1.nonsense"),
        }
        for reason, payload in refused.items():
            with pytest.raises(WorkflowUpdateFailedError) as failed:
                await handle.execute_update("submit", payload)
            assert f"grant refused ({reason})" in str(failed.value.cause)
        assert await handle.execute_update("submit", decision(admin, reviewer="root")) == "root"
        assert await handle.result() == ["alice", "root"]
    history = await handle.fetch_history()
    replayer = Replayer(workflows=[gate], data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(history, raise_on_replay_failure=True)


def test_fields_added_later_leave_a_requests_digest_as_it_was() -> None:
    """A run in flight verifies its start grant again when it replays: a request without a
    parent or carried state must digest exactly as before those fields existed."""
    request = RunRequest(agent="refund", input={"order_id": "1001"}, tenant_id="acme")
    before = {
        "agent", "version", "input", "tenant_id", "user_id", "request_id", "budget", "model",
        "grant", "evaluation",
    }  # fmt: skip
    assert set(request.model_dump(mode="json")) == before
    # The digest as it was before teams and continue-as-new: over exactly these fields.
    old_dump = {
        "agent": "refund", "version": None, "input": {"order_id": "1001"},
        "user_id": "anonymous", "request_id": None, "budget": None, "model": None,
        "evaluation": None,
    }  # fmt: skip
    canonical = json.dumps(old_dump, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert start_digest(request) == hashlib.sha256(canonical.encode()).hexdigest()
    linked = request.model_copy(
        update={
            "parent": ParentLink(
                run_id="p", root_run_id="p", agent="lead", version="1", tool="ask_refund", depth=1
            )
        }
    )
    assert start_digest(linked) != start_digest(request)
