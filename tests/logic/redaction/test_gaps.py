"""The classes an outside red team found missed (issue 17, item 5), each with its decoys.

Emails with any RFC 5322 dot-atom character or accents in the local part; password labels
other than ``password=``; values with punctuation; URL credentials; unprefixed random secrets in
prose (an entropy test); and a provider key's type whatever name it is given.
"""

import random
import string
import uuid

import pytest

from agentrun.logic.redaction import find_entities, redact_text
from agentrun.logic.redaction.entropy import looks_random, password_shaped

RANDOM = "9fK2aLm3Qx7Rt5Vb8Nc1Zp4Ws6Yd0Hj2Gk3Lq7Q"  # 40 characters, no prefix
PNG = (  # a 1x1 image
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
SSH_PUBLIC = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def found(text: str) -> list[tuple[str, str]]:
    return [(f.type.value, text[f.start : f.end]) for f in find_entities(text)]


def redacts_once(text: str) -> None:
    once = redact_text(text).text
    assert redact_text(once).text == once
    assert find_entities(once) == ()


# --- emails ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "o'connor@example.com",
        "d'angelo@example.it",
        "zoë.o'brien@example.ie",
        "o\u2019connor@example.com",  # the typeset apostrophe language models write
        "josé.garcía@example.es",
        "müller@beispiel.de",
        "łukasz.wójcik@example.pl",
        "nguyễn.văn@example.vn",
        "иван.петров@пример.рф",
        "a!b#c$d%e&f*g+h^i~j@example.com",
        "dana+refunds-2@example.com",
        "_ops@example.com",
        '"john doe"@example.com',
        '"very.unusual.@.unusual.com"@example.com',
    ],
)
def test_every_dot_atom_character_accents_and_quoted_local_parts(email: str) -> None:
    text = f"Please write to {email} about the refund."
    assert found(text) == [("email", email)]
    redacts_once(text)


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("'bob@example.com'", "bob@example.com"),
        ('"bob@example.com"', "bob@example.com"),
        ("<bob@example.com>", "bob@example.com"),
        ("(bob@example.com)", "bob@example.com"),
        ("`bob@example.com`", "bob@example.com"),
        ("*bob@example.com*", "bob@example.com"),
        ("«bob@example.com»", "bob@example.com"),
        ("user=bob@example.com", "bob@example.com"),
        ("?to=bob@example.com&x=1", "bob@example.com"),
        ("a|bob@example.com|b", "bob@example.com"),
        ("mailto:bob@example.com?subject=hi", "bob@example.com"),
        ("请联系bob@example.com获取发票", "bob@example.com"),
    ],
)
def test_surrounding_punctuation_and_scripts_stay_outside(text: str, email: str) -> None:
    assert found(text) == [("email", email)]


@pytest.mark.parametrize(
    "text",
    [
        # Too long a local part before a later stage's finding cuts it short: the second pass
        # must not find the address the first did not ("&" and "'" are local-part characters).
        "Bearer abc123def456ghi4111111111111111AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY&d@x.io",
        "password='" + "Kx82!q" * 11 + "'dana@example.com",
    ],
)
def test_emails_glued_to_later_findings_redact_once(text: str) -> None:
    redacts_once(text)


@pytest.mark.parametrize(
    "text",
    [
        "{name}@example.com is a template",
        "${USER}@example.com",
        "it's @dana's turn",
        "icon@2x.png and 'logo@3x.webp'",
        "git@github.com:acme/shop.git",
    ],
)
def test_not_emails(text: str) -> None:
    assert found(text) == []


# --- password labels ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("pwd: hunter2 (rotated 2025-03-01)", "hunter2"),
        ("passwd=s3cr3t!", "s3cr3t!"),
        ("pass: Hunter2", "Hunter2"),
        ('passphrase: "correct horse battery staple"', "correct horse battery staple"),
        ("passcode=Kx82!q", "Kx82!q"),
        ("secret: Maple-42-ok", "Maple-42-ok"),
        ("client_secret = 'abc123def'", "abc123def"),
        ("The password is hunter2 and the user is bob.", "hunter2"),
        ("my password was Tr0ub4dor&3, please reset it", "Tr0ub4dor&3"),
        ("the passphrase is 'correct horse battery staple'", "correct horse battery staple"),
        ("password = Maple(42)x", "Maple(42)x"),
        ('{"user": "bob", "password": "p@ss w0rd!"}', "p@ss w0rd!"),
        ("database:\n  username: bob\n  password: S3cr3t[x]9\n  port: 5432", "S3cr3t[x]9"),
        ("DB_PASSWORD=Tr0ub4dor&3", "Tr0ub4dor&3"),
        ("export PGPASSWORD='x&y=z9'", "x&y=z9"),
        ("const dbPassword = 'Kx82!q';", "Kx82!q"),
        ("Your PIN is 4471.", "4471"),
        ("PIN: 0000", "0000"),
        ("Passwort: Geheim123!", "Geheim123!"),
        ("mot de passe : Soleil2024!", "Soleil2024!"),
        ("contraseña: Clave#2024", "Clave#2024"),
        ("密码\uff1aabc12345", "abc12345"),
    ],
)
def test_password_labels(text: str, value: str) -> None:
    assert found(text) == [("password", value)]
    assert value not in redact_text(text).text
    redacts_once(text)


@pytest.mark.parametrize(
    "text",
    [
        "password reset link sent to the customer",
        "The password is incorrect; three attempts left.",
        "password is required for every admin account",
        "Password: click the link below to choose one.",
        "Password: see the vault entry.",
        "the password is at least 12 characters",
        "password: N/A",
        "pass: 3 fail: 0 skipped: 1",
        "pin=13 drives the LED; pin: 7 is ground",
        "spin: 1234 rpm",
        "bypass=true compass=270",
        "passport: X1234567",
        "password = get_password()",
        "password=os.environ['DB_PASSWORD']",
        "password: process.env.DB_PASSWORD",
        "token = mint_grant(\n    run_id,\n)",
        "api_key: cli_keys.ApiKeyOpt = None",
        '{"token": token, "password": password}',
        'token = f"{header}.{payload}"',
        "next page token: Q2lBS0dqQm1OREQzTjJwMGVYQ0dTd0V4YW5NdlZHOXJaVzQ",
        "密码\uff1a请在设置中修改",
    ],
)
def test_password_decoys(text: str) -> None:
    assert found(text) == [], found(text)


# --- where a value ends ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("DB_PASSWORD=a&b(c)d'e\"f!", "a&b(c)d'e\"f!"),  # bare: to whitespace
        ("password=hunter2.", "hunter2"),  # sentence punctuation
        ("password: hunter2, user: bob", "hunter2"),
        ("(password: hunter2)", "hunter2"),  # the bracket that opened the pair
        ("[password=hunter2]", "hunter2"),
        ("'DB_PASSWORD=Tr0ub4dor&3'", "Tr0ub4dor&3"),  # the quote that opened it
        ("`password=Kx82!q` in .env", "Kx82!q"),
        ('"note": "password=hunter2",', "hunter2"),
        ("client_secret=abc123&grant_type=client_credentials", "abc123"),  # next parameter
        ("https://example.com/cb?code=1&token=abc123&state=x", "abc123"),  # a URL query
        ("https://example.com/cb?token=a%26b#frag", "a%26b"),
        ("Server=db;Password=S3cr3t!;Database=orders;", "S3cr3t!"),  # connection string
        ('{"password": "a\\"b&c"}', 'a\\"b&c'),  # escaped quote inside JSON
    ],
)
def test_values_end_where_their_writing_says(text: str, value: str) -> None:
    assert found(text) == [("password", value)]
    redacts_once(text)


# --- URL credentials ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("https://bob:hunter2@example.com/x", "hunter2"),
        ("postgres://app:p@ss:w0rd@db.example.com:5432/orders", "p@ss:w0rd"),
        ("redis://:s3cret@cache.example.net:6379/0", "s3cret"),
        ("mongodb+srv://svc:Kx82!q@cluster0.example.net/db", "Kx82!q"),
        (
            "git remote add origin https://dana:ghx_9fK2aL@git.example.com/acme/shop.git",
            "ghx_9fK2aL",
        ),
    ],
)
def test_url_credentials(text: str, value: str) -> None:
    assert found(text) == [("password", value)]  # not an email "hunter2@example.com"
    redacts_once(text)


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://user:${DB_PASS}@localhost:5432/app",
        "https://user:****@example.com/",
        "https://example.com:8443/path",
        "git clone https://github.com/acme/shop.git",
    ],
)
def test_url_credential_decoys(text: str) -> None:
    assert found(text) == []


# --- random secrets without a prefix --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"the key {RANDOM} leaked", "api_key"),
        (f"{RANDOM} was exposed in a public gist, revoke it", "api_key"),
        (f"I rotated the secret; the old value {RANDOM} no longer works.", "api_key"),
        (f"Found credentials in the repo: {RANDOM} (please rotate).", "api_key"),
        (f"apiKey {RANDOM}", "api_key"),
        (f"my password {RANDOM} got leaked", "password"),
        (f"password: {RANDOM}", "password"),  # named: the key/value rule
        (f"token: {RANDOM} (expires in 1h)", "password"),
        ("API key rotated: vD3kQ9xL2mN7pR4tW8yB1cF6hJ0sZ5gA", "api_key"),
        ("the secret Zr7/pQ2mX9kL4vB8nT1cW6yH3jF5dS0aG+eR2uK leaked", "api_key"),
    ],
)
def test_random_secrets_near_a_secret_word(text: str, kind: str) -> None:
    findings = found(text)
    assert len(findings) == 1
    assert findings[0][0] == kind
    assert len(findings[0][1]) >= 20
    redacts_once(text)


@pytest.mark.parametrize(
    "text",
    [
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed the key rotation job",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 secret image",
        "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC is the key hash",
        "run 3f2c9a1e-8b7d-4c55-9e21-7a6b0d4f1c33 rotated the token cache",
        "idempotency key refund-ORD-7730192-1 reused",
        "tracking 9400111899223100000000: the token bucket of 40 requests was full",
        "tracking 1Z999AA10123456784 token",
        "the key order is ORDER20240314000123456",
        "The key is under the mat.",
        "token bucket of 40 requests per second",
        "The key product ultra-soft-cotton-bath-towel-set-grey-large ships today",
        "The secret to great support is listening: InternationalizationGuidelines2025 has more.",
        "const apiKeyProviderFactory2 = makeKeyProvider(config)",
        "secret santa note, base64: SGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0IG1lc3NhZ2U=",
        f'<img alt="key visual" src="data:image/png;base64,{PNG}">',
        f"public key: ssh-ed25519 {SSH_PUBLIC}",
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc is a publishable key",
        "charge ch_3Nq9Z2LkdIwHu7ix0w1p2q3r refunded; no key or token involved",
        "key https://cdn.example.com/assets/9fK2aLm3Qx7Rt5Vb8Nc1Zp4W/bundle.js",
        "key /var/lib/app/keys/9fK2aLm3Qx7Rt5Vb8Nc1Zp4Ws6Yd0",
        f"keyboard {RANDOM}",  # no secret word: "keyboard" is not "key"
        f"ch_x {RANDOM} nothing else around",
    ],
)
def test_random_token_decoys(text: str) -> None:
    assert found(text) == [], found(text)


def test_random_secrets_of_common_alphabets_are_found() -> None:
    """Recall on fresh draws: at 32-48 characters fewer than 1 in 100 may be missed."""
    rng = random.Random(17)  # noqa: S311 -- seeded test data, not a secret
    alphabets = (
        string.ascii_letters + string.digits,
        string.ascii_lowercase + string.digits,
        string.ascii_uppercase + "234567",
        string.ascii_letters + string.digits + "+/",
        string.ascii_letters + string.digits + "-_",
    )
    missed = 0
    for _ in range(1000):
        token = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(32, 48)))
        text = f"Heads up: the key {token} leaked yesterday."
        missed += found(text) != [("api_key", token)]
    assert missed <= 10


def test_hex_ids_and_digests_are_never_random_secrets() -> None:
    rng = random.Random(17)  # noqa: S311 -- seeded test data, not a secret
    for _ in range(300):
        for token in (
            f"{rng.getrandbits(160):040x}",
            f"{rng.getrandbits(256):064x}",
            str(uuid.UUID(int=rng.getrandbits(128))),
        ):
            assert found(f"the key {token} leaked") == []


# --- a key's shape names its type -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "password: sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "password: sk-live-abcdefghijklmnopqrstuvwxyzAB",  # no digit: a key by its name only
        "api_key=AKIAIOSFODNN7EXAMPLE",
        "passwd=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        '{"secret": "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"}',
        "token: xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ],
)
def test_key_shaped_values_are_api_keys_whatever_their_name(text: str) -> None:
    [(kind, value)] = found(text)
    assert kind == "api_key"
    assert value in text
    assert len(value) >= 20


def test_a_jwt_stays_a_jwt_under_any_name() -> None:
    jwt = (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
        ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
    assert found(f"password: {jwt}") == [("jwt", jwt)]


def test_an_unshaped_value_keeps_its_name() -> None:
    assert found("api_key=Maple1234!") == [("password", "Maple1234!")]


# --- the shape tests themselves -------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (RANDOM, True),
        ("k3j5h2g8f9d0s7a6l4k3j2h1g5f6d7s8", True),  # lower case and digits
        ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ", True),  # base32
        ("9fceb02d0ae598e95dc970b74767f19372d61af8", False),  # hex
        ("3f2c9a1e-8b7d-4c55-9e21-7a6b0d4f1c33", False),  # UUID
        ("iphone-15-pro-max-256gb-natural-titanium", False),  # slug
        ("AbstractSingletonProxyFactoryBean2", False),  # identifier
        ("internationalization2025", False),  # word and year
        ("ORDER20240314000123456", False),  # order id
        ("abc123abc123abc123abc123", False),  # repetition
        ("SGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0IG1lc3NhZ2U=", False),  # base64 of text
        ("short9fK2", False),
    ],
)
def test_looks_random(token: str, expected: bool) -> None:
    assert looks_random(token) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hunter2", True),
        ("Tr0ub4dor&3", True),
        ("p@ss!", True),
        ("click", False),
        ("Required", False),
        ("12", False),
        ("123456", False),
        ("N/A", False),
        ("cli_keys.ApiKeyOpt", False),
    ],
)
def test_password_shaped(value: str, expected: bool) -> None:
    assert password_shaped(value) is expected
