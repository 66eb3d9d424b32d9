"""Emails, provider keys, private keys, JWTs, bearer tokens and key/value secrets."""

import pytest

from agentrun.logic.redaction import find_entities, redact_text

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4Zq\nQWxhbGFi\n-----END RSA PRIVATE KEY-----"
)


def found(text: str) -> list[tuple[str, str]]:
    return [(f.type.value, text[f.start : f.end]) for f in find_entities(text)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("write to dana.whitfield@example.com today", "dana.whitfield@example.com"),
        ("From: Dana <dana+refunds@mail.example.co.uk>", "dana+refunds@mail.example.co.uk"),
        ('{"email": "o_haddad99@example.org"}', "o_haddad99@example.org"),
        ("mailto:ops-team@example.net?subject=x", "ops-team@example.net"),
    ],
)
def test_emails(text: str, value: str) -> None:
    assert found(text) == [("email", value)]


@pytest.mark.parametrize(
    "text",
    [
        "retina icon@2x.png and logo@3x.webp",
        "ssh user@localhost",
        "git clone git@github.com:acme/agentrun.git",
        "npm install left-pad@1.3.0",
        "thanks @dana, see @here",
        "a@b",
    ],
)
def test_not_emails(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "key",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAY34FZKBOKMUTVV7A",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_pat_11ABCDEFG0123456789abc_" + "a1B2c3D4e5F6g7H8i9J0" * 3,
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678",
        "sk-ant-api03-Abc123Def456Ghi789Jkl012Mno345Pqr678-_xyz",
        "sk-" + "a1b2C3d4" * 6,
    ],
)
def test_provider_keys(key: str) -> None:
    assert found(f"use {key} for staging") == [("api_key", key)]


def test_private_keys_and_aws_secrets() -> None:
    assert found(f"key:\n{PEM}\nend") == [("api_key", PEM)]
    escaped = PEM.replace("\n", "\\n")
    assert found(f'{{"private_key": "{escaped}"}}') == [("api_key", escaped)]
    truncated = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    assert found(truncated) == [("api_key", truncated)]
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert found(f"aws_secret_access_key = {secret}") == [("api_key", secret)]


@pytest.mark.parametrize(
    "text",
    [
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "run 3f2c9a1e-8b7d-4c55-9e21-7a6b0d4f1c33 done",
        "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "etag W/1b2M2Y8AsgTpgAmY7PhCfg==",
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----",
        "risk-based-approach-for-everything-here-and-more",
        "task-1234567890abcdefghijklmnop",
        "AKIA1234 is too short; ghp_abc too",
        "hugs xoxo",
        "header eyJhbGciOiJIUzI1NiJ9 alone",
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc is a publishable key",
    ],
)
def test_not_keys(text: str) -> None:
    assert found(text) == []


def test_jwts() -> None:
    assert found(f"token is {JWT}") == [("jwt", JWT)]
    assert found(f"Authorization: Bearer {JWT}") == [("jwt", JWT)]
    assert found(f'{{"token": "{JWT}"}}') == [("jwt", JWT)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Authorization: Bearer abc123def456ghi789", "abc123def456ghi789"),
        ('curl -H "Authorization: Bearer 0a1b2c3d4e5f6a7b8c9d"', "0a1b2c3d4e5f6a7b8c9d"),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ('{"Authorization": "Bearer t0k3n-abc.def_ghi"}', "t0k3n-abc.def_ghi"),
        ("sent with bearer 9f8e7d6c5b4a3210", "9f8e7d6c5b4a3210"),
    ],
)
def test_bearer_tokens(text: str, value: str) -> None:
    assert found(text) == [("bearer", value)]


@pytest.mark.parametrize(
    "text",
    [
        "Bearer authentication is described in RFC 6750.",
        "Authorization required: sign in again",
        "Authorization: pending manager approval",
        "the bearer of this letter",
    ],
)
def test_not_bearer_tokens(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("password=hunter2 user=bob", "hunter2"),
        ("pwd: hunter2", "hunter2"),
        ("passwd='s3cr3t'", "s3cr3t"),
        ('{"password": "p@ss w0rd!"}', "p@ss w0rd!"),
        ('{"db": {"client_secret": "abc\\"def"}}', 'abc\\"def'),
        ('"{\\"password\\": \\"hunter2\\"}"', "hunter2"),
        ("DB_PASSWORD=Tr0ub4dor&3", "Tr0ub4dor&3"),  # "&" ends a value only in a URL query
        ("x-api-key: abcd1234efgh", "abcd1234efgh"),
        ("https://example.com/cb?code=1&token=abc123&state=x", "abc123"),
        ("secret = 'correct horse'", "correct horse"),
        ("spring.datasource.password: hunter2", "hunter2"),
    ],
)
def test_key_value_secrets_keep_the_key(text: str, value: str) -> None:
    assert found(text) == [("password", value)]
    assert "[REDACTED:password]" in redact_text(text).text
    assert value not in redact_text(text).text


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=512 token_count: 3 tokens_used=1500",
        "Reset password: click the link below",
        "Your password must be at least 12 characters.",
        "password: null",
        'password: "" and password: ********',
        "token=${API_TOKEN}",
        "api_key=<your-api-key>",
        "secret: {{ secrets.DB_PASSWORD }}",
        "PWD=/home/agent OLDPWD=/home",
        "password = get_password()",
        "password_hash=abc key_id=kid-1 secretary: Jane",
        "primary key: id",
    ],
)
def test_not_key_value_secrets(text: str) -> None:
    assert found(text) == [], found(text)
