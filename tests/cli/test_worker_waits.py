"""A worker started before its Temporal server waits for it (deployments start both at once);
one that never reaches it gives up after ``AGENTRUN_TEMPORAL_CONNECT_WAIT_S`` with one line."""

import subprocess
import time
from pathlib import Path

from agentrun.cli.devserver import DevServer, free_port
from tests.cli.test_cli import AGENTRUN, cli_env, one_error_line
from tests.support.store import migrate_data_dir


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen(
            [*AGENTRUN, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


def test_a_worker_started_before_the_server_polls_once_it_is_up(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(f"127.0.0.1:{port}", tmp_path / "data")
    migrate_data_dir(tmp_path / "data")
    log = tmp_path / "worker.err"
    worker = _worker(env, log)
    try:
        time.sleep(3)  # refused a few times meanwhile
        assert worker.poll() is None, log.read_text()
        with DevServer(port=port, headless=True, log_file=tmp_path / "server.log"):
            deadline = time.monotonic() + 60
            while "worker polling" not in log.read_text():
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            said = log.read_text()
            assert '"event": "waiting for Temporal"' in said, said
            assert "connection refused" in said, said
    finally:
        worker.terminate()
        worker.wait(30)


def test_a_worker_gives_up_after_its_wait_with_one_line(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {**cli_env(address, tmp_path), "AGENTRUN_TEMPORAL_CONNECT_WAIT_S": "2"}
    started = time.monotonic()
    result = subprocess.run(
        [*AGENTRUN, "worker"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    took = time.monotonic() - started
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"error: cannot reach Temporal at {address}: connection refused "
        "(is `agentrun server` running?) (tried for 2 s)"
    ), result.stderr
    assert 1.5 < took < 30, took


def test_a_worker_told_not_to_wait_fails_at_once(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {**cli_env(address, tmp_path), "AGENTRUN_TEMPORAL_CONNECT_WAIT_S": "0"}
    result = subprocess.run(
        [*AGENTRUN, "worker"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert one_error_line(result) == (
        f"error: cannot reach Temporal at {address}: connection refused "
        "(is `agentrun server` running?)"
    )
