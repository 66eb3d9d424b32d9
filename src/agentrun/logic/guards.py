"""Run-time guards evaluated by the workflow between steps: loops, approvals, review routing."""

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from agentrun.contracts.agents import ReviewMode, ReviewPolicy
from agentrun.contracts.tools import ToolPolicy

# How a run chosen for the quality sample says why it is reviewed; ``agentrun report`` finds the
# sample by this prefix of the REVIEWING transition's reason, so keep the two together.
QUALITY_SAMPLE = "quality sample"


def call_fingerprint(tool: str, args: Mapping[str, Any]) -> str:
    return tool + ":" + json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)


class LoopDetector:
    """Counts identical tool calls; the N-th identical call is a loop."""

    def __init__(self, threshold: int) -> None:
        self._threshold = threshold
        self._seen: Counter[str] = Counter()

    def record(self, tool: str, args: Mapping[str, Any]) -> bool:
        """Record a call; True when it reaches the threshold."""
        key = call_fingerprint(tool, args)
        self._seen[key] += 1
        return self._seen[key] >= self._threshold


def approval_reason(contract: ToolPolicy, args: Mapping[str, Any]) -> str | None:
    """Why this call needs a human's approval first, or None."""
    if contract.requires_approval:
        return f"{contract.name} always requires approval"
    for param, limit in sorted(contract.approval_above.items()):
        value = args.get(param)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > limit:
            return f"{contract.name}.{param}={value} is above {limit:g}"
    return None


def review_reason(policy: ReviewPolicy, confidence: float, sample_draw: float) -> str | None:
    """Why the run's result must be reviewed, or None; ``sample_draw`` is uniform in [0, 1)."""
    if policy.mode is ReviewMode.ALWAYS:
        return "agent policy: every run is reviewed"
    if policy.mode is ReviewMode.LOW_CONFIDENCE and confidence < policy.confidence_threshold:
        return f"confidence {confidence:.2f} below {policy.confidence_threshold:.2f}"
    if sample_draw < policy.sample_rate:
        return f"{QUALITY_SAMPLE} ({policy.sample_rate:.0%} of runs)"
    return None


def reviewer_refusal(reviewer: str, allowed: tuple[str, ...]) -> str | None:
    """Why ``reviewer`` may not decide, or None. An empty group authorises nobody (fail closed)."""
    if reviewer in allowed:
        return None
    if not allowed:
        return "no reviewers are configured for this review"
    return f"reviewer {reviewer!r} is not authorised; allowed: {', '.join(allowed)}"
