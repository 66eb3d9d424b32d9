"""How a benchmark publishes its figures: a marked block in README.md, and a clean exit.

Each benchmark owns one block between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``
and rewrites only that, so prose around the figures survives a re-run. A README without the
markers gets the block once, at the end of its Performance section.
"""

import asyncio
import os
import re
import sys
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NoReturn

README = Path(__file__).resolve().parents[1] / "README.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_section(
    name: str, section: str, *, heading: str = "", intro: str = "", readme: Path = README
) -> None:
    """Put ``section`` between the benchmark's markers; without them, add ``heading``, ``intro``
    and the marked block at the end of the Performance section (made if missing)."""
    start, end = markers(name)
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    block = f"{start}\n{section}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        readme.write_text(head + block + rest.split(end, 1)[1], encoding="utf-8")
        return
    addition = "".join(part for part in (f"{heading}\n\n" if heading else "", intro, block)) + "\n"
    performance = re.search(r"^## Performance\b.*$", text, re.MULTILINE)
    if performance is None:
        text = text.rstrip("\n") + ("\n\n" if text else "") + f"## Performance\n\n{addition}"
    else:
        following = re.search(r"^## ", text[performance.end() :], re.MULTILINE)
        at = performance.end() + following.start() if following else len(text)
        head, tail = text[:at].rstrip("\n"), text[at:]
        text = f"{head}\n\n{addition}" + (f"\n{tail}" if tail else "")
    readme.write_text(text, encoding="utf-8")


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
