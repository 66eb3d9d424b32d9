"""Write the labelled redaction corpus: ``python -m bench.make_redaction_corpus``.

Seeded and deterministic, so re-running it reproduces ``tests/data/redaction_corpus.jsonl`` byte
for byte; the committed file, not this script, is what ``bench.redaction`` and the tests read.
Labels come from how each line is built, never from the detector. Every value is made up: card
numbers are random digits completed to a Luhn check digit, IBANs random account numbers with
computed check digits, phone numbers libphonenumber's example numbers and the ranges reserved
for fiction (555-01xx in North America, 020 7946 0xxx in London, 0491 570 156 in Australia),
keys random characters after each provider's prefix.

Some positives are written in forms the detector is documented not to catch (a UK national
number with no phone keyword on its line), and some negatives cannot be told from an entity by
any detector (a Luhn-valid 16-digit id in Visa's range), so the measured figures are honest
rather than 1.00 by construction.

The lines after the first 386 (``build_gaps``) cover the classes an outside red team found
missed (issue 17): RFC 5322 and accented local parts, password labels and values with
punctuation, URL credentials, random secrets in prose, provider keys under another name, and
decoys for each. They come from a generator of their own, so the first lines stay as they were.
"""

import base64
import json
import random
import re
import string
import sys
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "redaction_corpus.jsonl"
SEED = 20261129

Entity = tuple[str, str]  # (type, value)
Line = tuple[str, list[Entity]]
NAMES = (
    "Dana", "Whitfield", "Omar", "Haddad", "Mei", "Tanaka", "Lukas", "Becker", "Amara", "Okafor",
    "Sofia", "Rossi", "Noah", "Keller", "Priya", "Raman", "Elena", "Petrova", "Jonas", "Berg",
)  # fmt: skip
WORDS = (
    "river", "maple", "orbit", "copper", "lantern", "harbor", "falcon", "meadow", "quartz",
    "ember", "willow", "summit", "billing", "support", "ops", "finance", "refunds",
)  # fmt: skip
ALPHABETS = {
    "d": string.digits,
    "x": "0123456789abcdef",
    "a": string.ascii_letters + string.digits,
    "g": string.ascii_letters + string.digits + "-_",
    "b": string.ascii_letters + string.digits + "+/",
    "U": string.ascii_uppercase + "234567",
    "A": string.ascii_uppercase,
    "C": string.ascii_uppercase + string.digits,
}
# Provider key layouts: {<alphabet><count>} is that many random characters.
KEYS = (
    "AKIA{U16}", "ASIA{U16}", "AIza{g35}", "ghp_{a36}", "gho_{a36}", "ghs_{a36}",
    "github_pat_{a22}_{a59}", "xoxb-{d12}-{d13}-{a24}", "xoxp-{d12}-{d12}-{d13}-{x32}",
    "sk_live_{a24}", "rk_live_{a24}", "sk-{a48}", "sk-proj-{g56}", "sk-ant-api03-{g93}AA",
)  # fmt: skip
# Country -> account part, same notation.
BBAN = {
    "DE": "{d18}", "GB": "{A4}{d14}", "FR": "{d10}{C11}{d2}", "ES": "{d20}", "IT": "{A1}{d10}{C12}",
    "NL": "{A4}{d10}", "BE": "{d12}", "CH": "{d5}{C12}", "AT": "{d16}", "PL": "{d24}",
    "SE": "{d20}", "NO": "{d11}", "DK": "{d14}", "FI": "{d14}", "IE": "{A4}{d14}", "PT": "{d21}",
    "LU": "{d3}{C13}", "SA": "{d2}{C18}", "AE": "{d19}", "BR": "{d23}{A1}{C1}", "CZ": "{d20}",
    "HU": "{d24}", "RO": "{A4}{C16}", "GR": "{d7}{C16}", "HR": "{d17}", "LT": "{d16}",
    "MT": "{A4}{d5}{C18}", "KZ": "{d3}{C13}", "IL": "{d19}", "QA": "{A4}{C21}", "UA": "{d6}{C19}",
}  # fmt: skip
CARD_PREFIXES = (
    ("4", 16), ("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
    ("34", 15), ("37", 15), ("6011", 16), ("644", 16), ("65", 16), ("3528", 16), ("3589", 16),
    ("36", 14), ("300", 14), ("38", 16), ("62", 16), ("6759", 16), ("5018", 19), ("4", 19),
)  # fmt: skip
NANP_AREAS = ("212", "312", "415", "617", "202", "305", "206", "512", "416", "604", "303")
INTERNATIONAL = (
    "+49 30 123456", "+49 1512 3456789", "+33 1 23 45 67 89", "+33 6 12 34 56 78",
    "+91 74104 10123", "+91 81234 56789", "+81 3-1234-5678", "+81 90-1234-5678",
    "+55 11 2345-6789", "+55 11 96123-4567", "+34 612 34 56 78", "+39 02 1234 5678",
    "+31 6 12345678", "+52 222 123 4567", "+65 6123 4567", "+27 71 123 4567",
    "+41 21 234 56 78", "+46 70 123 45 67", "+48 512 345 678", "+353 85 012 3456",
    "+64 21 123 4567", "+82 2-212-3456", "+32 450 00 12 34", "+43 664 123456",
    "+351 912 345 678", "+61 491 570 156", "+4930123456", "+33612345678", "+918123456789",
)  # fmt: skip


class Gen:
    """Entity values of every type, drawn from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, items: tuple[str, ...]) -> str:
        return self.rng.choice(items)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def digits(self, n: int) -> str:
        return self.chars(string.digits, n)

    def layout(self, spec: str) -> str:
        return re.sub(r"\{(\w)(\d+)\}", lambda m: self.chars(ALPHABETS[m[1]], int(m[2])), spec)

    @staticmethod
    def luhn_complete(body: str) -> str:
        total = 0
        for i, c in enumerate(reversed(body)):
            d = int(c) * (2 if i % 2 == 0 else 1)
            total += d - 9 if d > 9 else d
        return body + str((10 - total % 10) % 10)

    def card(self) -> str:
        prefix, length = self.rng.choice(CARD_PREFIXES)
        return self.luhn_complete(prefix + self.digits(length - len(prefix) - 1))

    def card_text(self, digits: str) -> str:
        sep = self.pick(("", " ", "-"))
        if not sep:
            return digits
        if len(digits) in (14, 15):  # Diners and Amex print 4-6-4/5
            return sep.join((digits[:4], digits[4:10], digits[10:]))
        return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))

    def iban(self) -> str:
        country = self.pick(tuple(BBAN))
        bban = self.layout(BBAN[country])
        number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
        return f"{country}{98 - number % 97:02d}{bban}"

    def iban_text(self, compact: str) -> str:
        if self.rng.random() < 0.35:  # the electronic form
            return compact
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

    def ssn(self) -> str:
        area = self.rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{self.rng.randint(1, 99):02d}-{self.rng.randint(1, 9999):04d}"

    def phone(self) -> str:
        kind, area = self.rng.random(), self.pick(NANP_AREAS)
        line = f"01{self.rng.randint(0, 99):02d}"
        if kind < 0.45:
            return self.pick(
                (f"({area}) 555-{line}", f"{area}-555-{line}", f"{area}.555.{line}",
                 f"{area} 555 {line}", f"+1 {area}-555-{line}", f"+1 ({area}) 555-{line}",
                 f"+1{area}555{line}", f"1-{area}-555-{line}")
            )  # fmt: skip
        if kind < 0.6:
            return self.pick(
                (f"+44 20 7946 0{self.digits(3)}", f"+44 161 496 0{self.digits(3)}",
                 f"0044 20 7946 0{self.digits(3)}", f"+442079460{self.digits(3)}")
            )  # fmt: skip
        return self.pick(INTERNATIONAL)

    def national_phone(self) -> str:
        """Written the way a country's own citizens do: only recognisable after "phone"."""
        return self.pick(
            (f"020 7946 0{self.digits(3)}", f"0161 496 0{self.digits(3)}", "030 123456",
             "01 23 45 67 89", "06 12 34 56 78", "03-1234-5678", "0491 570 156",
             f"{self.pick(NANP_AREAS)}555{self.rng.randint(100, 199):04d}")
        )  # fmt: skip

    def email(self) -> str:
        first, last = self.pick(NAMES).lower(), self.pick(NAMES).lower()
        local = self.pick(
            (f"{first}.{last}", f"{first}_{last}", f"{first[0]}{last}",
             f"{first}+{self.pick(WORDS)}",
             f"{first}.{last}{self.rng.randint(1, 99)}", f"{self.pick(WORDS)}-team")
        )  # fmt: skip
        domain = self.pick(
            ("example.com", "example.org", "example.net", "mail.example.com", "eu.example.org",
             "example.co.uk", "corp.example.io", "test.example.dev")
        )  # fmt: skip
        return f"{local}@{domain}"

    def pem(self, escaped: bool) -> str:
        kind = self.pick(("RSA ", "EC ", "", "OPENSSH "))
        body = [self.layout("{b64}") for _ in range(self.rng.randint(2, 4))]
        lines = [f"-----BEGIN {kind}PRIVATE KEY-----", *body, f"-----END {kind}PRIVATE KEY-----"]
        return ("\\n" if escaped else "\n").join(lines)

    def jwt(self) -> str:
        header = {"alg": self.pick(("HS256", "RS256", "ES256")), "typ": "JWT"}
        payload = {"sub": self.digits(8), "name": self.pick(NAMES), "iat": 1_700_000_000}
        parts = [json.dumps(x, separators=(",", ":")).encode() for x in (header, payload)]
        parts.append(self.rng.randbytes(32))
        return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts)

    def password(self) -> str:
        word = self.pick(WORDS)
        return self.pick(
            (f"{word.capitalize()}{self.rng.randint(10, 9999)}!",
             self.layout("{a6}") + "*^!" + self.digits(3),
             f"{word}-{self.pick(WORDS)}-{self.rng.randint(1, 99)}", self.layout("{A2}{x8}{d3}"))
        )  # fmt: skip

    def basic(self) -> str:
        user = self.pick(NAMES).lower()
        return base64.b64encode(f"{user}:{self.password()}".encode()).decode()

    def bad_card(self) -> str:
        """In Visa's or Mastercard's range, but the check digit is wrong."""
        good = self.luhn_complete(self.pick(("4", "5")) + self.digits(14))
        return self.card_text(good[:-1] + str((int(good[-1]) + self.rng.randint(1, 9)) % 10))

    def bad_ssn(self) -> str:
        area, group, serial = self.ssn().split("-")
        return self.pick(
            (f"000-{group}-{serial}", f"666-{group}-{serial}",
             f"9{self.digits(2)}-{group}-{serial}",
             f"{area}-00-{serial}", f"{area}-{group}-0000")
        )  # fmt: skip

    def bad_iban(self) -> str:
        good = self.iban()
        check = (int(good[2:4]) + self.rng.randint(1, 95)) % 97
        return self.iban_text(f"{good[:2]}{max(check, 2):02d}{good[4:]}")


Maker = Callable[[Gen], str]
# Field -> (entity type, or "" for filler; value maker).
FIELDS: dict[str, tuple[str, Maker]] = {
    "email": ("email", Gen.email),
    "phone": ("phone", Gen.phone),
    "phone_kw": ("phone", Gen.national_phone),
    "phone_hard": ("phone", lambda g: f"020 7946 0{g.digits(3)}"),
    "card": ("card", lambda g: g.card_text(g.card())),
    # Each group is drawn from another card (the draws the first corpus made), so the number is
    # a card only when it happens to pass the check: "card?" labels it by that (see fill).
    "card_hard": ("card?", lambda g: ".".join(g.card()[i : i + 4] for i in range(0, 16, 4))),
    "iban": ("iban", lambda g: g.iban_text(g.iban())),
    "ssn": ("ssn", Gen.ssn),
    "ssn_space": ("ssn", lambda g: g.ssn().replace("-", " ")),
    "ssn_bare": ("ssn", lambda g: g.ssn().replace("-", "")),
    "api_key": ("api_key", lambda g: g.layout(g.pick(KEYS))),
    "aws_secret": ("api_key", lambda g: g.layout("{b40}")),
    "pem": ("api_key", lambda g: g.pem(escaped=False)),
    "pem_json": ("api_key", lambda g: g.pem(escaped=True)),
    "jwt": ("jwt", Gen.jwt),
    "bearer": ("bearer", lambda g: g.layout(g.pick(("{a28}{d2}", "{a36}{d3}", "{g40}{d2}")))),
    "basic": ("bearer", Gen.basic),
    "password": ("password", Gen.password),
    # fillers, and negatives that look like entities
    "name": ("", lambda g: g.pick(NAMES)),
    "word": ("", lambda g: g.pick(WORDS)),
    "n": ("", lambda g: str(g.rng.randint(2, 480))),
    "id": ("", lambda g: f"ORD-{g.digits(7)}"),
    "date": ("", lambda g: f"2025-{g.rng.randint(1, 12):02d}-{g.rng.randint(1, 28):02d}"),
    "ts": ("", lambda g: f"2025-03-{g.rng.randint(10, 28)}T{g.rng.randint(0, 23):02d}:"
           f"{g.rng.randint(0, 59):02d}:{g.rng.randint(0, 59):02d}.{g.digits(3)}Z"),
    "amount": ("", lambda g: f"{g.rng.randint(1, 9999)}.{g.digits(2)}"),
    "uuid": ("", lambda g: g.layout("{x8}-{x4}-{x4}-{x4}-{x12}")),
    "sha": ("", lambda g: g.layout("{x40}")),
    "sha256": ("", lambda g: g.layout("{x64}")),
    "blob": ("", lambda g: g.layout("{b44}")),
    "ms": ("", lambda g: f"17{g.digits(11)}"),
    "isbn": ("", lambda g: g.pick(("978-3-16-148410-0", "0-306-40615-2", "978-0-596-52068-7"))),
    "bad_card": ("", Gen.bad_card),
    "non_card": ("", lambda g: g.luhn_complete(g.pick(("1", "7", "8", "9")) + g.digits(14))),
    "lookalike": ("", lambda g: g.card_text(g.luhn_complete("4" + g.digits(14)))),
    "bad_ssn": ("", Gen.bad_ssn),
    "nine": ("", lambda g: g.ssn().replace("-", "")),
    "bad_iban": ("", Gen.bad_iban),
}  # fmt: skip

# (template, lines drawn from it). Templates without entity fields are negatives.
TEMPLATES: tuple[tuple[str, int], ...] = (
    ("Please contact {email} about order {id}.", 4),
    ('{{"customer": {{"name": "{name}", "email": "{email}", "orders": {n}}}}}', 4),
    ("From: {name} <{email}>\nTo: {email}\nSubject: refund for {id}", 3),
    ("{ts} INFO notify user={email} template=refund_approved attempt=1", 3),
    ("Forwarded to {email}; cc {email}. Reply by {date}.", 2),
    ("| {name} | {email} | {amount} |", 2),
    ("mailto:{email}?subject=Invoice%20{n}", 2),
    ("You can reach me on {phone} after 5pm.", 6),
    ('{{"contact": {{"phone": "{phone}", "name": "{name}"}}}}', 5),
    ("{ts} WARN sms_gateway to={phone} status=queued", 4),
    ("Call {phone} or email {email} to reschedule order {id}.", 4),
    ("Tel: {phone_kw}", 3),
    ("phone number {phone_kw} (mobile)", 3),
    ("Her office line is {phone}, extension {n}.", 3),
    ("Ring me on {phone_hard} tomorrow morning.", 3),
    ("name,phone,city\n{name},{phone},Springfield", 3),
    ("The payment card on file is {card} (exp 12/27).", 6),
    ('{{"payment_method": {{"type": "card", "number": "{card}", "cvc_check": "pass"}}}}', 5),
    ("{ts} ERROR charge failed card={card} amount={amount} code=card_declined", 4),
    ("Refund {amount} USD to card {card} for order {id}.", 4),
    ("Customer read out the number {card_hard} over the phone.", 2),
    ("Cards tried: {card}, then {card}.", 3),
    ("Please wire the refund to IBAN {iban} (account holder {name}).", 7),
    ('{{"payout": {{"iban": "{iban}", "currency": "EUR", "amount": {amount}}}}}', 6),
    ("{ts} INFO sepa_transfer debtor_iban={iban} status=pending", 5),
    ("Bank details:\n  Name: {name}\n  IBAN: {iban}\n  Reference: {id}", 5),
    ("Old account {iban} was closed; new one is {iban}.", 3),
    ("Applicant SSN: {ssn}, date of birth {date}.", 6),
    ('{{"applicant": {{"ssn": "{ssn}", "name": "{name}"}}}}', 5),
    ("{ts} DEBUG kyc_check ssn={ssn} result=match", 4),
    ("Social security number {ssn_space} was verified.", 4),
    ("SSN {ssn_bare} on the W-2 form matches.", 4),
    ("customer_ssn: {ssn_bare}", 3),
    ("Tax form lists {ssn} for {name}.", 4),
    ("Use the key {api_key} for the staging integration.", 10),
    ("export OPENAI_API_KEY={api_key}", 4),
    ('{{"provider": "{word}", "credentials": {{"key": "{api_key}"}}}}', 6),
    ("{ts} ERROR auth failed for key {api_key} (revoked)", 5),
    ("[default]\naws_access_key_id = {api_key}\naws_secret_access_key = {aws_secret}", 4),
    ("AWS_SECRET_ACCESS_KEY={aws_secret}", 2),
    ("Here is the deploy key:\n{pem}\nKeep it safe.", 3),
    ('{{"private_key": "{pem_json}", "client_email": "{email}"}}', 2),
    ("The session token is {jwt}", 5),
    ("Cookie: session={jwt}; Path=/; HttpOnly", 4),
    ('{{"id_token": "{jwt}", "expires_in": 3600}}', 5),
    ("{ts} DEBUG verify jwt={jwt} ok=true", 4),
    ('curl -H "Authorization: Bearer {jwt}" https://api.example.com/v1/runs', 4),
    ("Decoded {jwt} for user {name}.", 3),
    ("Authorization: Bearer {bearer}", 6),
    ('curl -s -H "Authorization: Bearer {bearer}" https://api.example.com/v2/items', 5),
    ('{{"headers": {{"Authorization": "Bearer {bearer}", "Accept": "application/json"}}}}', 5),
    ("Authorization: Basic {basic}", 5),
    ("{ts} DEBUG outbound GET /orders auth=Bearer {bearer}", 4),
    ("The gateway expects bearer {bearer} on every call.", 3),
    ("proxy-authorization: Basic {basic}", 2),
    ("password={password} user={name}", 5),
    ('{{"username": "{name}", "password": "{password}"}}', 6),
    ("db_password: {password}", 4),
    ("DB_PASSWORD={password}", 3),
    ("pwd: {password}", 3),
    ("connect(host, passwd='{password}')", 3),
    ("client_secret={password}&grant_type=client_credentials", 3),
    ("https://example.com/callback?code=abc&token={password}", 3),
    ("api_key={password}", 3),
    ('secret = "{password}"', 3),
    ("{ts} INFO login user={name} password={password} ip=10.0.0.{n}", 3),
    ("Customer {name} ({email}, {phone}) paid with {card}; refund to {iban}.", 4),
    ('{{"user": "{email}", "ssn": "{ssn}", "token": "{jwt}"}}', 3),
    ("{ts} INFO tool=crm_lookup email={email} phone={phone} api_key={api_key}", 3),
    # curly quotes and dashes, as language models write them
    ("I\u2019ve updated it to \u201c{email}\u201d \u2014 the old number {phone} is gone.", 3),
    ("R\u00e9sum\u00e9, {date}: card \u2018{card}\u2019, IBAN \u00ab {iban} \u00bb, ssn {ssn}.", 3),
    ("On {date} at 09:30 she called from {phone}; on {date} from {phone}.", 2),
    (
        (
            "Summary: {name} asked us to update {email}. Card {card} was charged {amount}.\n"
            "Authorization: Bearer {bearer}\npassword={password}"
        ),
        3,
    ),
    # negatives
    ("Order {bad_card} shipped on {date}.", 6),
    ("Tracking number {non_card} (carrier UPS).", 5),
    ('{{"order_id": "{non_card}", "total": {amount}}}', 3),
    ("Rejected SSN {bad_ssn}: not issued.", 6),
    ("Invoice {nine} is due on {date}.", 3),
    ("IBAN {bad_iban} failed validation (checksum).", 5),
    ("run {uuid} finished at {ts}", 4),
    ("commit {sha} built in {n} s", 4),
    ("sha256={sha256}", 2),
    ('{{"etag": "{blob}", "size": {n}}}', 3),
    ("event_time_ms={ms} latency_ms={n}", 3),
    ("ISBN {isbn}, printed {date}", 3),
    ("{ts} INFO model=gpt-4o input_tokens={n} output_tokens={n} max_tokens=1024", 4),
    ('{{"usage": {{"prompt_tokens": {n}, "completion_tokens": {n}, "total_tokens": {n}}}}}', 3),
    ("Internal reference {lookalike} (warehouse batch, not a payment).", 2),
)  # fmt: skip
NEGATIVES = (
    "Meeting moved to 2025-03-14 09:30 (room 4.12); bring the Q1 numbers.",
    "Dates: 15/01/2024, 01.02.2024, 2024/11/30 and March 3, 2024.",
    "Upgrade from v1.2.3 to 10.15.7; build 2025.03.1 and 2.31.0.1 are affected.",
    "Node 10.0.4.17:7233 and 192.168.100.254 are healthy; port 8080 closed.",
    "Total: 1,234,567.89 EUR across 12,345 transactions (0.00059 per call).",
    "Coordinates 37.7749, -122.4194; elevation 16 m.",
    "Times 12:30:45, 23:59:59.999 and 00:00:01.",
    "Zip 94105-1420, PO Box 12345, Springfield.",
    "Ticket #88231 and #88232 were merged into INC-2024-118734.",
    "Reset password: click the link below to choose a new one.",
    "Your password must be at least 12 characters long.",
    "password: null",
    "password: ********",
    '{"password": "", "remember_me": true}',
    "token=${API_TOKEN} is read from the environment",
    "api_key=<your-api-key-here>",
    "secret: {{ secrets.DB_PASSWORD }}",
    "PWD=/home/agent/work OLDPWD=/home/agent",
    "The token count was 1500 and tokens_remaining=98500.",
    "Authorization required: please sign in again.",
    "Authorization: pending manager approval",
    "Bearer authentication is described in RFC 6750.",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkq\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    "Thanks @dana for the review; see icon@2x.png and logo@3x.webp.",
    "ssh user@localhost, then git clone git@github.com:acme/agentrun.git",
    "npm install left-pad@1.3.0 react@18.2.0",
    "Our risk-based approach covers task-force-2024-review-notes-and-more.",
    "pip install scikit-learn; sk-learn is not a package name.",
    "The AKIA prefix marks AWS access keys; AKIA1234 alone is too short.",
    "hugs xoxo, see you soon",
    "Header eyJhbGciOiJIUzI1NiJ9 alone is not a token.",
    "Call center hours: 9-17, Monday to Friday, 5 days a week.",
    "The flight departs 06:45 from gate 12 and lands 09:10.",
    "Serial numbers 1000234, 1000235 and 1000236 were recalled.",
    "Room 415, floor 5, building 55; dial 0 for reception.",
    "Version string: 4.11.1111.1111 (internal build).",
    "Phone numbers are stored hashed and never logged.",
    "Replace 555-0100 style placeholders before sending.",
    "Use the 'secretary' field, not the 'secret' field, for the assistant name.",
    "key_id=kid-2024-01 rotation_days=90 algorithm=RS256",
    "idempotency key refund-ORD-7730192-1 reused",
    "Phone: see the contact sheet (page 2).",
    "Order 2024-0000123456 and PO 4500012345 were approved on 2025-01-07.",
    "Build 20250314.1 passed 1432 tests in 318.5 s.",
)


# The classes an outside red team found missed (issue 17): RFC 5322 and accented local parts,
# password labels and values with punctuation, URL credentials, random secrets in prose, and
# provider keys under another name; with decoys for each. Drawn from a generator of their own
# and appended after the lines above, so those stay as they were.
GAP_SEED = SEED + 17
APOSTROPHE_NAMES = ("o'connor", "d'angelo", "o'brien", "d'souza", "n'diaye", "o'neill", "d'arcy")
ACCENTED_NAMES = (
    "josé.garcía", "müller", "zoë.dubois", "françois", "søren.kierkegaard", "łukasz.wójcik",
    "ana-maría.lópez", "björn", "anaïs", "çelik", "đorđe", "nguyễn.văn",
)  # fmt: skip
RANDOM_ALPHABETS = (
    string.ascii_letters + string.digits,
    string.ascii_lowercase + string.digits,
    string.ascii_letters + string.digits + "+/",
)
# Symbols a password may hold inside a bare value (no "=", quotes, brackets or backticks,
# which some templates use to end the value).
BARE_SYMBOLS = "&!#%^*?@$+~|\\/"
URL_SYMBOLS = "!$&*+~-_:%"
JSON_ESCAPES = ('\\"', "\\\\", "&", "/")  # an escaped quote, an escaped backslash
PASSPHRASE_WORDS = ("correct", "horse", "battery", "staple", "purple", "monkey", "dishwasher")


def _email_local(gen: Gen) -> str:
    first, last = gen.pick(NAMES).lower(), gen.pick(NAMES).lower()
    return gen.pick(
        (gen.pick(APOSTROPHE_NAMES), f"{first}.{gen.pick(APOSTROPHE_NAMES)}",
         gen.pick(ACCENTED_NAMES), f"{gen.pick(ACCENTED_NAMES)}{gen.rng.randint(1, 99)}",
         f"{first}!{last}", f"{first}#{gen.rng.randint(1, 9)}", f"{first}&{last}",
         f"{first}*{gen.pick(WORDS)}", f"{first}^{last}", f"{first}~{last}",
         f"{first}${gen.rng.randint(1, 99)}", f"{first}%{gen.pick(WORDS)}",
         f"{first}'{last}", f"{first}+{gen.pick(WORDS)}-{gen.rng.randint(1, 9)}")
    )  # fmt: skip


def email_rfc(gen: Gen) -> str:
    domain = gen.pick(("example.com", "example.ie", "example.fr", "beispiel.de", "ejemplo.es"))
    return f"{_email_local(gen)}@{domain}"


def email_quoted(gen: Gen) -> str:
    return f'"{gen.pick(NAMES).lower()} {gen.pick(NAMES).lower()}"@example.com'


def email_cyrillic(gen: Gen) -> str:
    local = gen.pick(("иван.петров", "ольга", "дмитрий.соколов", "анна.смирнова"))
    return f"{local}@{gen.pick(('пример.рф', 'example.ru'))}"


def pw_bare(gen: Gen) -> str:
    """A password with a symbol or two inside, ending with a letter or digit."""
    word = gen.pick(WORDS).capitalize()
    return (
        f"{word}{gen.pick(tuple(BARE_SYMBOLS))}{gen.digits(gen.rng.randint(1, 4))}"
        f"{gen.pick(tuple(BARE_SYMBOLS))}{gen.layout('{a3}')}"
    )


def pw_brackets(gen: Gen) -> str:
    """Brackets and quotes inside, for values that are quoted or bare at the end of a line."""
    word = gen.pick(WORDS).capitalize()
    inner = gen.pick(("(42)", "[x]", "{7}", "<3", "it's", "a,b", "x;y", "k:v", "50%"))
    return f"{word}{inner}{gen.digits(2)}{gen.pick(('!', '#', 'Q', 'z'))}"


def pw_url(gen: Gen) -> str:
    return (
        f"{gen.pick(WORDS)}{gen.pick(tuple(URL_SYMBOLS))}{gen.digits(3)}"
        f"{gen.pick(('@', '', '!'))}{gen.layout('{a4}')}"
    )


def pw_json(gen: Gen) -> str:
    """As it appears inside a JSON string: an escaped quote or backslash in the middle."""
    return gen.pick(WORDS) + gen.pick(JSON_ESCAPES) + gen.layout("{a5}{d2}")


def random_secret(gen: Gen) -> str:
    return gen.chars(gen.pick(RANDOM_ALPHABETS), gen.rng.randint(32, 48))


def key_no_digit(gen: Gen) -> str:
    """An OpenAI-style key that happens to have no digit: a key by its name only."""
    return "sk-live-" + gen.chars(string.ascii_letters, 28)


def _card16(gen: Gen) -> str:
    prefix, _ = gen.rng.choice([p for p in CARD_PREFIXES if p[1] == 16])
    return Gen.luhn_complete(prefix + gen.digits(15 - len(prefix)))


def card_dotted(gen: Gen) -> str:
    digits = _card16(gen)  # once: not once per group
    return ".".join(digits[i : i + 4] for i in range(0, 16, 4))


def png_base64(gen: Gen) -> str:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + gen.rng.randbytes(45)
    return base64.b64encode(data).decode()


def ssh_public(gen: Gen) -> str:
    data = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + gen.rng.randbytes(32)
    return base64.b64encode(data).decode()


def text_base64(gen: Gen) -> str:
    sentence = f"{gen.pick(NAMES)} asked about the {gen.pick(WORDS)} invoice on {gen.digits(2)} May"
    return base64.b64encode(sentence.encode()).decode()


FIELDS.update(
    {
        "email_rfc": ("email", email_rfc),
        "email_quoted": ("email", email_quoted),
        "email_cyrillic": ("email", email_cyrillic),
        "pw_bare": ("password", pw_bare),
        "pw_brackets": ("password", pw_brackets),
        "pw_url": ("password", pw_url),
        "card_dotted": ("card", card_dotted),
        "pw_query": ("password", lambda g: pw_url(g).replace("&", "%26").replace(":", "%3A")),
        "pw_json": ("password", pw_json),
        "pw_random": ("password", random_secret),
        "passphrase": ("password", lambda g: " ".join(g.pick(PASSPHRASE_WORDS) for _ in range(4))),
        "pin": ("password", lambda g: g.digits(g.rng.choice((4, 4, 6)))),
        "secret_random": ("api_key", random_secret),
        "api_key_nodigit": ("api_key", key_no_digit),
        "user": ("", lambda g: g.pick(NAMES).lower()),
        "png": ("", png_base64),
        "ssh_pub": ("", ssh_public),
        "b64_text": ("", text_base64),
        "slug": ("", lambda g: f"{g.pick(WORDS)}-{g.pick(WORDS)}-{g.digits(3)}-{g.pick(WORDS)}-xl"),
        "tracking": ("", lambda g: g.layout(g.pick(("9400111899223{d9}", "1Z{C6}{d10}")))),
        "order_code": ("", lambda g: f"ORDER{g.digits(14)}"),
        "idem": ("", lambda g: f"refund-ORD-{g.digits(7)}-{g.rng.randint(1, 9)}"),
        "stripe_id": ("", lambda g: g.pick(("ch_", "pi_", "cus_", "prod_")) + g.layout("{a24}")),
    }
)  # fmt: skip

GAP_TEMPLATES: tuple[tuple[str, int], ...] = (
    # emails: RFC 5322 local parts, accents, quoted local parts, in quotes and other scripts
    ("Please forward the refund note to {email_rfc} today.", 8),
    ("Reply-To: '{email_rfc}'", 4),
    ("From: {name} <{email_rfc}>", 4),
    ("(cc {email_rfc}) and `{email_rfc}` were both on the thread.", 3),
    ('{{"contact": "{email_rfc}", "locale": "fr-FR"}}', 3),
    ("The customer's address is {email_quoted}, quotes included.", 3),
    ("Écrivez à {email_rfc} pour toute question sur la commande {id}.", 3),
    ("Bitte antworten Sie an «{email_rfc}» bis {date}.", 2),
    ("请联系{email_rfc}获取发票。", 2),
    ("連絡先\uff1a{email_rfc}\uff08営業時間内\uff09", 2),  # full-width colon, parentheses
    ("Ответ отправлен на {email_cyrillic}.", 2),
    # password labels and values with punctuation
    ("pwd: {password} (rotated {date})", 4),
    ("passwd={pw_bare}", 3),
    ("pass: {password}", 3),
    ('passphrase: "{passphrase}"', 3),
    ("Your PIN is {pin}.", 3),
    ("secret: {pw_bare}", 3),
    ("The password is {password} and the user is {name}.", 4),
    ("my password was {password}, please reset it", 3),
    ("password = {pw_brackets}", 3),
    ('{{"user": "{user}", "password": "{pw_json}"}}', 4),
    ("database:\n  username: {user}\n  password: {pw_brackets}\n  port: 5432", 3),
    ("DB_PASSWORD={pw_bare}", 4),
    ("export PGPASSWORD='{pw_bare}'", 3),
    ('MYSQL_ROOT_PASSWORD="{pw_brackets}"', 2),
    ("Server=db.example.com;User Id={user};Password={pw_bare};Database=orders;", 3),
    ("Set `DB_PASSWORD={pw_bare}` in the .env file.", 2),
    ("(password: {pw_bare})", 2),
    ("login?user={user}&password={pw_query}&remember=1", 2),
    ("Passwort: {password}", 2),
    ("mot de passe : {password}", 2),
    ("contraseña: {pw_bare}", 2),
    ("密码\uff1a{password}", 2),
    ("Customer read the card out as {card_dotted} over the phone.", 3),
    ("Karte {card_dotted} wurde am {date} belastet.", 2),
    # URL credentials
    ("postgres://{user}:{pw_url}@db.internal.example.com:5432/app", 4),
    ("git remote add origin https://{user}:{pw_url}@git.example.com/acme/shop.git", 3),
    ("REDIS_URL=redis://:{pw_url}@cache.example.net:6379/0", 2),
    ("amqp://{user}:{pw_url}@mq.example.org/vhost connection refused", 2),
    # unprefixed random secrets: named (a password by the key/value rule) and in prose
    ("password: {pw_random}", 3),
    ("token: {pw_random} (expires in 1h)", 3),
    ("The key {secret_random} leaked in yesterday's build log.", 4),
    ("Heads up: {secret_random} was exposed in a public gist, revoke it.", 3),
    ("I rotated the secret; the old value {secret_random} no longer works.", 3),
    ("Found credentials in the repo: {secret_random} (please rotate).", 3),
    ("Der API-Key {secret_random} wurde versehentlich geteilt.", 2),
    ("my password {pw_random} got leaked", 2),
    # keys under another name: the key's shape names the type
    ("password: {api_key}", 4),
    ("passwd={api_key}", 2),
    ('{{"secret": "{api_key}"}}', 3),
    ("pwd: {api_key_nodigit}", 2),
    ("API_TOKEN={api_key_nodigit}", 2),
    # decoys with an entity-like token next to a secret word
    ("commit {sha} fixed the key rotation job", 3),
    ("sha256:{sha256} is the digest of the secret store image", 3),
    ("run {uuid} rotated the token cache", 3),
    ("idempotency key {idem} reused", 3),
    ("tracking {tracking}: the token bucket of 40 requests was full", 3),
    ("the key order is {order_code} then {order_code}", 2),
    ('<img alt="key visual" src="data:image/png;base64,{png}">', 3),
    ("ssh public key: ssh-ed25519 {ssh_pub} {user}@laptop", 3),
    ("secret santa note, base64: {b64_text}", 3),
    ("The key product {slug} ships with a token of appreciation.", 3),
    ("charge {stripe_id} refunded; no key or token involved", 3),
    ("pass: {n} fail: 0 skipped: {n}", 2),
)  # fmt: skip
GAP_NEGATIVES = (
    "password reset link sent to the customer",
    "The key is under the mat by the back door.",
    "token bucket of 40 requests per second, refilled every 100 ms",
    "The password is incorrect; three attempts left.",
    "Password: see the vault entry for the staging database.",
    "password is required for every admin account",
    "the password was changed yesterday",
    "Passphrase: choose four random words.",
    "pin=13 drives the status LED; pin: 7 is ground.",
    "bypass=true compass=270 passenger_count=3",
    "passport number is checked at the gate",
    "Use a keyboard shortcut; the monkey key is a typo.",
    "public key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    "the api key field is empty, so the token was never issued",
    "git log --format=%H | head -1 prints 9fceb02d0ae598e95dc970b74767f19372d61af8 for the key fix",
    "cache key user:8f14e45fceea167a5a36dedd4bea2543 expired",
    "partition key tenant-2024-eu-west-1-shard-07",
    "next page token: Q2lBS0dqQm1OREQzTjJwMGVYQ0dTd0V4YW5NdlZHOXJaVzQ",
    "primary key (id, created_at) on table payment_tokens",
    "password = get_password()",
    "password: process.env.DB_PASSWORD",
    "postgresql://user:${DB_PASS}@localhost:5432/app",
    "https://example.com/docs/tokens/rotating-your-api-keys-safely-2024",
    "Download https://cdn.example.com/assets/9fK2aLm3Qx7Rt5Vb8Nc1Zp4W/bundle.js (cache key v3)",
    "The secret to great support is listening: InternationalizationGuidelines2025 has more.",
    "const apiKeyProviderFactory2 = makeKeyProvider(config)",
    "the token count was 1500, well under max_tokens",
    "password_policy: min_length=12 require_symbol=true",
    "Secret Santa draw: Dana gives to Omar, Mei gives to Lukas.",
    "Lost the key fob? Call the front desk.",
    "Token ring networks predate Ethernet switching.",
    "Mot de passe oublié ? Cliquez sur le lien.",
    "Die Passwort-Richtlinie verlangt 12 Zeichen.",
    "密码\uff1a请在设置中修改",
    "pwd: /home/agent/work",
    "password: ********",
    "password: <your-password>",
    "secret: {{ vault.db_secret }}",
    "mailto:{user}@example.com is a template, not an address",
    "Contact support@example and the team@localhost mailbox.",
)


def build_gaps() -> list[Line]:
    gen = Gen(GAP_SEED)
    lines = [fill(gen, t) for t, count in GAP_TEMPLATES for _ in range(count)]
    lines += [(text, []) for text in GAP_NEGATIVES]
    gen.rng.shuffle(lines)
    return lines


def is_card(number: str) -> bool:
    """Passes the Luhn check with a length its prefix allows (among ``CARD_PREFIXES``)."""
    digits = re.sub(r"[^0-9]", "", number)
    return Gen.luhn_complete(digits[:-1]) == digits and any(
        digits.startswith(prefix) and len(digits) == length for prefix, length in CARD_PREFIXES
    )


def fill(gen: Gen, template: str) -> Line:
    text, entities = "", []
    for literal, field, _, _ in string.Formatter().parse(template):
        text += literal
        if field is not None:
            kind, make = FIELDS[field]
            value = make(gen)
            text += value
            if kind == "card?":
                kind = "card" if is_card(value) else ""
            if kind:
                entities.append((kind, value))
    return text, entities


def build() -> list[Line]:
    gen = Gen(SEED)
    lines = [fill(gen, t) for t, count in TEMPLATES for _ in range(count)]
    lines += [(text, []) for text in NEGATIVES]
    gen.rng.shuffle(lines)
    lines += build_gaps()
    for text, entities in lines:
        for _, value in entities:
            if value not in text:
                raise SystemExit(f"label {value!r} is not a substring of {text!r}")
    return lines


def main() -> None:
    lines = build()
    with OUT.open("w", encoding="utf-8") as out:
        for text, entities in lines:
            labels = [{"type": kind, "value": value} for kind, value in entities]
            out.write(json.dumps({"text": text, "entities": labels}, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} lines to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
