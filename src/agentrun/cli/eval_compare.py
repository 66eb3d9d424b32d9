"""``agentrun eval compare``: two versions of an agent, paired on the same cases, with tests.

Each version's results come from its baseline on the dataset (its latest finished evaluation on
the same cases, found by the dataset's digest), or from a new evaluation when it has none (or
with ``--rerun``). Exit 1 when the candidate is worse: the command is a deploy gate.
"""

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentrun.cli.common import (
    AddressOpt,
    AgentArg,
    CliError,
    JsonOpt,
    NamespaceOpt,
    build_settings,
    checked_model,
    emit_json,
    err_console,
    guarded,
    out,
)
from agentrun.cli.evaluate import (
    ConcurrencyOpt,
    Dataset,
    DatasetOpt,
    GraderOpt,
    eval_app,
    evaluate,
    load_dataset,
)
from agentrun.cli.store import database_errors
from agentrun.settings import Settings

if TYPE_CHECKING:  # scipy takes half a second to import: only `eval compare` pays for it
    from agentrun.logic.evaluation.stats import PassRateComparison, ShiftComparison, Verdict


@dataclass(frozen=True)
class CaseFigures:
    passed: bool
    latency_s: float
    cost_usd: float


@dataclass(frozen=True)
class Side:
    version: str
    evaluation_id: str
    fresh: bool  # run by this command, not read from a stored baseline
    cases: dict[str, CaseFigures]
    concurrency: int | None = None


def stored_side(settings: Settings, agent: str, version: str, digest: str) -> Side | None:
    """The version's baseline on the dataset, if the store holds one."""
    from agentrun.store.db import make_engine, session_factory  # noqa: PLC0415 -- lazy
    from agentrun.store.evaluations import case_rows, latest_evaluation  # noqa: PLC0415

    if not settings.store_enabled:
        return None
    url = settings.effective_database_url()
    engine = make_engine(url)
    try:
        with database_errors(url), session_factory(engine)() as session:
            row = latest_evaluation(session, agent, version, digest)
            if row is None:
                return None
            cases = {
                c.case_id: CaseFigures(c.passed, c.latency_s, c.cost_usd)
                for c in case_rows(session, row.evaluation_id)
            }
            concurrency = (row.summary or {}).get("concurrency")
            return Side(version, row.evaluation_id, False, cases, concurrency)
    finally:
        engine.dispose()


async def fresh_side(
    settings: Settings,
    agent: str,
    version: str,
    dataset: Dataset,
    concurrency: int,
    *,
    grader: str | None = None,
) -> Side:
    report = await evaluate(settings, agent, version, dataset, concurrency, grader=grader)
    cases = {
        r.outcome.case_id: CaseFigures(r.passed, r.outcome.observed.latency_s, r.outcome.cost_usd)
        for r in report.results
    }
    return Side(version, report.evaluation_id, True, cases, concurrency)


@dataclass(frozen=True)
class Comparison:
    baseline: Side
    candidate: Side
    paired: list[str]
    passes: "PassRateComparison"
    shifts: "list[ShiftComparison]"
    verdict: "Verdict"


def compare(baseline: Side, candidate: Side) -> Comparison:
    from agentrun.logic.evaluation.stats import (  # noqa: PLC0415 -- see TYPE_CHECKING above
        COST_MARGIN,
        LATENCY_MARGIN,
        compare_pass,
        compare_shift,
        overall,
    )

    paired = sorted(baseline.cases.keys() & candidate.cases.keys())
    if not paired:
        raise CliError("the two evaluations share no case: nothing to pair")
    b = [baseline.cases[c] for c in paired]
    k = [candidate.cases[c] for c in paired]
    passes = compare_pass([x.passed for x in b], [x.passed for x in k])
    shifts = [
        compare_shift(
            "latency_s", [x.latency_s for x in b], [x.latency_s for x in k], LATENCY_MARGIN
        ),
        compare_shift("cost_usd", [x.cost_usd for x in b], [x.cost_usd for x in k], COST_MARGIN),
    ]
    return Comparison(baseline, candidate, paired, passes, shifts, overall(passes, shifts))


def render(agent: str, dataset: Dataset, result: Comparison) -> list[str]:
    from agentrun.logic.evaluation.interval import ALPHA  # noqa: PLC0415 -- see TYPE_CHECKING

    def origin(side: Side) -> str:
        how = "run now" if side.fresh else "stored baseline"
        return f"{agent}@{side.version} ({how}, {side.evaluation_id})"

    p = result.passes
    n = p.cases
    heading = f"{origin(result.baseline)} vs {origin(result.candidate)} on {dataset.name}"
    rate = (
        f"pass rate  {p.baseline_passed}/{n} -> {p.candidate_passed}/{n}; disagreements "
        f"{p.only_baseline} lost, {p.only_candidate} gained; exact McNemar p "
        f"{_p(p.p_value)}: {p.verdict}"
    )
    floor = (
        "           smallest pass-rate difference this sample could detect: "
        f"{p.detectable * 100:.1f} points"
    )
    lines = [f"{heading}: {n} paired cases", rate, floor]
    for shift in result.shifts:
        show = _dollars if shift.measure == "cost_usd" else _seconds
        low, high = shift.interval
        lines.append(
            f"{shift.measure:<10} median {show(shift.baseline_median)} -> "
            f"{show(shift.candidate_median)}; paired difference {show(shift.median_difference)} "
            f"[{show(low)}, {show(high)}]; Wilcoxon p {_p(shift.p_value)}: {shift.verdict} "
            f"(margin {shift.margin * 100:g} %, detectable: {show(shift.detectable)})"
        )
    ran = (result.baseline.concurrency, result.candidate.concurrency)
    if ran[0] != ran[1]:
        lines.append(
            f"note: the baseline ran {ran[0] or '?'} cases at once, the candidate {ran[1] or '?'}:"
            " their latencies do not compare (--rerun evaluates both side by side)"
        )
    elif result.baseline.fresh != result.candidate.fresh:
        lines.append(
            "note: one version's figures are a stored baseline, the other's were measured now: "
            "latency may differ with the machine's load (--rerun measures both side by side)"
        )
    lines.append(f"verdict: {result.verdict} at alpha = {ALPHA:g}")
    return lines


def _p(value: float) -> str:
    return "< 0.0001" if value < 0.0001 else f"= {value:.4f}"


def _seconds(value: float) -> str:
    return f"{value:.3f} s"


def _dollars(value: float) -> str:
    return f"${value:.4f}"


def as_json(agent: str, dataset: Dataset, result: Comparison) -> dict[str, Any]:
    p = result.passes
    return {
        "agent": agent,
        "dataset": dataset.name,
        "dataset_digest": dataset.digest,
        "baseline": {
            "version": result.baseline.version,
            "evaluation": result.baseline.evaluation_id,
        },
        "candidate": {
            "version": result.candidate.version,
            "evaluation": result.candidate.evaluation_id,
        },
        "cases": len(result.paired),
        "pass_rate": {
            "baseline_passed": p.baseline_passed,
            "candidate_passed": p.candidate_passed,
            "lost": p.only_baseline,
            "gained": p.only_candidate,
            "p_value": p.p_value,
            "detectable": p.detectable,
            "verdict": p.verdict.value,
        },
        "shifts": [
            {
                "measure": s.measure,
                "baseline_median": s.baseline_median,
                "candidate_median": s.candidate_median,
                "median_difference": s.median_difference,
                "interval": list(s.interval),
                "p_value": s.p_value,
                "detectable": s.detectable,
                "margin": s.margin,
                "verdict": s.verdict.value,
            }
            for s in result.shifts
        ],
        "verdict": result.verdict.value,
    }


@eval_app.command("compare")
@guarded
def eval_compare(
    agent: AgentArg,
    *,
    baseline: Annotated[
        str, typer.Option("--baseline", help="The stable version.", show_default=False)
    ],
    candidate: Annotated[
        str, typer.Option("--candidate", help="The version to judge.", show_default=False)
    ],
    dataset: DatasetOpt,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="Evaluate both now, even with stored baselines.")
    ] = False,
    concurrency: ConcurrencyOpt = 4,
    grader: GraderOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Compare --candidate against --baseline on the same cases: exact McNemar on pass/fail,
    Wilcoxon signed-rank and bootstrap intervals on latency and cost. Says better, worse or no
    significant difference, with the smallest effect the sample could detect; exit 1 if worse."""
    settings = build_settings(address, namespace)
    loaded = load_dataset(dataset)
    grader = checked_model(grader, "--grader")

    async def sides() -> tuple[Side, Side]:
        """Stored baselines where there are; the rest evaluated now, side by side, so that
        both versions' latencies are measured under the same load (run one after the other,
        the second would carry whatever changed on the machine in between)."""
        found: dict[str, Side | None] = {
            version: None if rerun else stored_side(settings, agent, version, loaded.digest)
            for version in (baseline, candidate)
        }
        missing = [version for version, side in found.items() if side is None]
        if missing and not json_output:
            err_console.print(
                f"evaluating {', '.join(f'{agent}@{v}' for v in missing)} on {loaded.name} "
                "(no stored baseline)"
                if not rerun
                else "(--rerun)",
                highlight=False,
            )
        fresh = await asyncio.gather(
            *(
                fresh_side(settings, agent, version, loaded, concurrency, grader=grader)
                for version in missing
            )
        )
        found |= dict(zip(missing, fresh, strict=True))
        base, cand = found[baseline], found[candidate]
        assert base is not None  # noqa: S101 -- every missing side ran
        assert cand is not None  # noqa: S101 -- likewise
        return base, cand

    base, cand = asyncio.run(sides())
    result = compare(base, cand)
    if json_output:
        emit_json(as_json(agent, loaded, result))
    else:
        for line in render(agent, loaded, result):
            out.print(line, highlight=False, markup=False)
    if result.verdict == "worse":
        raise typer.Exit(1)
