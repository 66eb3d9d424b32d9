"""Datasets: JSONL files of cases, one per line, checked line by line with the line named."""

import hashlib
import json

from pydantic import ValidationError

from agentrun.contracts.evaluation import MAX_CASES, MAX_DATASET_BYTES, EvalCase


class DatasetError(ValueError):
    """A dataset that cannot be used, naming the line and field to fix."""


def parse_dataset(text: str, name: str) -> tuple[EvalCase, ...]:
    """Every non-blank line a case; ``#`` lines are comments. Case ids are unique."""
    size = len(text.encode())
    if size > MAX_DATASET_BYTES:
        raise DatasetError(f"{name}: {size} bytes; the limit is {MAX_DATASET_BYTES}")
    cases: list[EvalCase] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{name} line {number}"
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise DatasetError(f"{where}: not JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(raw, dict):
            raise DatasetError(f"{where}: a case is a JSON object")
        try:
            case = EvalCase.model_validate(raw)
        except ValidationError as err:
            problem = err.errors(include_url=False)[0]
            field = ".".join(str(p) for p in problem["loc"]) or "case"
            message = str(problem["msg"]).removeprefix("Value error, ")
            raise DatasetError(f"{where}: {field}: {message}") from None
        if case.id in seen:
            raise DatasetError(f"{where}: id {case.id!r} is already used on line {seen[case.id]}")
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise DatasetError(f"{name}: no cases")
    if len(cases) > MAX_CASES:
        raise DatasetError(f"{name}: {len(cases)} cases; the limit is {MAX_CASES}")
    return tuple(cases)


def dataset_digest(cases: tuple[EvalCase, ...]) -> str:
    """Of the cases' content, not the file's bytes: comments and spacing do not count, so a
    baseline stays comparable after a reformat, and any changed case makes a new dataset."""
    canonical = json.dumps(
        [case.model_dump(mode="json") for case in cases], sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def case_line(case: EvalCase) -> str:
    """A case as one dataset line (what ``agentrun eval add-case`` appends)."""
    return json.dumps(case.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False)
