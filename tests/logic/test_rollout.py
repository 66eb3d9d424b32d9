"""Routing and stage analysis of rollouts (pure)."""

from agentrun.contracts.rollout import (
    Routed,
    ShadowCopy,
    Split,
    Thresholds,
    Verdict,
    VersionFigures,
)
from agentrun.logic.rollout import bucket, judge, route


def split(percent: float) -> Split:
    return Split(
        agent="a", rollout_id="rollout-a", stable="1", candidate="2", percent=percent, stage="s"
    )


def test_a_request_keeps_its_bucket_and_buckets_spread_evenly() -> None:
    assert bucket("req-42") == bucket("req-42")
    places = [bucket(f"req-{i}") for i in range(10_000)]
    assert all(0 <= p < 100 for p in places)
    share = sum(p < 25 for p in places) / len(places)
    assert 0.23 < share < 0.27


def test_a_growing_share_keeps_the_requests_it_already_sent() -> None:
    ids = [f"req-{i}" for i in range(2_000)]
    early = {r for r in ids if route(split(10), r).version == "2"}
    later = {r for r in ids if route(split(50), r).version == "2"}
    assert early < later
    assert route(split(0), "x") == Routed(version="1", reason="rollout rollout-a s (0 %): stable")
    assert route(split(100), "x") == Routed(
        version="2", reason="rollout rollout-a s (100 %): candidate"
    )


def test_a_shadow_split_keeps_every_run_on_stable_and_copies_its_share() -> None:
    shadow = split(30).model_copy(update={"shadow": True})
    ids = [f"req-{i}" for i in range(2_000)]
    routed = [route(shadow, r) for r in ids]
    assert {r.version for r in routed} == {"1"}
    copied = [r for r in routed if r.shadow is not None]
    assert 0.26 < len(copied) / len(ids) < 0.34
    assert {r.shadow for r in copied} == {ShadowCopy(rollout_id="rollout-a", version="2")}
    assert {r.reason for r in copied} == {"rollout rollout-a s (30 %): stable, shadowed"}
    # the copied requests are the ones a 30 % canary would have sent to the candidate
    assert {r for r, got in zip(ids, routed, strict=True) if got.shadow} == {
        r for r in ids if route(split(30), r).version == "2"
    }


def figures(version: str, runs: int, failed: int = 0, **more: float) -> VersionFigures:
    return VersionFigures(version=version, runs=runs, failed=failed, **more)


def test_breaches_roll_back_naming_each() -> None:
    stable = figures("1", 50, 1, p95_latency_s=1.0, cost_per_run_usd=0.010)
    bad = figures("2", 40, 12, p95_latency_s=1.5, cost_per_run_usd=0.014)
    verdict, reasons = judge(stable, bad, 20, Thresholds())
    assert verdict is Verdict.ROLLBACK
    assert reasons[0] == "error rate 30.0% > 5% (12/40 failed; stable 2.0%)"
    assert reasons[1] == "p95 latency +50% > +20% (1.500 s vs 1.000 s)"
    assert reasons[2] == "cost per run +40% > +30% ($0.0140 vs $0.0100)"


def test_within_thresholds_advances_and_too_few_runs_wait() -> None:
    stable = figures("1", 50, 1, p95_latency_s=1.0, cost_per_run_usd=0.010)
    fine = figures("2", 30, 1, p95_latency_s=1.1, cost_per_run_usd=0.012)
    assert judge(stable, fine, 20, Thresholds()) == (Verdict.ADVANCE, ())
    few = figures("2", 5, 3)
    verdict, reasons = judge(stable, few, 20, Thresholds())
    assert verdict is Verdict.INCONCLUSIVE
    assert reasons == ("5 candidate runs finished in the window; 20 needed",)


def test_one_security_event_rolls_back_whatever_the_count() -> None:
    stable = figures("1", 50)
    verdict, reasons = judge(stable, figures("2", 2, security_events=1), 20, Thresholds())
    assert (verdict, reasons) == (Verdict.ROLLBACK, ("1 security event(s) on the candidate",))
    off = Thresholds(security_events=False)
    assert judge(stable, figures("2", 2, security_events=1), 20, off)[0] is Verdict.INCONCLUSIVE
