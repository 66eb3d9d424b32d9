"""The record benchmark's verdict statistics: paired ratios and the interval of their median."""

import pytest
from bench._measure import Batch
from bench.record import median_interval, paired_ratios


def batch(runs_per_s: float) -> Batch:
    return Batch(runs_per_s=runs_per_s, own_cpu_ms=0.0, server_cpu_ms=0.0)


def test_each_round_is_judged_on_its_own_pair() -> None:
    batches = {"on": [batch(9.0), batch(4.0)], "off": [batch(10.0), batch(5.0)]}
    assert paired_ratios(batches) == pytest.approx([0.9, 0.8])


def test_the_interval_holds_the_median_and_narrows_with_less_spread() -> None:
    noisy = [0.82, 0.84, 0.88, 0.91, 0.94, 0.96, 1.06, 1.08, 0.83, 0.90]
    quiet = [0.90 + (r - 0.9) / 10 for r in noisy]
    low, high = median_interval(noisy)
    assert low <= 0.905 <= high
    q_low, q_high = median_interval(quiet)
    assert q_high - q_low < (high - low) / 5
    # Seeded: the same rounds give the same interval.
    assert median_interval(noisy) == (low, high)


def test_identical_rounds_give_a_point() -> None:
    assert median_interval([0.93, 0.93, 0.93]) == (0.93, 0.93)
