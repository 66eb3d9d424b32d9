"""A worker pays in memory for what it imports: the MCP SDK and the web stack it brings (about
30 MB) load only when an agent declares an MCP server (tests/activities/test_mcp.py covers those
workers). Checked in a fresh interpreter, where nothing else has imported them yet."""

import subprocess
import sys

PROBE = """
import sys
from agentrun.cli.app import app
from agentrun.settings import Settings
from agentrun.workers.worker import _mcp_sessions, build_registry

assert _mcp_sessions(build_registry(Settings())) is None
print(sorted(m for m in ("mcp", "starlette", "uvicorn", "openai", "anthropic") if m in sys.modules))
"""


def test_a_worker_without_mcp_servers_or_providers_does_not_import_their_sdks() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"


SERVING = """
import sys
from agentrun.activities.providers.serve import serve_providers

served = serve_providers({})
print(sorted(m for m in ("openai", "anthropic", "scipy") if m in sys.modules))
import agentrun.workers.worker
print(sorted(m for m in ("openai", "anthropic", "scipy") if m in sys.modules))
print(sorted(served.unavailable))
"""


def test_an_unconfigured_provider_and_the_paired_tests_cost_a_worker_no_imports() -> None:
    """Each hosted SDK costs a starting worker about a second, scipy about as much: a provider
    with none of its variables set is not imported at all, and scoring an evaluation needs no
    scipy (only `eval compare` does)."""
    probe = subprocess.run(
        [sys.executable, "-c", SERVING], capture_output=True, text=True, timeout=60, check=False
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n")[:3] == ["[]", "[]", "['anthropic', 'openai']"]
