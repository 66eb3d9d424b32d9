"""How a benchmark publishes its figures: a marked block in docs/performance.md, and a clean exit.

Each benchmark owns one block between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``
and rewrites only that, so prose around the figures survives a re-run. A page without the markers
gets the block once, at its end, under the benchmark's heading.
"""

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE = ROOT / "docs" / "performance.md"
PAGE_TITLE = "# Performance"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def add_write_docs_flag(parser: argparse.ArgumentParser) -> None:
    """``--write-docs``: publish the figures. ``--write-readme``, the flag's name from when the
    figures lived in the README, still works and is left out of ``--help``."""
    shown = PERFORMANCE.relative_to(ROOT)
    parser.add_argument(
        "--write-docs", dest="write_docs", action="store_true", help=f"put the figures in {shown}"
    )
    parser.add_argument(
        "--write-readme", dest="write_docs", action="store_true", help=argparse.SUPPRESS
    )


def write_section(
    name: str, section: str, *, heading: str = "", intro: str = "", page: Path = PERFORMANCE
) -> None:
    """Put ``section`` between the benchmark's markers; without them, add ``heading``, ``intro``
    and the marked block at the end of the page (made, with its title, if missing)."""
    start, end = markers(name)
    text = page.read_text(encoding="utf-8") if page.exists() else ""
    block = f"{start}\n{section}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        page.write_text(head + block + rest.split(end, 1)[1], encoding="utf-8")
        return
    addition = "".join(part for part in (f"{heading}\n\n" if heading else "", intro, block)) + "\n"
    head = text.rstrip("\n") or PAGE_TITLE
    page.write_text(f"{head}\n\n{addition}", encoding="utf-8")


def run_and_exit(main: Coroutine[Any, Any, int]) -> NoReturn:
    """Run a benchmark's async main and leave with its status, whatever happens.

    The SDK's native threads sometimes abort the interpreter after a clean shutdown,
    so the process leaves through ``os._exit`` before teardown: the exit status stays ours.
    """
    try:
        code = asyncio.run(main)
    except Exception:  # noqa: BLE001 -- any failure must still reach os._exit with a status
        traceback.print_exc()
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
