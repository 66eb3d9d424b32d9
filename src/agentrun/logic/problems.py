"""A pydantic ValidationError said in one line: which value, which field, what is wrong.

Used wherever a payload from outside is refused (the data converter, a review signal), so every
refusal reads the same: ``invalid ReviewDecision: decision: Input should be 'approve', ...``.
"""

from typing import get_args

from pydantic import ValidationError


def payload_problem(err: ValidationError, type_hint: object) -> str:
    problems = err.errors(include_url=False)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"invalid {_type_name(type_hint)}: {where + ': ' if where else ''}{message}{more}"


def _type_name(type_hint: object) -> str:
    names = [
        getattr(arg, "__name__", str(arg))
        for arg in (get_args(type_hint) or (type_hint,))
        if arg is not type(None)
    ]
    return " | ".join(names) if names else "payload"
