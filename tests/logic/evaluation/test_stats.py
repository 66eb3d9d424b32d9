"""The paired tests against values computed by hand or by textbook formulas."""

import math

import pytest

from agentrun.logic.evaluation.interval import wilson_interval
from agentrun.logic.evaluation.stats import (
    Verdict,
    compare_pass,
    compare_shift,
    detectable_pass_difference,
    mcnemar_exact,
    overall,
)


def test_mcnemar_exact_is_the_binomial_tail_on_discordant_pairs() -> None:
    # 1 vs 9 disagreements: 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024.
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(9, 1) == pytest.approx(22 / 1024)
    assert mcnemar_exact(0, 0) == 1.0
    # Five one-way disagreements can never be significant (2 / 32 = 0.0625); six can.
    assert mcnemar_exact(0, 5) == pytest.approx(0.0625)
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)


def test_a_worse_candidate_is_called_worse() -> None:
    baseline = [True] * 60
    candidate = [True] * 45 + [False] * 15
    result = compare_pass(baseline, candidate)
    assert (result.only_baseline, result.only_candidate) == (15, 0)
    assert result.p_value == pytest.approx(2 / 2**15)
    assert result.verdict is Verdict.WORSE


def test_identical_versions_are_no_significant_difference() -> None:
    outcomes = [True, False] * 30
    result = compare_pass(outcomes, list(outcomes))
    assert (result.p_value, result.verdict) == (1.0, Verdict.SAME)
    # With no disagreement, 6 one-way cases of 60 are the least that would have counted.
    assert result.detectable == pytest.approx(6 / 60)


def test_the_detectable_difference_grows_with_disagreement() -> None:
    assert detectable_pass_difference(60, 0) == pytest.approx(0.1)
    noisy = detectable_pass_difference(60, 30)
    assert noisy > 0.1
    # Check against the test itself: that gap is significant, one case less is not.
    gap = round(noisy * 60)
    assert mcnemar_exact((30 - gap) // 2, 30 - (30 - gap) // 2) < 0.05
    assert mcnemar_exact((30 - gap + 1) // 2, 30 - (30 - gap + 1) // 2) >= 0.05


def test_a_slower_candidate_is_worse_on_latency() -> None:
    baseline = [1.0 + 0.01 * i for i in range(40)]
    candidate = [b * 1.3 for b in baseline]
    result = compare_shift("latency_s", baseline, candidate)
    assert result.verdict is Verdict.WORSE
    assert result.p_value < 1e-6
    assert result.median_difference == pytest.approx(0.3 * (1.0 + 0.01 * 19.5), rel=0.05)
    low, high = result.interval
    assert low <= result.median_difference <= high
    assert low > 0


def test_noise_without_a_shift_is_no_significant_difference() -> None:
    baseline = [1.0, 1.2, 0.9, 1.1, 1.05, 0.95, 1.15, 0.85] * 4
    candidate = [b + (0.05 if i % 2 else -0.05) for i, b in enumerate(baseline)]
    result = compare_shift("cost_usd", baseline, candidate)
    assert result.verdict is Verdict.SAME
    assert result.interval[0] <= 0 <= result.interval[1]
    # (1.96 + 0.84) * SD / sqrt(n), SD of +-0.05 alternating over 32 pairs.
    sd = math.sqrt(32 * 0.05**2 / 31)
    assert result.detectable == pytest.approx(2.801585 * sd / math.sqrt(32), rel=1e-4)


def test_identical_measures_need_no_test() -> None:
    result = compare_shift("latency_s", [1.0, 2.0], [1.0, 2.0])
    assert (result.p_value, result.interval, result.verdict) == (1.0, (0.0, 0.0), Verdict.SAME)


def test_overall_is_worse_when_any_measure_is() -> None:
    same = compare_pass([True] * 10, [True] * 10)
    faster = compare_shift("latency_s", [2.0 + i for i in range(20)], [1.0 + i for i in range(20)])
    dearer = compare_shift("cost_usd", [1.0 + i for i in range(20)], [2.0 + i for i in range(20)])
    assert faster.verdict is Verdict.BETTER
    assert overall(same, [faster]) is Verdict.BETTER
    assert overall(same, [faster, dearer]) is Verdict.WORSE
    assert overall(same, []) is Verdict.SAME


def test_mismatched_pairs_are_refused() -> None:
    with pytest.raises(ValueError, match="same non-empty cases"):
        compare_pass([True], [True, False])
    with pytest.raises(ValueError, match="latency_s: needs the same"):
        compare_shift("latency_s", [], [])


def test_wilson_interval() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(45, 60)
    assert low == pytest.approx(0.6267, abs=1e-3)
    assert high == pytest.approx(0.8424, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_a_significant_shift_within_the_margin_is_no_difference() -> None:
    baseline = [1.0 + 0.01 * i for i in range(40)]
    slower = [b * 1.05 for b in baseline]  # 5 % slower on every pair: p is tiny
    plain = compare_shift("latency_s", baseline, slower)
    assert (plain.verdict, plain.p_value < 1e-6) == (Verdict.WORSE, True)
    tolerant = compare_shift("latency_s", baseline, slower, margin=0.2)
    assert (tolerant.verdict, tolerant.margin) == (Verdict.SAME, 0.2)
    assert compare_shift("latency_s", baseline, [b * 1.3 for b in baseline], 0.2).verdict is (
        Verdict.WORSE
    )
