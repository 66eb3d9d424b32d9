"""The package's layers: every import between agentrun's packages points down, so there is no
cycle, and ``workers/`` stays the worker process only (docs/architecture.md).

Read from the source (every ``import``, lazy ones inside functions included), not from what
happens to be imported at run time.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "agentrun"

# Lower imports nothing above it; equal ranks may not import each other.
RANK = {
    "contracts": 0,
    "errors": 0,
    "logic": 1,
    "codec": 1,
    "settings": 2,
    "store": 2,
    "agents": 3,
    "observability": 3,
    "signing": 3,
    "converter": 3,
    "client": 4,
    "activities": 4,
    "workflows": 5,
    "workers": 6,
    "cli": 7,
}
# What the worker process has no use for: the CLI's and the codec server's libraries.
NOT_IN_WORKERS = ("typer", "rich", "aiohttp")


def unit(module: str) -> str:
    """``agentrun.store.writer`` -> ``store``, ``agentrun.settings`` -> ``settings``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "agentrun"


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        yield ".".join(relative.parts), path


def test_every_package_has_a_rank() -> None:
    units = {unit(module) for module, _ in modules() if module.count(".") >= 1}
    assert units - {"__init__", "__main__"} <= set(RANK), units - set(RANK)


def test_imports_point_down_the_layers() -> None:
    upward = []
    for module, path in modules():
        source = unit(module)
        if source not in RANK:
            continue
        for imported in imports(path):
            if not imported.startswith("agentrun."):
                continue
            target = unit(imported)
            if target != source and RANK[target] >= RANK[source]:
                upward.append(f"{module} imports {imported} ({source} -> {target})")
    assert upward == []


def test_workers_is_the_worker_process_only() -> None:
    offending = [
        f"{module} imports {imported}"
        for module, path in modules()
        if unit(module) == "workers"
        for imported in imports(path)
        if imported.split(".")[0] in NOT_IN_WORKERS
    ]
    assert offending == []
    names = {path.stem for path in (SRC / "workers").glob("*.py")}
    assert not any(name.startswith(("cli", "codec", "devserver")) for name in names), names
