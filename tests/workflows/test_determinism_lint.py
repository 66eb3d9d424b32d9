"""What workflow code may not call, read from its source.

Workers share agentrun's modules between runs (``AGENTRUN_WORKFLOW_SANDBOX=shared``, the
default), so the sandbox's restrictions no longer watch them as runs execute; the replay test
replays every recorded history in the isolated sandbox, but only the paths it has histories of.
This reads every agentrun module a workflow can reach (the import closure of
``agentrun.workflows``) for the clocks, randomness, environment and I/O that break a replay,
whichever path calls them. Workflows use ``workflow.now()``, ``workflow.random()``,
``workflow.uuid4()`` and activities instead.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT_PACKAGE = "agentrun.workflows"

# Modules whose import alone says the code does I/O or draws at random.
FORBIDDEN_MODULES = frozenset(
    {
        "random",
        "secrets",
        "socket",
        "subprocess",
        "threading",
        "multiprocessing",
        "sqlite3",
        "sqlalchemy",
        "sqlmodel",
        "psycopg",
        "httpx",
        "requests",
        "urllib.request",
        "http.client",
        "shutil",
        "tempfile",
    }
)
# Attribute calls that read a clock, the environment or a random source.
FORBIDDEN_CALLS = frozenset(
    {
        "datetime.now",
        "datetime.utcnow",
        "datetime.today",
        "date.today",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.sleep",
        "time.localtime",
        "uuid.uuid1",
        "uuid.uuid4",
        "os.getenv",
        "os.urandom",
        "os.getpid",
        "os.listdir",
        "Path.read_text",
        "Path.open",
    }
)
FORBIDDEN_NAMES = frozenset({"open", "input", "print", "breakpoint"})
FORBIDDEN_ATTRIBUTES = frozenset({"os.environ"})


def _module_path(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module ``tree`` imports, absolute, including ``from x import submodule``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)


def _closure() -> dict[str, ast.Module]:
    """agentrun's modules that code in ``agentrun.workflows`` can reach by importing."""
    package_dir = SRC.joinpath(*ROOT_PACKAGE.split("."))
    todo = [ROOT_PACKAGE] + [f"{ROOT_PACKAGE}.{p.stem}" for p in package_dir.glob("*.py")]
    seen: dict[str, ast.Module] = {}
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if name in seen or path is None:
            continue
        tree = ast.parse(path.read_text(), str(path))
        seen[name] = tree
        parent = name.rpartition(".")[0]
        if parent.startswith("agentrun"):
            todo.append(parent)  # importing a module runs its package's __init__
        is_package = path.name == "__init__.py"
        todo.extend(i for i in _imports(tree, name, is_package) if i.startswith("agentrun"))
    return seen


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    return None


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks (never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _dotted(node.test) in {
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        }:
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound by absolute imports, to what they name: ``from time import time as t``
    binds ``t`` to ``time.time``, ``import datetime as dt`` binds ``dt`` to ``datetime``."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _resolved(dotted: str, aliases: dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    origin = aliases.get(head, head)
    return f"{origin}.{rest}" if rest else origin


def findings(name: str, tree: ast.Module) -> list[str]:
    skipped = _type_checking_only(tree)
    aliases = _aliases(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if line in skipped:
            continue
        where = f"{name}:{line}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""] * (node.level == 0)
            )
            found += [f"{where} imports {n}" for n in names if _forbidden_module(n)]
        elif isinstance(node, ast.Call):
            called = _dotted(node.func)
            if called is None:
                continue
            full = _resolved(called, aliases)
            tail = ".".join(full.split(".")[-2:])
            if tail in FORBIDDEN_CALLS or (called in FORBIDDEN_NAMES and called not in aliases):
                found.append(f"{where} calls {called}()")
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted is not None and _resolved(dotted, aliases) in FORBIDDEN_ATTRIBUTES:
                found.append(f"{where} reads {dotted}")
        elif isinstance(node, ast.Name) and aliases.get(node.id) in FORBIDDEN_ATTRIBUTES:
            found.append(f"{where} reads {node.id}")
    return found


def _forbidden_module(name: str) -> bool:
    return any(name == m or name.startswith(f"{m}.") for m in FORBIDDEN_MODULES)


CLOSURE = _closure()


def test_the_closure_holds_what_workflows_reach() -> None:
    """The walk follows imports: the workflow package, the contracts and the pure logic."""
    assert "agentrun.workflows.agent_run" in CLOSURE
    assert "agentrun.contracts.runs" in CLOSURE
    assert "agentrun.logic.guards" in CLOSURE
    assert not any(name.startswith("agentrun.activities") for name in CLOSURE)


@pytest.mark.parametrize("module", sorted(CLOSURE))
def test_workflow_code_reads_no_clock_randomness_environment_or_io(module: str) -> None:
    assert findings(module, CLOSURE[module]) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import random\n", "imports random"),
        ("from datetime import datetime\nx = datetime.now()\n", "calls datetime.now()"),
        ("import datetime\nx = datetime.datetime.utcnow()\n", "calls datetime.datetime.utcnow()"),
        ("import time\ntime.sleep(1)\n", "calls time.sleep()"),
        ("import os\nx = os.environ['A']\n", "reads os.environ"),
        ("import uuid\nx = uuid.uuid4()\n", "calls uuid.uuid4()"),
        ("data = open('f').read()\n", "calls open()"),
        ("from sqlalchemy import select\n", "imports sqlalchemy"),
        ("from time import monotonic as tick\nx = tick()\n", "calls tick()"),
        ("from datetime import datetime as dt\nx = dt.now()\n", "calls dt.now()"),
        ("from os import environ\nx = environ.get('A')\n", "reads environ"),
    ],
)
def test_the_lint_catches_each_kind(source: str, expected: str) -> None:
    """The check can fail: each kind of call, written into a module, is named with its line."""
    assert any(expected in f for f in findings("probe", ast.parse(source)))


def test_type_checking_imports_and_workflow_apis_pass() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import sqlalchemy\n"
        "from temporalio import workflow\n"
        "x = workflow.now(); y = workflow.uuid4(); z = workflow.random().random()\n"
    )
    assert findings("probe", ast.parse(source)) == []
