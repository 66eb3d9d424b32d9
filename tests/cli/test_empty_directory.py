"""A newcomer's first three commands, in an empty directory, with nothing set up beforehand.

``agentrun server``, then ``agentrun worker``, then ``agentrun run``: the run reaches REVIEWING
with no other step. The worker brings the embedded SQLite store to the current schema itself
and says so in one line; a PostgreSQL store stays an explicit step (``--migrate``).
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentrun.cli.devserver import free_port
from agentrun.store import migrate
from tests.cli.test_cli import wait_until
from tests.support.store_fixtures import fresh_pg_url

AGENTRUN = str(Path(sys.executable).parent / "agentrun")
GATED_REFUND = {"order_id": "1001", "reason": "arrived broken", "amount": 250}


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    stderr: Path

    def text(self) -> str:
        return self.stderr.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def clean_env(**extra: str) -> dict[str, str]:
    """The user's environment with nothing of ours set: defaults only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AGENTRUN_"))}
    env.update(COLUMNS="200", **extra)
    return env


def spawn(cwd: Path, env: dict[str, str], name: str, *args: str) -> Process:
    stderr = cwd.parent / f"{name}.out"  # stdout and stderr, as a terminal shows them
    with stderr.open("wb") as err:
        popen = subprocess.Popen([AGENTRUN, *args], cwd=cwd, env=env, stdout=err, stderr=err)
    return Process(popen, stderr)


def wait_for_line(process: Process, fragment: str, what: str) -> None:
    def seen() -> bool:
        if process.popen.poll() is not None:
            raise AssertionError(f"{what} exited {process.popen.returncode}: {process.text()}")
        return fragment in process.text()

    wait_until(seen, what, 60)


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    return work


@pytest.fixture
def server(empty_dir: Path) -> Iterator[str]:
    port = free_port()
    process = spawn(
        empty_dir,
        clean_env(),
        "server",
        "server",
        "--port",
        str(port),
        "--ui-port",
        str(free_port()),
    )
    try:
        wait_for_line(process, "Press Ctrl-C", "the dev server")
        yield f"127.0.0.1:{port}"
    finally:
        process.stop()


def test_server_worker_run_from_an_empty_directory_reaches_reviewing(
    empty_dir: Path, server: str
) -> None:
    env = clean_env(TEMPORAL_ADDRESS=server)
    worker = spawn(empty_dir, env, "worker", "worker")
    try:
        wait_for_line(worker, "worker polling", "the worker")
        run = subprocess.run(
            [AGENTRUN, "run", "refund", "--input", json.dumps(GATED_REFUND), "--json"],
            cwd=empty_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        run_id = json.loads(run.stdout)["run_id"]

        def reviewing() -> dict[str, object] | None:
            status = subprocess.run(
                [AGENTRUN, "status", run_id, "--json"],
                cwd=empty_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            body: dict[str, object] = json.loads(status.stdout)
            return body if body["state"] == "REVIEWING" else None

        pending = wait_until(reviewing, "the run to wait for a review")["pending_review"]
        assert isinstance(pending, dict)
        assert pending["tool"] == "issue_refund"
    finally:
        worker.stop()

    log = worker.text()
    assert "unexpected" not in log
    assert "Traceback" not in log
    # Alembic's INFO chatter stays out; the one line that says what happened stays in.
    assert "alembic" not in log
    migrated = [line for line in log.splitlines() if "run store migrated" in line]
    assert len(migrated) == 1, log
    assert json.loads(migrated[0])["to_schema"] == migrate.head_revision()
    assert (empty_dir / ".agentrun" / "agentrun.db").is_file()


def test_a_postgresql_store_is_migrated_only_when_asked(empty_dir: Path, server: str) -> None:
    with fresh_pg_url() as url:
        env = clean_env(TEMPORAL_ADDRESS=server, AGENTRUN_DATABASE_URL=url)
        refused = subprocess.run(
            [AGENTRUN, "worker"],
            cwd=empty_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith("error: run store postgresql://"), lines
        assert "agentrun db upgrade" in lines[0]
        assert "--migrate" in lines[0]
        assert "unexpected" not in lines[0]
        assert migrate.current(url) is None

        worker = spawn(empty_dir, env, "pg-worker", "worker", "--migrate")
        try:
            wait_for_line(worker, "worker polling", "the worker with --migrate")
        finally:
            worker.stop()
        assert migrate.current(url) == migrate.head_revision()
