"""Figures the report's layers share: percentiles as numpy computes them, rates that say "none"
rather than divide by zero."""

import math
from collections.abc import Sequence

from agentrun.contracts.report import Percentiles

# A tool attempt succeeded when its output passed the contract; every other status is an error.
SUCCESS_STATUSES = frozenset({"success", "partial"})


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between the closest ranks.

    numpy's default method (and ``statistics.quantiles(method="inclusive")``): the data are the
    whole population, so p0 and p100 are the extremes and a single sample is every percentile.
    """
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0-100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentiles(values: Sequence[float]) -> Percentiles:
    if not values:
        return Percentiles()
    return Percentiles(
        samples=len(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
    )


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
