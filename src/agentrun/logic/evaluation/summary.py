"""An evaluation's figures from its scored cases (pure)."""

from collections import Counter
from collections.abc import Sequence
from statistics import fmean

from agentrun.contracts.evaluation import CaseResult, CaseTag, EvalSummary, TagFigures
from agentrun.logic.evaluation.interval import wilson_interval
from agentrun.logic.figures import percentile


def summarize(results: Sequence[CaseResult]) -> EvalSummary:
    passed = sum(1 for r in results if r.passed)
    by_tag: dict[str, TagFigures] = {}
    for tag in CaseTag:
        tagged = [r for r in results if tag in r.tags]
        if tagged:
            ok = sum(1 for r in tagged if r.passed)
            by_tag[tag.value] = TagFigures(
                cases=len(tagged), passed=ok, interval=wilson_interval(ok, len(tagged))
            )
    latencies = [r.outcome.observed.latency_s for r in results] or [0.0]
    failed_by = Counter(s.scorer for r in results for s in r.scores if not s.passed)
    return EvalSummary(
        cases=len(results),
        passed=passed,
        interval=wilson_interval(passed, len(results)),
        by_tag=by_tag,
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        cost_per_run_usd=fmean([r.outcome.cost_usd for r in results] or [0.0]),
        failed_by=dict(sorted(failed_by.items())),
    )
