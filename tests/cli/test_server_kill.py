"""A killed ``agentrun server`` or ``agentrun demo`` takes its Temporal dev server with it.

The dev server runs in a session of its own (Ctrl-C reaches only the wrapper, which stops it in
order); without more, a wrapper that dies without stopping it (SIGKILL, the OOM killer) left it
serving the port, and the next ``agentrun server`` or ``demo`` found the port taken. Real
processes, a real SIGKILL, then the ports and the server's process itself are checked.
"""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from agentrun.cli.devserver import die_with_parent, free_port, port_in_use
from tests.cli.test_cli import AGENTRUN, cli_env, wait_until


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc: no psutil needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended meanwhile
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its entry waits for its parent's wait()


@pytest.mark.skipif(die_with_parent() is None, reason="PR_SET_PDEATHSIG is Linux-only")
@pytest.mark.parametrize("command", ["server", "demo"])
def test_sigkill_of_the_wrapper_stops_the_dev_server_and_frees_its_ports(
    tmp_path: Path, command: str
) -> None:
    port, ui_port = free_port(), free_port()
    env = cli_env(f"127.0.0.1:{port}", tmp_path / "data")
    with (tmp_path / f"{command}.out").open("wb") as out:
        wrapper = subprocess.Popen(
            [*AGENTRUN, command, "--port", str(port), "--ui-port", str(ui_port), "--json"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    servers: list[int] = []
    try:
        wait_until(lambda: (port_in_use(port) and port_in_use(ui_port)) or None, "the server", 60)
        servers += [pid for pid in _children(wrapper.pid) if "temporal" in _cmdline(pid)]
        assert len(servers) == 1, servers
        wrapper.send_signal(signal.SIGKILL)
        wrapper.wait(10)
        wait_until(lambda: not _alive(servers[0]) or None, "the dev server to exit", 20)
        wait_until(lambda: not (port_in_use(port) or port_in_use(ui_port)) or None, "the ports", 10)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
        for pid in servers:  # nothing of ours may outlive the test, even when it fails
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
