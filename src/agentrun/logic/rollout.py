"""Rollout decisions (pure): which version a run gets, and what a stage's window says."""

import hashlib

from agentrun.contracts.rollout import (
    Phase,
    Routed,
    ShadowCopy,
    Split,
    Strategy,
    Thresholds,
    Verdict,
    VersionFigures,
)


def bucket(request_id: str) -> float:
    """A stable place in [0, 100) for a request: a retried request keeps its version, and a
    growing share keeps every request it already sent to the candidate there."""
    digest = hashlib.sha256(request_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def route(split: Split, request_id: str) -> Routed:
    """The version of an unpinned run of the split's agent, and why; under a shadow split the
    run stays on stable and, in the copied share, names the candidate its copy runs."""
    where = f"rollout {split.rollout_id} {split.stage} ({split.percent:g} %)"
    chosen = bucket(request_id) < split.percent
    if split.shadow:
        if not chosen:
            return Routed(version=split.stable, reason=f"{where}: stable")
        copy = ShadowCopy(rollout_id=split.rollout_id, version=split.candidate)
        return Routed(version=split.stable, reason=f"{where}: stable, shadowed", shadow=copy)
    if chosen:
        return Routed(version=split.candidate, reason=f"{where}: candidate")
    return Routed(version=split.stable, reason=f"{where}: stable")


def shadow_reason(rollout_id: str, of_run: str) -> str:
    """A shadow copy's version reason: which rollout copied which run."""
    return f"rollout {rollout_id} shadow of {of_run}"


def judge(
    stable: VersionFigures, candidate: VersionFigures, min_runs: int, thresholds: Thresholds
) -> tuple[Verdict, tuple[str, ...]]:
    """Roll back on any breach; below ``min_runs`` of the candidate, wait (a security event
    rolls back whatever the count: one is enough)."""
    reasons: list[str] = []
    if thresholds.security_events and candidate.security_events:
        reasons.append(f"{candidate.security_events} security event(s) on the candidate")
    if candidate.runs >= min_runs:
        if candidate.error_rate > thresholds.max_error_rate:
            reasons.append(
                f"error rate {candidate.error_rate:.1%} > {thresholds.max_error_rate:.0%} "
                f"({candidate.failed}/{candidate.runs} failed; stable {stable.error_rate:.1%})"
            )
        reasons += _relative(
            "p95 latency",
            stable.p95_latency_s,
            candidate.p95_latency_s,
            thresholds.max_p95_increase,
            "s",
        )
        reasons += _relative(
            "cost per run",
            stable.cost_per_run_usd,
            candidate.cost_per_run_usd,
            thresholds.max_cost_increase,
            "$",
        )
    if reasons:
        return Verdict.ROLLBACK, tuple(reasons)
    if candidate.runs < min_runs:
        return Verdict.INCONCLUSIVE, (
            f"{candidate.runs} candidate runs finished in the window; {min_runs} needed",
        )
    return Verdict.ADVANCE, ()


def _relative(
    name: str, stable: float | None, candidate: float | None, limit: float, unit: str
) -> list[str]:
    if stable is None or candidate is None or stable <= 0:
        return []
    increase = candidate / stable - 1
    if increase <= limit:
        return []
    shown = (
        f"{candidate:.3f} s vs {stable:.3f} s"
        if unit == "s"
        else f"${candidate:.4f} vs ${stable:.4f}"
    )
    return [f"{name} +{increase:.0%} > +{limit:.0%} ({shown})"]


_SHADOWING = (Phase.RUNNING, Phase.PAUSED, Phase.AWAITING_PROMOTION)


def share(strategy: Strategy, phase: Phase, percent: float, candidate: str) -> str:
    """The candidate's share as people read it (status, the UI's details): while a shadow
    rollout runs, its share is of runs copied, not sent."""
    if strategy is Strategy.SHADOW and phase in _SHADOWING:
        return f"{percent:g} % of runs copied to {candidate}"
    return f"{candidate} at {percent:g} %"
