"""The README's first agent runs as written: its module, its commands, its result.

The code blocks are read from README.md itself, so the README cannot drift from what works: the
Python block of "Your first agent" is saved as the file it names, and the shell blocks after it
are run in order, in an empty directory, as a newcomer would (only the ports are free ones
instead of 7233/8233, so the test can run beside anything). The agent names a hosted model and
the run is offline on its script, as the README says, so no API key is needed or used.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentrun.cli.devserver import free_port
from tests.cli.test_cli import wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(text) if lang == language]


def commands(shell: str) -> list[tuple[dict[str, str], list[str]]]:
    """Each line as (leading VAR=value assignments, argv), comments dropped."""
    parsed = []
    for line in shell.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        env = {}
        while "=" in words[0] and not words[0].startswith("-"):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        parsed.append((env, words))
    return parsed


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    return work


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_first_agent_runs_as_written(
    project: Path, processes: list[subprocess.Popen[str]]
) -> None:
    text = section("Your first agent")
    [module] = blocks(text, "python")
    # The agent names a real model; the run below plays its script offline instead.
    model = re.search(r'model="(\w+):', module)
    assert model is not None
    assert model.group(1) != "scripted"
    filename = re.search(r"Save this as `(\w+\.py)`", text)
    assert filename is not None
    (project / filename.group(1)).write_text(module)
    first, second = blocks(text, "bash")
    (server_env, server), (worker_env, worker), (run_env, run) = commands(first)
    [(review_env, review)] = commands(second)
    assert [server[:2], worker[:2], run[:3]] == [
        ["agentrun", "server"],
        ["agentrun", "worker"],
        ["agentrun", "run", "weather"],
    ]
    assert run[run.index("--model") + 1] == "scripted:scripted-1"

    port = free_port()
    # Nothing of this machine's: no Temporal or agentrun settings, and no model provider's key.
    mine = ("TEMPORAL_", "AGENTRUN_", "OPENAI_", "ANTHROPIC_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(mine)}
    env.update(TEMPORAL_ADDRESS=f"127.0.0.1:{port}", COLUMNS="200", PATH=f"{BIN}:/usr/bin:/bin")

    def spawn(extra: dict[str, str], argv: list[str], log: str) -> subprocess.Popen[str]:
        with (project.parent / log).open("w") as out:
            process = subprocess.Popen(
                argv, cwd=project, env={**env, **extra}, stdout=out, stderr=out, text=True
            )
        processes.append(process)
        return process

    def log(name: str) -> str:
        return (project.parent / name).read_text()

    spawn(server_env, [*server, "--port", str(port), "--ui-port", str(free_port())], "server")
    wait_until(lambda: "Press Ctrl-C" in log("server"), "the dev server", 60)
    spawn(worker_env, worker, "worker")
    wait_until(lambda: "worker polling" in log("worker"), "the worker", 60)
    waiting = spawn(run_env, run, "run")

    # `run --wait` says what the run waits for, and the command that approves it.
    def approve_line() -> str | None:
        return next(
            (line for line in log("run").splitlines() if "--decision approve" in line), None
        )

    shown = wait_until(approve_line, "run --wait to show the approve command", 60)
    run_id = re.search(r"review (\S+) --decision approve", shown)
    assert run_id is not None
    argv = [run_id.group(1) if word == "<RUN_ID>" else word for word in review]
    approved = subprocess.run(
        argv,
        cwd=project,
        env={**env, **review_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert approved.returncode == 0, approved.stderr

    assert waiting.wait(60) == 0, log("run")
    result = log("run")
    assert "COMPLETED" in result
    answer = re.search(r"\{.*\}", result, re.DOTALL)
    assert answer is not None
    assert json.loads(answer.group(0)) == {"answer": "sunny, 21 °C in Lyon"}
    assert "Traceback" not in log("worker") + result
