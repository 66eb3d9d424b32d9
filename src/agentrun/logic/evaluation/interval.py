"""A pass rate's confidence interval, apart from the paired tests in ``stats``: every worker
scores evaluations with it, and it needs no scipy (whose import costs a worker ~0.8 s at start)."""

import math
from statistics import NormalDist

ALPHA = 0.05


def wilson_interval(passed: int, total: int, alpha: float = ALPHA) -> tuple[float, float]:
    """The 95 % Wilson score interval of a pass rate (sound at 0 % and 100 %, unlike Wald)."""
    if total == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1 - alpha / 2)
    rate = passed / total
    centre = (rate + z * z / (2 * total)) / (1 + z * z / total)
    half = (
        z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    )
    # Exact at the ends (the bound is 0 at 0 passed, 1 at all passed), not off by rounding.
    low = 0.0 if passed == 0 else max(0.0, centre - half)
    high = 1.0 if passed == total else min(1.0, centre + half)
    return low, high
