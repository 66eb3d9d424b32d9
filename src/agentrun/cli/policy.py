"""``agentrun policy check``: validate policy files before they govern runs.

It is a pre-deploy check, so its exit codes are script-friendly: 0 every file is valid (and the
files are consistent with each other), 2 a file is not, with one ``error: <file>: <location>:
<why>`` line per problem, like ``agentrun report``'s errors.
"""

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from agentrun.cli.common import JsonOpt, emit_json, err_console, guarded, one_line, out
from agentrun.contracts.policy import PolicyDocument
from agentrun.logic.policy import PolicyEngine, PolicyError, load_policy_file

EXIT_OK = 0
EXIT_INVALID = 2

policy_app = typer.Typer(
    help="Guardrail policies (tool allow-lists, argument limits, budgets, injection screening).",
    no_args_is_help=True,
)


@policy_app.callback()
def policy() -> None:
    """Guardrail policies: validate the files the policy engine evaluates at run checkpoints."""


def _settings(rule: BaseModel) -> dict[str, Any]:
    """What a rule sets beyond its identity."""
    skip = {"id", "kind", "verdict", "description"}
    dumped = rule.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in dumped.items() if k not in skip}


def _setting_text(settings: dict[str, Any]) -> str:
    parts = []
    for key, value in settings.items():
        if isinstance(value, list):
            shown = ", ".join(map(str, value))
        elif isinstance(value, float):
            shown = f"{value:g}"
        else:
            shown = str(value)
        parts.append(f"{key}={shown}")
    return " ".join(parts) or "-"


def _applies(document: PolicyDocument) -> str:
    scope = document.applies_to
    agents = ", ".join(scope.agents) or "all agents"
    tenants = ", ".join(scope.tenants) or "all tenants"
    return f"{agents} · {tenants}"


def _summary(path: Path, document: PolicyDocument) -> dict[str, Any]:
    return {
        "file": str(path),
        "policy_id": document.policy_id,
        "version": document.version,
        "digest": document.digest(),
        "applies_to": document.applies_to.model_dump(mode="json"),
        "rules": [
            {
                "index": index,
                "id": rule.id,
                "kind": rule.kind,
                "verdict": rule.verdict.value,
                "checkpoints": [cp.value for cp in rule.checkpoints],
                "settings": _settings(rule),
                "description": rule.description,
            }
            for index, rule in enumerate(document.rules)
        ],
    }


def print_policy(console: Console, path: Path, document: PolicyDocument) -> None:
    table = Table(
        title=(
            f"{path}: {document.policy_id} version {document.version} · applies to "
            f"{_applies(document)} · sha256 {document.digest()[:16]}"
        ),
        title_justify="left",
        expand=False,
    )
    for column in ("#", "id", "kind", "verdict", "checkpoints", "settings"):
        table.add_column(column, justify="right" if column == "#" else "left", overflow="fold")
    for index, rule in enumerate(document.rules):
        table.add_row(
            str(index),
            rule.id,
            rule.kind,
            rule.verdict.value,
            ", ".join(cp.value for cp in rule.checkpoints),
            _setting_text(_settings(rule)),
        )
    console.print(table)
    if not document.rules:
        console.print("no rules: only the built-in unknown-tool rule applies", highlight=False)


def _check(files: list[Path], json_output: bool) -> int:
    loaded: list[tuple[Path, PolicyDocument]] = []
    problems: list[str] = []
    for path in files:
        try:
            loaded.append((path, load_policy_file(path)))
        except PolicyError as err:
            problems.extend(err.problems)
    if loaded and not problems:
        try:
            PolicyEngine.compile([document for _, document in loaded])
        except PolicyError as err:
            problems.extend(f"{', '.join(str(p) for p, _ in loaded)}: {p}" for p in err.problems)
    if json_output:
        emit_json(
            {
                "ok": not problems,
                "policies": [_summary(path, document) for path, document in loaded],
                "errors": problems,
            }
        )
    else:
        for path, document in loaded:
            print_policy(out, path, document)
    for problem in problems:
        err_console.print(f"error: {one_line(problem)}", markup=False, highlight=False)
    return EXIT_INVALID if problems else EXIT_OK


@policy_app.command("check")
def check(
    *,
    files: Annotated[
        list[Path], typer.Argument(help="Policy files (.yaml, .yml or .json).", show_default=False)
    ],
    json_output: JsonOpt = False,
) -> None:
    """Validate policy files and print their rules; exit 2 if any file is invalid."""
    code: list[int] = []

    def run() -> None:
        code.append(_check(files, json_output))

    try:
        guarded(run)()
    except typer.Exit as exit_:
        # guarded's own errors (exit 1) are "could not check": still not a valid policy.
        raise typer.Exit(EXIT_INVALID if exit_.exit_code == 1 else exit_.exit_code) from None
    raise typer.Exit(code[0])


if __name__ == "__main__":
    policy_app()
