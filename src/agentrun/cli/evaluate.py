"""``agentrun eval run``: a dataset against one agent version, as an ``Evaluation`` workflow.

The command starts the workflow on the worker's task queue, shows its progress on stderr while
the cases run, and prints the figures. The workflow, not this process, owns the evaluation: a
Ctrl-C here leaves it running (its id is printed), and a worker crash costs it nothing.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import FailureError

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
    one_line,
    open_client,
    out,
)
from agentrun.client import AgentRunClient
from agentrun.contracts.evaluation import EvalCase, EvalProgress, EvalReport, EvalRequest
from agentrun.contracts.names import EVALUATION_WORKFLOW, QUERY_EVAL_PROGRESS
from agentrun.logic.evaluation.dataset import DatasetError, dataset_digest, parse_dataset
from agentrun.settings import Settings

eval_app = typer.Typer(
    help="Evaluate agent versions on datasets of cases, and compare two versions.",
    no_args_is_help=True,
)

DatasetOpt = Annotated[
    Path,
    typer.Option(
        "--dataset", help="A JSONL file of cases (docs/evaluation.md).", show_default=False
    ),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, max=50, help="Cases run at once.")
]
GraderOpt = Annotated[
    str | None,
    typer.Option(
        "--grader",
        help="provider:model that scores cases with a rubric (expect.graded), e.g. "
        "openai:gpt-4o-mini; served by the workers like an agent's model.",
        show_default=False,
    ),
]
# How often the progress line is refreshed, and how long a silent workflow is waited for before
# saying that no worker seems to be there.
POLL_S = 1.0
NO_WORKER_HINT_S = 10.0
_RPC_TIMEOUT = timedelta(seconds=5)


@dataclass(frozen=True)
class Dataset:
    name: str
    cases: tuple[EvalCase, ...]
    digest: str


def load_dataset(path: Path) -> Dataset:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"--dataset {path}: no such file") from None
    except UnicodeDecodeError:
        raise CliError(f"--dataset {path}: not UTF-8 text") from None
    try:
        cases = parse_dataset(text, path.name)
    except DatasetError as err:
        raise CliError(str(err)) from None
    return Dataset(path.name, cases, dataset_digest(cases))


async def evaluate(
    settings: Settings,
    agent: str,
    version: str,
    dataset: Dataset,
    concurrency: int,
    *,
    grader: str | None = None,
    quiet: bool = False,
) -> EvalReport:
    """Run the Evaluation workflow to its end, the progress on stderr unless ``quiet``."""
    client = await open_client(settings)
    evaluation_id = f"eval-{agent}-{version}-{uuid.uuid4().hex[:8]}"
    request = EvalRequest(
        agent=agent,
        version=version,
        dataset=dataset.name,
        dataset_digest=dataset.digest,
        cases=dataset.cases,
        concurrency=concurrency,
        task_queue=settings.task_queue,
        grader=grader,
    )
    handle: WorkflowHandle[object, EvalReport] = await client.temporal.start_workflow(
        EVALUATION_WORKFLOW,
        request,
        id=evaluation_id,
        task_queue=settings.task_queue,
        result_type=EvalReport,
        static_summary=f"evaluation of {agent}@{version} on {dataset.name}",
    )
    if not quiet:
        err_console.print(
            f"evaluation {evaluation_id}: {len(dataset.cases)} cases of {dataset.name} on "
            f"{agent}@{version}",
            highlight=False,
        )
    watcher = asyncio.create_task(_watch(client, evaluation_id, settings, quiet=quiet))
    try:
        return await handle.result()
    except WorkflowFailureError as err:
        raise CliError(f"evaluation {evaluation_id} failed: {_root_cause(err.cause)}") from None
    finally:
        watcher.cancel()


async def _watch(
    client: AgentRunClient, evaluation_id: str, settings: Settings, *, quiet: bool
) -> None:
    """A line on stderr each time the count moves; one hint if no worker answers."""
    handle = client.temporal.get_workflow_handle(evaluation_id)
    shown: EvalProgress | None = None
    silent_since = asyncio.get_running_loop().time()
    hinted = False
    while True:
        await asyncio.sleep(POLL_S)
        try:
            progress = await handle.query(
                QUERY_EVAL_PROGRESS, result_type=EvalProgress, rpc_timeout=_RPC_TIMEOUT
            )
        except Exception:  # noqa: BLE001 -- no worker yet, or the workflow just ended
            waited = asyncio.get_running_loop().time() - silent_since
            if not hinted and waited > NO_WORKER_HINT_S:
                hinted = True
                err_console.print(
                    f"evaluation {evaluation_id}: no worker has answered for {waited:.0f} s; is "
                    f"one running on task queue {settings.task_queue!r}? (it waits; Ctrl-C "
                    "leaves it queued)",
                    highlight=False,
                )
            continue
        silent_since = asyncio.get_running_loop().time()
        if not quiet and progress != shown:
            shown = progress
            err_console.print(
                f"evaluation {evaluation_id}: {progress.done}/{progress.cases} done, "
                f"{progress.passed} passed, {progress.running} running",
                highlight=False,
            )


def _root_cause(err: BaseException) -> str:
    """The innermost failure's message: "agent 'x' has no version '9'", not "Activity task
    failed"."""
    while isinstance(err, FailureError) and err.cause is not None:
        err = err.cause
    return one_line(err.message if isinstance(err, FailureError) else str(err))


def render_report(report: EvalReport, *, stored: bool) -> list[str]:
    s = report.summary
    heading = (
        f"{report.agent}@{report.version} on {report.dataset} ({s.cases} cases, "
        f"{report.dataset_digest[:19]}): evaluation {report.evaluation_id}"
    )
    lines = [
        heading,
        f"pass rate {_rate(s.passed, s.cases, s.interval)}",
    ]
    for tag, figures in s.by_tag.items():
        lines.append(f"  {tag:<9} {_rate(figures.passed, figures.cases, figures.interval)}")
    lines.append(
        f"latency p50 {s.latency_p50_s:.2f} s, p95 {s.latency_p95_s:.2f} s; "
        f"cost per run ${s.cost_per_run_usd:.4f}"
    )
    if s.failed_by:
        lines.append("failed checks: " + ", ".join(f"{k} {v}" for k, v in s.failed_by.items()))
    for result in report.results:
        if not result.passed:
            why = "; ".join(f"{x.scorer}: {x.detail}" for x in result.scores if not x.passed)
            lines.append(f"  FAIL {result.outcome.case_id}: {why}")
    lines.append(
        f"stored as {report.agent}@{report.version}'s baseline on this dataset"
        if stored
        else "not stored: the worker keeps no store (AGENTRUN_STORE_ENABLED=false)"
    )
    return lines


def _rate(passed: int, total: int, interval: tuple[float, float]) -> str:
    low, high = interval
    share = passed / total * 100 if total else 0.0
    return f"{passed}/{total} = {share:.1f} % [{low * 100:.1f}, {high * 100:.1f}]"


@eval_app.command("run")
@guarded
def eval_run(
    agent: AgentArg,
    *,
    version: Annotated[
        str, typer.Option("--version", help="The version under test.", show_default=False)
    ],
    dataset: DatasetOpt,
    concurrency: ConcurrencyOpt = 4,
    grader: GraderOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Run every case of DATASET as a run of AGENT at --version (side effects dry, reviews
    answered as each case says); print pass rate with its 95 % interval, per tag, latency and
    cost, and keep the results as the version's baseline on this dataset."""
    settings = build_settings(address, namespace)
    loaded = load_dataset(dataset)
    grader = checked_model(grader, "--grader")
    report = asyncio.run(
        evaluate(settings, agent, version, loaded, concurrency, grader=grader, quiet=json_output)
    )
    if json_output:
        emit_json(report)
        return
    for line in render_report(report, stored=settings.store_enabled):
        out.print(line, highlight=False, markup=False)
