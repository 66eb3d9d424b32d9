"""How well and how fast the prompt-injection screen works: ``python -m bench.injection``.

Quality is measured on the labelled corpus ``tests/data/injection_corpus.jsonl``: every line
goes through ``screen_injection(screened_text(text))``, as the guardrail runs it (split-field
attacks are JSON strings). Detection is attacks flagged / attacks, the false-positive rate
benign lines flagged / benign lines, each with a Wilson 95 % interval, overall and per family,
language and set. The sets say how much to trust a figure: ``tuning`` lines were written with
the patterns (the rate there is optimistic by construction), ``holdout`` lines were written
after them and looked at once (the first figure is kept in the docs), ``fresh`` lines were
written last and never tuned on: the honest rate for attacks nobody wrote a pattern for.

Speed is ``screen_injection(screened_text(x))`` on a ~4 KB JSON tool output with no attack (an
order with a message thread), p50 and p99 over many calls, next to baselines timed in the same
run on the same text: the first screen (``injection_v1``), ``json.loads`` and one bare
``re.search``.
"""

import argparse
import json
import platform
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agentrun.logic import injection_v1
from agentrun.logic.evaluation.interval import wilson_interval
from agentrun.logic.injection import screen_injection, screened_text
from bench._docs import PERFORMANCE, add_write_docs_flag, write_section
from bench._measure import percentile

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "injection_corpus.jsonl"
TARGET_DETECTION = 0.90
TARGET_FALSE_POSITIVES = 0.05
TARGET_P50_US = 1000.0
LISTED = 20

_MESSAGE = (
    "Hi, the blender arrived with a cracked jug and the lid was missing. I have attached two "
    "photos. Please ignore my previous email about the delivery time, that was sorted. I would "
    "like a full refund to the original card rather than store credit, if possible. You can "
    "reach me by email, I prefer that to phone calls during the day. Thanks, Dana"
)
SAMPLE: dict[str, object] = {
    "order_id": "ORD-7730192",
    "status": "delivered",
    "placed_at": "2025-02-27T10:14:03Z",
    "customer": {
        "id": 552019, "name": "Dana Whitfield", "email": "dana.whitfield@example.com",
        "phone": "+1 415-555-0132", "since": "2019-06-21", "tier": "gold", "role": "customer",
        "preferences": {"contact": "email", "language": "en-GB", "newsletter": True},
    },
    "items": [
        {"sku": "BLD-4410-XL", "name": "Blender 1.5 L, stainless", "qty": 1, "price": 1199.00,
         "image": "https://cdn.shop.example/img/BLD-4410-XL.jpg?w=400&h=400"},
        {"sku": "GLS-0020", "name": "Glass tumbler set (6)", "qty": 2, "price": 42.75,
         "image": "https://cdn.shop.example/img/GLS-0020.jpg?w=400&h=400"},
    ],
    "shipping": {
        "carrier": "UPS", "service": "Ground", "tracking": "1Z999AA10123456784",
        "tracking_url": "https://track.carrier.example/status?id=1Z999AA10123456784&lang=en",
        "address": {"line1": "14 Elm Street", "city": "Leeds", "postcode": "LS2 7QT"},
        "instructions": "Leave at back door. Gate code 4471. Dog is friendly.",
        "events": [
            {"at": "2025-02-28T08:02:11Z", "where": "Leeds depot", "what": "Arrived at facility"},
            {"at": "2025-03-01T06:45:40Z", "where": "Leeds depot", "what": "Out for delivery"},
            {"at": "2025-03-03T14:22:09Z", "where": "Leeds", "what": "Delivered at back door"},
        ],
    },
    "payment": {"method": "card", "brand": "visa", "last4": "1111", "captured": 1284.50,
                "processor_ref": "ch_3Nq9Z2LkdIwHu7ix0w1p2q3r", "currency": "USD"},
    "messages": [
        {"from": "customer", "at": "2025-03-12T09:01:00Z", "subject": "Damaged blender",
         "body": _MESSAGE},
        {"from": "agent", "at": "2025-03-12T11:30:00Z", "subject": "Re: Damaged blender",
         "body": "Hi Dana, sorry to hear that. I have opened a damage claim with the carrier and "
                 "asked the warehouse to check stock for a replacement jug. Could you confirm "
                 "whether you would accept a replacement instead of a refund? The new "
                 "instructions from the warehouse say replacements ship within 2 days."},
        {"from": "customer", "at": "2025-03-13T08:15:00Z", "subject": "Re: Damaged blender",
         "body": "A refund please, the blender was a gift and the date has passed. I can send "
                 "the broken jug back if you email me a return label. Photos: IMG_4471.jpg, "
                 "IMG_4472.jpg (3.2 MB each). System message from the courier said the parcel "
                 "was handled with care, which it clearly was not."},
    ],
    "survey": {
        "score": 2,
        "comment": "The courier was friendly but the box was crushed on one side and nobody "
        "answered the phone when I called the depot twice on Tuesday. The instructions on the "
        "returns page say to keep the original packaging, which I did, but it is torn now. "
        "Please send the label to my email address, not by post, and let me know whether I "
        "need to print it or whether the QR code on my phone is enough at the drop-off point. "
        "I have ordered from you for six years and this is the first time anything went wrong.",
    },
    "internal_notes": [
        "don't tell the customer yet, waiting on the warehouse to confirm stock",
        "Carrier claim CL-2291 opened 2025-03-12, reference UPS-DMG-88231.",
        "Refund above 1,000.00 needs approval from finance-approvers (policy v2.4.1).",
        "Call the store in Leeds to check whether a replacement jug can be collected.",
    ],
    "policy": {"kind": "damaged_on_arrival", "days_since_delivery": 11, "photos_required": True,
               "approval_threshold": 1000.00, "version": "2.4.1"},
    "audit": {"request_id": "7f9e2b41c0d84a6e", "node": "10.0.4.17:7233", "latency_ms": 182,
              "trace": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
              "region": "eu-west-1", "api_version": "2024-06-01"},
}  # fmt: skip
SAMPLE_TEXT = json.dumps(SAMPLE)


@dataclass
class Rate:
    flagged: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.flagged / self.total if self.total else 0.0

    def interval(self) -> tuple[float, float]:
        """Wilson score interval: sound at 0 and 1 and on small groups, unlike p ± 1.96 se."""
        return wilson_interval(self.flagged, self.total)


@dataclass
class Scores:
    attacks: dict[str, Rate] = field(default_factory=lambda: defaultdict(Rate))
    benign: dict[str, Rate] = field(default_factory=lambda: defaultdict(Rate))
    misses: list[dict[str, str]] = field(default_factory=list)
    false_positives: list[tuple[dict[str, str], str]] = field(default_factory=list)


def load_corpus(path: Path = CORPUS) -> list[dict[str, str]]:
    """The corpus lines; a malformed line stops with its number."""
    lines = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            line = json.loads(raw)
            valid = line["label"] in ("attack", "benign") and line["text"]
            line["family"], line["lang"] = str(line["family"]), str(line["lang"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}:{n}: not a corpus line ({exc!r})") from exc
        if not valid:
            raise SystemExit(f"{path}:{n}: not a corpus line (label or text)")
        lines.append(line)
    return lines


def score(lines: list[dict[str, str]]) -> Scores:
    """Rates keyed by "all", "family:X", "lang:X", "set:X" and "technique:X"."""
    scores = Scores()
    for line in lines:
        hit = screen_injection(screened_text(line["text"]))
        attack = line["label"] == "attack"
        keys = ["all", f"family:{line['family']}", f"lang:{line['lang']}"]
        keys.append(f"set:{line.get('set', 'tuning')}")
        if line.get("technique") and line["family"] in ("encoded", "obfuscated"):
            keys.append(f"technique:{line['technique']}")
        for key in keys:
            rate = (scores.attacks if attack else scores.benign)[key]
            rate.total += 1
            rate.flagged += hit is not None
        if attack and hit is None:
            scores.misses.append(line)
        elif not attack and hit is not None:
            scores.false_positives.append((line, f"{hit.kind}: {hit.phrase!r}"))
    return scores


def timing(screen: Callable[[], object], iterations: int) -> tuple[float, float]:
    """p50 and p99 of one call in microseconds."""
    for _ in range(min(200, iterations)):
        screen()
    samples = []
    for _ in range(iterations):
        began = time.perf_counter_ns()
        screen()
        samples.append((time.perf_counter_ns() - began) / 1000)
    return percentile(samples, 0.5), percentile(samples, 0.99)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}"


def _cell(rate: Rate) -> str:
    if not rate.total:
        return "-"
    low, high = rate.interval()
    return f"{rate.flagged}/{rate.total} = {_pct(rate.rate)} % [{_pct(low)}, {_pct(high)}]"


def rate_table(scores: Scores, prefix: str, title: str) -> list[str]:
    keys = sorted({k for k in (*scores.attacks, *scores.benign) if k.startswith(prefix)})
    rows = [
        f"| {key.removeprefix(prefix)} | {_cell(scores.attacks.get(key, Rate()))} | "
        f"{_cell(scores.benign.get(key, Rate()))} |"
        for key in keys
    ]
    return [f"| {title} | detected (95 % CI) | false positives (95 % CI) |", "|---|---|---|", *rows]


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return "`" + flat.replace("`", "'").replace("|", "\\|") + "`"


def listing(scores: Scores) -> list[str]:
    misses = [
        f"- {line['family']}/{line.get('technique') or line['lang']} "
        f"({line.get('set', 'tuning')}): {_short(line['text'])}"
        for line in scores.misses[:LISTED]
    ]
    wrong = [
        f"- {line['family']}/{line['lang']} ({line.get('set', 'tuning')}): {_short(line['text'])}"
        f" → {_short(found, 60)}"
        for line, found in scores.false_positives[:LISTED]
    ]
    more = len(scores.misses) - LISTED
    return [
        f"Missed attacks ({len(scores.misses)}" + (f", first {LISTED}" if more > 0 else "") + "):",
        "",
        *(misses or ["- none"]),
        "",
        f"False positives ({len(scores.false_positives)}):",
        "",
        *(wrong or ["- none"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.injection", description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000, help="timed calls per figure")
    add_write_docs_flag(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if args.iterations < 10:
        parser.error("--iterations must be at least 10")
    lines = load_corpus()
    scores = score(lines)
    screened = screened_text(SAMPLE_TEXT)
    if screen_injection(screened) is not None:
        raise SystemExit("the timing text must hold no attack")
    bare = re.compile(r"ignore\s+(?:all\s+)?previous\s+instructions")
    new = timing(lambda: screen_injection(screened_text(SAMPLE_TEXT)), args.iterations)
    old = timing(lambda: injection_v1.screen_injection(screened_text(SAMPLE_TEXT)), args.iterations)
    loads = timing(lambda: json.loads(SAMPLE_TEXT), args.iterations)
    search = timing(lambda: bare.search(screened.lower()), args.iterations)
    detection, false_pos = scores.attacks["all"], scores.benign["all"]
    quality_ok = detection.rate >= TARGET_DETECTION and false_pos.rate <= TARGET_FALSE_POSITIVES
    speed_ok = new[0] <= TARGET_P50_US
    old_hit = injection_v1.screen_injection(screened) is not None
    header = (
        f"Measured {datetime.now(UTC).date().isoformat()} on CPython {platform.python_version()}: "
        f"{detection.total} attacks and {false_pos.total} benign look-alikes, each screened as "
        "`screen_injection(screened_text(text))`. Overall detection "
        f"{_cell(detection)}, false positives {_cell(false_pos)}; target detection ≥ "
        f"{TARGET_DETECTION:.2f} at false positives ≤ {TARGET_FALSE_POSITIVES:.2f}: "
        f"{'PASS' if quality_ok else 'MISS'} (on the whole corpus; read the sets below first)."
    )
    speed = [
        (
            f"Speed on a {len(SAMPLE_TEXT):,}-character JSON tool output with no attack "
            f"({args.iterations} calls each, same run):"
        ),
        "",
        "| what | p50 µs | p99 µs |",
        "|---|---|---|",
        f"| `screen_injection(screened_text(x))` | {new[0]:.0f} | {new[1]:.0f} |",
        (
            f"| first screen (`injection_v1`), same text{' (flags it)' if old_hit else ''} | "
            f"{old[0]:.0f} | {old[1]:.0f} |"
        ),
        f"| `json.loads(x)` | {loads[0]:.0f} | {loads[1]:.0f} |",
        f"| one bare `re.search` | {search[0]:.0f} | {search[1]:.0f} |",
        "",
        (
            f"Target p50 ≤ {TARGET_P50_US:.0f} µs: {'PASS' if speed_ok else 'MISS'} "
            f"({new[0] / old[0]:.1f} times the first screen in this run)."
        ),
    ]
    section = "\n".join(
        [
            header,
            "",
            *rate_table(scores, "set:", "set"),
            "",
            *rate_table(scores, "family:", "family"),
            "",
            *rate_table(scores, "technique:", "technique (encoded, obfuscated)"),
            "",
            *rate_table(scores, "lang:", "language"),
            "",
            *listing(scores),
            "",
            *speed,
        ]
    )
    print(section)
    if args.write_docs:
        write_section("injection", section, heading="## Injection screen", intro=INTRO + "\n")
        print(f"wrote the figures into {PERFORMANCE}")
    return 1 if args.check and not (quality_ok and speed_ok) else 0


INTRO = """`python -m bench.injection --write-docs` scores the prompt-injection screen
(`agentrun.logic.injection`) on the labelled corpus in `tests/data/injection_corpus.jsonl`
(regenerated with `python -m bench.make_injection_corpus`) and times it on a tool output. The
screen is a tripwire with a measured rate, not the defence: the lethal-trifecta rule holds
whatever it says. The `fresh` set is the figure to quote for attacks nobody wrote a pattern
for; the first measurement of the `holdout` set, before any change made with those lines in
view, was 22/63 detected (35 %) with 3/38 false positives.
"""


if __name__ == "__main__":
    raise SystemExit(main())
