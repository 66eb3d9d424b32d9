"""Run-time guards evaluated by the workflow between steps: loops, approvals, review routing."""

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from agentrun.contracts.agents import ReviewMode, ReviewPolicy
from agentrun.contracts.tools import ToolPolicy

# How a run chosen for the quality sample says why it is reviewed; ``agentrun report`` finds the
# sample by this prefix of the REVIEWING transition's reason, so keep the two together.
QUALITY_SAMPLE = "quality sample"


# A call's key: this many bytes of its fingerprint's SHA-256, as 12 base64 characters. 72 bits:
# two distinct calls of one run share a key with odds below 1e-11 at 100,000 calls.
_KEY_BYTES = 9
KEY_CHARS = 12


def call_fingerprint(tool: str, args: Mapping[str, Any]) -> str:
    return tool + ":" + json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)


def call_key(tool: str, args: Mapping[str, Any]) -> str:
    """A call's identity in a fixed 12 characters, whatever its arguments weigh: counts of a
    run's calls are kept by key, and a run that continues as new carries them."""
    digest = hashlib.sha256(call_fingerprint(tool, args).encode()).digest()[:_KEY_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def pack_counts(counts: Mapping[str, int]) -> dict[int, str]:
    """Counts by key as count -> the keys, concatenated (sorted): nearly every call of a long
    run is made once, so this costs 12 characters a call."""
    grouped: dict[int, list[str]] = {}
    for key, count in counts.items():
        grouped.setdefault(count, []).append(key)
    return {count: "".join(sorted(keys)) for count, keys in sorted(grouped.items())}


def unpack_counts(packed: Mapping[int, str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for count, keys in packed.items():
        for start in range(0, len(keys), KEY_CHARS):
            counts[keys[start : start + KEY_CHARS]] = count
    return counts


class LoopDetector:
    """Counts identical tool calls; the N-th identical call is a loop."""

    def __init__(self, threshold: int, seen: Mapping[int, str] | None = None) -> None:
        """``seen``: the counts a run carried when it continued as new (:func:`pack_counts`)."""
        self._threshold = threshold
        self._seen: Counter[str] = unpack_counts(seen or {})

    def record(self, tool: str, args: Mapping[str, Any]) -> bool:
        """Record a call; True when it reaches the threshold."""
        key = call_key(tool, args)
        self._seen[key] += 1
        return self._seen[key] >= self._threshold

    @property
    def counts(self) -> Counter[str]:
        return self._seen


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
