"""How well and how fast redaction works: ``python -m bench.redaction [--write-docs]``.

Quality is measured on the labelled corpus ``tests/data/redaction_corpus.jsonl``. Per entity
type: a finding is a true positive when a label of the same type has exactly the finding's text
(each label matches at most one finding); any other finding is a false positive, any label left
unmatched a false negative. So a finding with the right span but another type (a JWT sent as a
bearer token reported as ``jwt`` where the label says ``bearer``) or the right type but other
bounds counts once as a false positive and once as a false negative. Because that is stricter
than what a guardrail needs, the table also shows *covered*: the share of labels whose every
character ends up inside some finding, whatever its type, i.e. what did not leak. The overall
figures are micro averages (every label and finding counts once, whatever its type), and the
targets are on them: precision and recall at least 0.99 each.

Speed is ``redact_text`` on a ~4 KB agent report with tool logs and JSON (an email, a phone
number, a card and an access key among ~40 dates, amounts and ids), p50 and p99 over many
calls. The phone-number validation cache is cleared before every call, so each call pays the
full ``phonenumbers`` cost (the "cold" figure the target is judged on); "warm" keeps it.
"""

import argparse
import json
import os
import platform
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agentrun.logic.redaction import EntityType, find_entities, redact_text
from agentrun.logic.redaction.phones import clear_cache
from bench._docs import PERFORMANCE, add_write_docs_flag, write_section
from bench._measure import percentile

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "redaction_corpus.jsonl"
TARGET_P50_US = 100.0
TARGET_PRECISION = 0.99
TARGET_RECALL = 0.99

SAMPLE = """\
Summary of refund request RF-2024-118734 (ticket #88231), prepared 2025-03-14 09:42:17 UTC.

The customer, Dana Whitfield, wrote in on March 12 about order ORD-7730192 placed on 2025-02-27 for
3 items totalling $1,284.50 (USD). She says the parcel (tracking 1Z999AA10123456784, carrier UPS)
arrived damaged: the blender's jug (SKU BLD-4410-XL, batch 2024/11) was cracked and the lid missing.
She attached two photos (IMG_4471.jpg, IMG_4472.jpg, 3.2 MB each) and asked for a full refund to the
original card rather than store credit. Contact her at dana.whitfield@example.com or on
+1 415-555-0132 between 9am and 5pm Pacific; she prefers email.

What I checked, in order:
1. lookup_order(order_id="ORD-7730192") returned status "delivered", paid 1,284.50 with the card
   on file, delivered 2025-03-03 by UPS, weight 4.6 kg, warehouse WH-12, picker 0417.
2. get_customer(customer_id=552019) shows an account since 2019-06-21, 14 orders, 1 previous
   refund (2023-08-09, $42.00, order ORD-5512093), loyalty tier gold, no fraud flags (score 0.07).
3. The payment record holds card 4111 1111 1111 1111 (exp 12/27); the processor reference is
   ch_3Nq9Z2LkdIwHu7ix0w1p2q3r and the authorisation code 831274.
4. check_policy(kind="damaged_on_arrival", days_since_delivery=11) says refunds within 30 days
   need photos and, above $1,000.00, a human approval (policy v2.4.1, effective 2024-10-01).
5. The warehouse log for WH-12 lists shift 2025-03-02 22:00-06:00, 1,932 parcels, 7 damage
   reports, conveyor speed 1.8 m/s, temperature 18.5 C, humidity 41%.

Decision: refund 1,284.50 USD to the original payment method, pending approval because the amount
is above the 1,000.00 threshold. Also issue a 10% voucher (code SPRING-10-2025) for the trouble.
Expected processing time is 3-5 business days; the ledger entry will be JE-2025-0031877.

Tool call log (abridged):
2025-03-14T09:41:02.118Z INFO  tool=lookup_order latency_ms=182 attempt=1
  run=3f2c9a1e-8b7d-4c55-9e21-7a6b0d4f1c33
2025-03-14T09:41:02.514Z INFO  tool=get_customer latency_ms=96 tokens_in=812 tokens_out=164
2025-03-14T09:41:03.007Z WARN  tool=check_policy latency_ms=1204 attempt=2 status=503
2025-03-14T09:41:04.355Z INFO  model=gpt-4o-mini input_tokens=2311 output_tokens=402
2025-03-14T09:41:05.872Z INFO  tool=issue_refund dry_run=true amount=1284.50 currency=USD
2025-03-14T09:41:06.001Z DEBUG POST https://api.payments.example.net/v1/refunds status=200
2025-03-14T09:41:06.002Z DEBUG content-type=application/json x-request-id=7f9e2b41c0d84a6e
2025-03-14T09:41:06.010Z INFO  commit=9fceb02d0ae598e95dc970b74767f19372d61af8 build=2025.03.1
  node=10.0.4.17:7233 cost_usd=0.00059 retry_after=0.5 bytes=1873

Raw tool output:
{"order_id": "ORD-7730192", "status": "delivered", "items": [{"sku": "BLD-4410-XL", "qty": 1,
 "price": 1199.00}, {"sku": "GLS-0020", "qty": 2, "price": 42.75}], "shipping": 0, "tax": 0.0,
 "customer": {"id": 552019, "since": "2019-06-21", "tier": "gold"}, "warehouse": "WH-12",
 "delivered_at": "2025-03-03T14:22:09+01:00", "weight_kg": 4.6, "dims_cm": [42, 30, 28],
 "carrier": {"name": "UPS", "service": "Ground", "tracking": "1Z999AA10123456784"},
 "notes": "Leave at back door. Gate code 4471. Dog is friendly.", "api_version": "2024-06-01",
 "debug": {"region": "eu-west-1", "replica": 3, "lag_ms": 12,
 "trace": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
 "key_id": "AKIAIOSFODNN7EXAMPLE", "shard": 17}}

Next steps: wait for the approver (group finance-approvers, SLA 4 h), then call issue_refund with
idempotency key refund-ORD-7730192-1 and email the confirmation. If the approver rejects, offer the
voucher and a replacement jug (SKU BLD-4410-JUG, 1 in stock at WH-07, ships in 2 days). Remember
that orders over 5 kg ship freight; this one is 4.6 kg so standard ground applies (rate card
RC-2025-Q1).
Escalation contact for the account team is on extension 4471; the on-call rotation is in PagerDuty.
"""
SAMPLE_ENTITIES = 4


@dataclass
class Tally:
    labels: int = 0
    findings: int = 0
    tp: int = 0
    covered: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.findings if self.findings else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.labels if self.labels else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_corpus(path: Path = CORPUS) -> list[tuple[str, list[tuple[EntityType, str]]]]:
    """The corpus lines as (text, [(type, value)]); a malformed line stops with its number."""
    lines = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(raw)
            text = record["text"]
            labels = [(EntityType(e["type"]), e["value"]) for e in record["entities"]]
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise SystemExit(f"{path}:{n}: not a corpus line ({exc!r})") from exc
        missing = [value for _, value in labels if value not in text]
        if missing:
            raise SystemExit(f"{path}:{n}: entities: {missing[0]!r} is not in the text")
        lines.append((text, labels))
    return lines


def _label_spans(text: str, labels: list[tuple[EntityType, str]]) -> list[tuple[int, int]]:
    """Each label's span: labels are listed in order of appearance."""
    spans, pos = [], 0
    for _, value in labels:
        start = text.find(value, pos)
        if start < 0:
            start = text.find(value)
        spans.append((start, start + len(value)))
        pos = start + 1
    return spans


def score(lines: list[tuple[str, list[tuple[EntityType, str]]]]) -> dict[EntityType, Tally]:
    tallies = {t: Tally() for t in EntityType}
    for text, labels in lines:
        findings = find_entities(text)
        unmatched = Counter(labels)
        for f in findings:
            key = (f.type, text[f.start : f.end])
            tallies[f.type].findings += 1
            if unmatched[key] > 0:
                unmatched[key] -= 1
                tallies[f.type].tp += 1
        redacted = [False] * len(text)
        for f in findings:
            redacted[f.start : f.end] = [True] * (f.end - f.start)
        for (kind, _), (start, end) in zip(labels, _label_spans(text, labels), strict=True):
            tallies[kind].labels += 1
            tallies[kind].covered += all(redacted[start:end])
    return tallies


def timing(text: str, iterations: int, cold: bool) -> tuple[float, float]:
    """p50 and p99 of ``redact_text(text)`` in microseconds."""
    samples = []
    for _ in range(iterations):
        if cold:
            clear_cache()
        began = time.perf_counter_ns()
        redact_text(text)
        samples.append((time.perf_counter_ns() - began) / 1000)
    return percentile(samples, 0.5), percentile(samples, 0.99)


def overall(tallies: dict[EntityType, Tally]) -> Tally:
    """The micro average: the types' counts added up."""
    total = Tally()
    for t in tallies.values():
        total.labels += t.labels
        total.findings += t.findings
        total.tp += t.tp
        total.covered += t.covered
    return total


def quality_ok(tallies: dict[EntityType, Tally]) -> bool:
    total = overall(tallies)
    return total.precision >= TARGET_PRECISION and total.recall >= TARGET_RECALL


def quality_table(tallies: dict[EntityType, Tally]) -> list[str]:
    return [
        "| type | labels | findings | precision | recall | F1 | covered |",
        "|---|---|---|---|---|---|---|",
        *(_row(kind.value, t) for kind, t in tallies.items()),
        _row("**all** (micro)", overall(tallies)),
    ]


def _row(name: str, t: Tally) -> str:
    covered = t.covered / t.labels if t.labels else 1.0
    return (
        f"| {name} | {t.labels} | {t.findings} | {t.precision:.3f} | {t.recall:.3f} | "
        f"{t.f1:.3f} | {covered:.3f} |"
    )


def _machine() -> str:
    """Cores and load while timing: on a shared machine the figures scale with the load."""
    cores = os.cpu_count() or 1
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except OSError:  # not available on this platform
        load = ""
    return f"Timed on {cores} cores{load}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redaction", description=__doc__)
    parser.add_argument("--iterations", type=int, default=3000, help="timed calls per figure")
    add_write_docs_flag(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if args.iterations < 10:
        parser.error("--iterations must be at least 10")
    lines = load_corpus()
    tallies = score(lines)
    found = len(redact_text(SAMPLE).findings)
    if found != SAMPLE_ENTITIES:
        raise SystemExit(f"the timing text should hold {SAMPLE_ENTITIES} entities, found {found}")
    for _ in range(200):  # warm up
        redact_text(SAMPLE)
    cold = timing(SAMPLE, args.iterations, cold=True)
    warm = timing(SAMPLE, args.iterations, cold=False)
    verdict = "PASS" if cold[0] <= TARGET_P50_US else "MISS"
    negatives = sum(1 for _, labels in lines if not labels)
    total = overall(tallies)
    header = (
        f"Measured {datetime.now(UTC).date().isoformat()} on CPython {platform.python_version()}: "
        f"{len(lines)} corpus lines ({negatives} with no entity), exact type-and-value matching; "
        "*covered* counts labels fully redacted whatever the type found."
    )
    summary = (
        f"Overall (micro, {total.labels} labels, {total.findings} findings): precision "
        f"{total.precision:.3f} ({total.findings - total.tp} false positives), recall "
        f"{total.recall:.3f} ({total.labels - total.tp} missed). Target precision ≥ "
        f"{TARGET_PRECISION:.2f} and recall ≥ {TARGET_RECALL:.2f}: "
        f"{'PASS' if quality_ok(tallies) else 'MISS'}."
    )
    speed = (
        f"`redact_text` on a {len(SAMPLE):,}-character agent report with logs and JSON "
        f"({SAMPLE_ENTITIES} entities), {args.iterations} calls each: cold p50 {cold[0]:.0f} µs, "
        f"p99 {cold[1]:.0f} µs ({len(SAMPLE) / cold[0]:.0f} chars/µs); warm phone cache p50 "
        f"{warm[0]:.0f} µs, p99 {warm[1]:.0f} µs. Target cold p50 ≤ {TARGET_P50_US:.0f} µs: "
        f"{verdict}. {_machine()}"
    )
    section = "\n".join([header, "", *quality_table(tallies), "", summary, "", speed])
    print(section)
    if args.write_docs:
        write_section("redaction", section, heading="## Redaction", intro=INTRO + "\n")
        print(f"wrote the figures into {PERFORMANCE}")
    return 1 if args.check and (verdict == "MISS" or not quality_ok(tallies)) else 0


INTRO = """`python -m bench.redaction --write-docs` scores the output guardrail's PII and secret
detectors (`agentrun.logic.redaction`) on the labelled corpus in
`tests/data/redaction_corpus.jsonl` (regenerated with `python -m bench.make_redaction_corpus`)
and times `redact_text`, which runs on every final output and on everything written to logs, the
run store, spans and audit events.
"""


if __name__ == "__main__":
    raise SystemExit(main())
