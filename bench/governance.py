"""What governance costs per decision: ``python -m bench.governance [--write-docs] [--check]``.

Each row times one call through the same harness: a do-nothing baseline (an empty function, so
the harness's own cost is on the table), the policy decision with 1 rule and with 100 rules at
before_tool, and the full stack (decision, redaction of a ~4 KB support email thread, audit hash
of the decision's event). Anchors are the Microsoft Agent Governance Toolkit's published p99s;
the targets are 2x faster. Rows without an anchor break the figures down: a deny (evaluation
stops there), rules spread over a tool catalogue (the per-tool index skips most), redaction and
the hash alone, and the full stack on a text dense with PII.

Timing: ``time.perf_counter_ns`` around each call, after a warm-up; the rows are interleaved in
rounds so a noisy neighbour on the shared cores hits every row alike, and each figure is the
median over rounds. The garbage collector is collected before and disabled during each timed
round (``--keep-gc`` leaves it on), so a p99 measures the code, not a collection another
allocation happened to trigger.
"""

import argparse
import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from agentrun.contracts.policy import Verdict
from agentrun.logic.policy import PolicyEngine, RunFacts
from agentrun.logic.redaction import redact_text
from agentrun.store.audit import event_hash
from bench import _governance_load as load
from bench._docs import PERFORMANCE, add_write_docs_flag, write_section
from bench._measure import percentile

X = "\N{MULTIPLICATION SIGN}"
SPEEDUP = 2.0  # the target: twice as fast as the anchor's p99


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable[[], object]
    anchor_p99_ms: float | None = None  # Microsoft Agent Governance Toolkit, published


@dataclass(frozen=True)
class Figures:
    case: Case
    p50_ms: float
    p99_ms: float
    p99_low_ms: float
    p99_high_ms: float

    @property
    def target_ms(self) -> float | None:
        anchor = self.case.anchor_p99_ms
        return None if anchor is None else anchor / SPEEDUP

    @property
    def verdict(self) -> str:
        target = self.target_ms
        if target is None:
            return ""
        return "PASS" if self.p99_ms <= target else "MISS"


def _nothing() -> None:
    return None


def build_cases() -> list[Case]:
    one = PolicyEngine.compile([load.one_rule()])
    hundred = PolicyEngine.compile([load.hundred_rules()])
    catalogue = PolicyEngine.compile([load.hundred_rules_catalogue()])
    allowed, denied = load.call(), load.call(amount=900.0)
    text, dense = load.support_text(), load.dense_text()
    if hundred.decide(allowed).verdict is not Verdict.ALLOW:
        raise SystemExit(f"bench setup: the call should pass: {hundred.decide(allowed)}")
    if hundred.decide(denied).verdict is not Verdict.DENY:
        raise SystemExit("bench setup: the 900 refund should be denied")
    if not redact_text(text).findings:
        raise SystemExit("bench setup: the support text should have something to redact")
    seq = iter(range(1, 1 << 62))
    decision = hundred.decide(allowed)

    def stack(body: str) -> Callable[[], object]:
        def full_stack() -> str:
            made = hundred.decide(allowed)
            redact_text(body)
            return event_hash(load.audit_event(made, next(seq)))

        return full_stack

    def decide(engine: PolicyEngine, facts: RunFacts) -> Callable[[], object]:
        return lambda: engine.decide(facts)

    found = len(redact_text(text).findings)
    return [
        Case("do-nothing baseline (empty function, same harness)", _nothing),
        Case("decide, 1 rule (before_tool)", decide(one, allowed), 0.037),
        Case("decide, 100 rules, all evaluated (before_tool)", decide(hundred, allowed), 0.108),
        Case(
            f"full stack: decide (100 rules) + redact 4 KB ({found} PII) + audit hash",
            stack(text),
            0.416,
        ),
        Case("decide, 100 rules, a deny fires (before_tool)", decide(hundred, denied)),
        Case("decide, 100 rules over 8 tools (before_tool)", decide(catalogue, allowed)),
        Case(f"redact 4 KB alone ({found} PII)", lambda: redact_text(text)),
        Case("audit hash alone", lambda: event_hash(load.audit_event(decision, 1))),
        Case(f"full stack, PII-dense 4 KB ({len(redact_text(dense).findings)} PII)", stack(dense)),
    ]


def time_round(fn: Callable[[], object], iterations: int, keep_gc: bool) -> list[int]:
    clock = time.perf_counter_ns
    samples = [0] * iterations
    gc.collect()
    was_enabled = gc.isenabled()
    if not keep_gc:
        gc.disable()
    try:
        for i in range(iterations):
            started = clock()
            fn()
            samples[i] = clock() - started
    finally:
        if was_enabled:
            gc.enable()
    return samples


def measure(cases: list[Case], args: argparse.Namespace) -> list[Figures]:
    for case in cases:
        for _ in range(args.warmup):
            case.fn()
    per_round: dict[str, list[tuple[float, float]]] = {case.name: [] for case in cases}
    for r in range(args.rounds):
        order = cases if r % 2 == 0 else cases[::-1]
        for case in order:
            samples = time_round(case.fn, args.iterations, args.keep_gc)
            per_round[case.name].append(
                (percentile(samples, 0.5) / 1e6, percentile(samples, 0.99) / 1e6)
            )
    figures = []
    for case in cases:
        rounds = per_round[case.name]
        p99s = [p99 for _, p99 in rounds]
        figures.append(
            Figures(
                case=case,
                p50_ms=percentile([p50 for p50, _ in rounds], 0.5),
                p99_ms=percentile(p99s, 0.5),
                p99_low_ms=min(p99s),
                p99_high_ms=max(p99s),
            )
        )
    return figures


def _ms(value: float) -> str:
    return f"{value:.4f}"


def markdown(figures: list[Figures], notes: str) -> str:
    baseline = figures[0]
    lines = [
        (
            "| row | p50 (ms) | p99 (ms) | p99 range over rounds | anchor p99 (ms) | ours/anchor "
            "| target p99 (ms) | result |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        anchor = f.case.anchor_p99_ms
        lines.append(
            f"| {f.case.name} | {_ms(f.p50_ms)} | {_ms(f.p99_ms)} | "
            f"{_ms(f.p99_low_ms)} to {_ms(f.p99_high_ms)} | "
            f"{_ms(anchor) if anchor else '—'} | "
            f"{f'{f.p99_ms / anchor:.2f}{X}' if anchor else '—'} | "
            f"{'≤ ' + _ms(f.target_ms) if f.target_ms else '—'} | {f.verdict or '—'} |"
        )
    return "\n".join(
        [
            notes,
            "",
            *lines,
            "",
            (
                f"The do-nothing baseline (p50 {_ms(baseline.p50_ms)} ms, p99 "
                f"{_ms(baseline.p99_ms)} ms) is the harness itself, measured in the same run; it "
                "is not subtracted from the other rows. Anchor: Microsoft Agent Governance "
                "Toolkit, published p99 (not measured here); target: twice as fast as the "
                "anchor's p99."
            ),
            "",
            "Reproduce with `python -m bench.governance --write-docs`.",
        ]
    )


INTRO = (
    "`python -m bench.governance --write-docs` times the policy engine's\n"
    "decision (1 and 100 rules at before_tool) and the full guardrail stack\n"
    "(decision, redaction of a ~4 KB text, audit hash) in-process, against the\n"
    "Microsoft Agent Governance Toolkit's published figures.\n\n"
)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.governance", description=__doc__)
    parser.add_argument("--iterations", type=int, default=20_000, help="timed calls per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per row (interleaved)")
    parser.add_argument("--warmup", type=int, default=2_000, help="untimed calls per row first")
    parser.add_argument("--keep-gc", action="store_true", help="leave the GC on while timing")
    add_write_docs_flag(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    figures = measure(build_cases(), args)
    gc_note = "GC on" if args.keep_gc else "GC collected before and off during each round"
    notes = (
        f"Measured {datetime.now(UTC).date().isoformat()} on {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}: "
        f"{args.rounds} interleaved rounds of {args.iterations:,} timed calls per row after "
        f"{args.warmup:,} warm-up calls; figures are the median round's; {gc_note}; "
        f"benchmark took {time.perf_counter() - started:.0f} s."
    )
    section = markdown(figures, notes)
    print(section)
    if args.write_docs:
        write_section("governance", section, heading="## Governance", intro=INTRO)
        print(f"\nwrote the figures into {PERFORMANCE}")
    missed = [f.case.name for f in figures if f.verdict == "MISS"]
    if missed:
        print("MISSED: " + "; ".join(missed))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
