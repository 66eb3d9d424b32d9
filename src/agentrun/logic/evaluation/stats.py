"""Paired comparison of two agent versions on the same cases, with tests a reviewer can check.

- Pass/fail: the exact McNemar test (a two-sided binomial test on the discordant pairs), because
  the same cases ran on both versions and only the cases they disagree on carry information.
- Latency and cost: the Wilcoxon signed-rank test on the paired differences, with a bootstrap
  95 % interval of their median (seeded, so a report reads the same twice).
- Each says the smallest effect the sample could have detected, so "no significant difference"
  on 8 cases is not read as "the same".
- Latency and cost also need a difference that matters: a shift counts only when it is
  significant *and* beyond a margin of the baseline's median (20 % for latency, 30 % for cost,
  the thresholds a rollout rolls back at). Two evaluations run minutes apart differ by a few
  per cent in latency on a shared machine, and with enough cases that is "significant".
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import stats

from agentrun.logic.evaluation.interval import ALPHA

LATENCY_MARGIN = 0.20
COST_MARGIN = 0.30
BOOTSTRAP_SEED = 20_261_206
BOOTSTRAP_RESAMPLES = 2_000
# z(1 - alpha/2) + z(power): a shift of (this x SD / sqrt(n)) is found 80 % of the time.
_DETECTABLE_Z = 1.959964 + 0.841621


class Verdict(StrEnum):
    BETTER = "better"
    WORSE = "worse"
    SAME = "no significant difference"


@dataclass(frozen=True, slots=True)
class PassRateComparison:
    cases: int
    baseline_passed: int
    candidate_passed: int
    only_baseline: int  # passed on the baseline, failed on the candidate
    only_candidate: int
    p_value: float
    detectable: float  # the smallest pass-rate difference that would have been significant
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class ShiftComparison:
    """A paired measure where lower is better (latency, cost)."""

    measure: str
    pairs: int
    baseline_median: float
    candidate_median: float
    median_difference: float  # candidate - baseline
    interval: tuple[float, float]  # bootstrap 95 % interval of the median difference
    p_value: float
    detectable: float  # the smallest shift in this measure's unit the sample would find
    margin: float  # the share of the baseline median a shift must exceed to count
    verdict: Verdict


def mcnemar_exact(only_baseline: int, only_candidate: int) -> float:
    """Two-sided exact p-value; 1.0 when the versions never disagree."""
    discordant = only_baseline + only_candidate
    if discordant == 0:
        return 1.0
    return float(stats.binomtest(min(only_baseline, only_candidate), discordant, 0.5).pvalue)


def detectable_pass_difference(cases: int, discordant: int, alpha: float = ALPHA) -> float:
    """The smallest pass-rate difference (a share of ``cases``) that would have tested
    significant, with at least the disagreement observed: below about 6 one-way disagreements
    nothing can be."""
    for gap in range(1, cases + 1):
        total = max(discordant, gap)
        if mcnemar_exact((total - gap) // 2, total - (total - gap) // 2) < alpha:
            return gap / cases
    return 1.0


def compare_pass(baseline: Sequence[bool], candidate: Sequence[bool]) -> PassRateComparison:
    if len(baseline) != len(candidate) or not baseline:
        raise ValueError("pass/fail needs the same non-empty cases on both versions")
    only_baseline = sum(1 for b, c in zip(baseline, candidate, strict=True) if b and not c)
    only_candidate = sum(1 for b, c in zip(baseline, candidate, strict=True) if c and not b)
    p = mcnemar_exact(only_baseline, only_candidate)
    if p >= ALPHA:
        verdict = Verdict.SAME
    else:
        verdict = Verdict.BETTER if only_candidate > only_baseline else Verdict.WORSE
    return PassRateComparison(
        cases=len(baseline),
        baseline_passed=sum(baseline),
        candidate_passed=sum(candidate),
        only_baseline=only_baseline,
        only_candidate=only_candidate,
        p_value=p,
        detectable=detectable_pass_difference(len(baseline), only_baseline + only_candidate),
        verdict=verdict,
    )


def compare_shift(
    measure: str, baseline: Sequence[float], candidate: Sequence[float], margin: float = 0.0
) -> ShiftComparison:
    """Candidate against baseline on a lower-is-better measure, pair by pair; a shift within
    ``margin`` x the baseline's median is no difference, however significant."""
    if len(baseline) != len(candidate) or not baseline:
        raise ValueError(f"{measure}: needs the same non-empty cases on both versions")
    base = np.asarray(baseline, dtype=float)
    cand = np.asarray(candidate, dtype=float)
    diffs = cand - base
    if not np.any(diffs):
        p, interval = 1.0, (0.0, 0.0)
    else:
        p = float(stats.wilcoxon(diffs, zero_method="wilcox", alternative="two-sided").pvalue)
        interval = _median_interval(diffs)
    spread = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else 0.0
    median_diff = float(np.median(diffs))
    base_median = float(np.median(base))
    if p >= ALPHA or median_diff == 0 or abs(median_diff) <= margin * abs(base_median):
        verdict = Verdict.SAME
    else:
        verdict = Verdict.WORSE if median_diff > 0 else Verdict.BETTER
    return ShiftComparison(
        measure=measure,
        pairs=len(diffs),
        baseline_median=base_median,
        candidate_median=float(np.median(cand)),
        median_difference=median_diff,
        interval=interval,
        p_value=p,
        detectable=_DETECTABLE_Z * spread / math.sqrt(len(diffs)),
        margin=margin,
        verdict=verdict,
    )


def _median_interval(diffs: np.ndarray) -> tuple[float, float]:
    if len(diffs) < 2:
        value = float(diffs[0])
        return value, value
    result = stats.bootstrap(
        (diffs,),
        np.median,
        confidence_level=1 - ALPHA,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    low, high = result.confidence_interval
    return float(low), float(high)


def overall(passes: PassRateComparison, shifts: Sequence[ShiftComparison]) -> Verdict:
    """Worse if any measure is significantly worse; better if one is better and none worse."""
    verdicts = [passes.verdict, *(s.verdict for s in shifts)]
    if Verdict.WORSE in verdicts:
        return Verdict.WORSE
    return Verdict.BETTER if Verdict.BETTER in verdicts else Verdict.SAME
