"""A mistyped command line is one line that says what is wrong and where to look, exit 2."""

import subprocess
import sys
from pathlib import Path

import pytest

AGENTRUN = str(Path(sys.executable).parent / "agentrun")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["runs", "--limit", "0"], "Invalid value for '--limit'"),
        (["runs", "--state", "bogus"], "'bogus' is not one of 'init'"),
        (["run"], "Missing argument 'agent'"),
        (["nope"], "No such command 'nope'"),
        (["status", "--nope", "x"], "No such option: --nope"),
        (["review", "x", "--decision", "maybe", "--reviewer", "a"], "'maybe' is not one of"),
    ],
)
def test_a_usage_error_is_one_line(args: list[str], says: str) -> None:
    result = subprocess.run(
        [AGENTRUN, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    assert says in line
    assert "Value error" not in line
    command = " ".join(["agentrun", *args[:1]]) if args[0] != "nope" else "agentrun"
    assert line.endswith(f"(see: {command} --help)"), line
