"""A real Prometheus (Debian's binary) scrapes a running worker with the project's scrape config
and evaluates the project's alert rules: after known runs, a rule's query returns what those
runs imply and the alerts that must fire do, and no others.

The config is deploy/prometheus/prometheus.yml as docker-compose.yml mounts it, with what only a
container network has replaced: the worker job keeps its name, its relabelling and the rule
files, but scrapes this test's worker on 127.0.0.1 instead of the service name's replicas, every
second; the jobs for other services are left out. Prometheus runs on a free port with its
storage in a temporary directory, and is stopped at the end.
"""

import asyncio
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from agentrun.contracts.states import RunState
from tests.deploy.test_metrics_contract import run_to_end
from tests.support.prometheus import free_port, metered_worker
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "deploy" / "prometheus"
PROJECT_CONFIG = CONFIG_DIR / "prometheus.yml"
RULES = CONFIG_DIR / "rules.yml"
WORKER_PORT = 9464  # the port the project's config scrapes workers on (AGENTRUN_METRICS_BIND)
PROMETHEUS = shutil.which("prometheus")

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus not installed (Debian: apt-get install prometheus)"
)

Result = list[dict[str, Any]]


def _scrapes_workers(job: dict[str, Any]) -> bool:
    ports = [sd.get("port") for sd in job.get("dns_sd_configs", [])]
    targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
    return WORKER_PORT in ports or any(t.endswith(f":{WORKER_PORT}") for t in targets)


def local_config(project: dict[str, Any], target: str) -> dict[str, Any]:
    """The project's config, scraping ``target`` as its worker job, every second."""
    jobs = [job for job in project["scrape_configs"] if _scrapes_workers(job)]
    assert len(jobs) == 1, f"one job scrapes workers on :{WORKER_PORT}, not {len(jobs)}"
    job = {k: v for k, v in jobs[0].items() if not k.endswith("_sd_configs")}
    job |= {"static_configs": [{"targets": [target]}], "scrape_interval": "1s"}
    job["scrape_timeout"] = "1s"
    rule_files = [str(CONFIG_DIR / name) for name in project.get("rule_files", [])]
    assert str(RULES) in rule_files, f"{PROJECT_CONFIG} does not load {RULES.name}"
    interval = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    return {
        "global": {**project.get("global", {}), **interval},
        "rule_files": rule_files,
        "scrape_configs": [job],
    }


@contextmanager
def running_prometheus(config: dict[str, Any], workdir: Path) -> Iterator[int]:
    """Prometheus on a free port (which it yields), its storage in ``workdir``."""
    assert PROMETHEUS is not None
    workdir.mkdir(parents=True)
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while not _ready(port):
            assert process.poll() is None, f"prometheus exited: {log_path.read_text()}"
            assert time.monotonic() < deadline, f"prometheus not ready: {log_path.read_text()}"
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    return body["data"]


async def query(prometheus: int, expr: str) -> Result:
    params = urllib.parse.urlencode({"query": expr})
    data = await asyncio.to_thread(_get, prometheus, f"/api/v1/query?{params}")
    result: Result = data["result"]
    return result


async def alerts(prometheus: int) -> set[tuple[str, str, str]]:
    """(alert, its agent or tool, pending|firing) of every active alert."""
    data = await asyncio.to_thread(_get, prometheus, "/api/v1/alerts")
    return {
        (a["labels"]["alertname"], a["labels"].get("agent") or a["labels"]["tool"], a["state"])
        for a in data["alerts"]
    }


def by_agent(result: Result) -> dict[str, float]:
    return {r["metric"]["agent"]: float(r["value"][1]) for r in result}


def each_agent_at(expected: dict[str, float]) -> Callable[[Result], bool]:
    return lambda result: by_agent(result) == expected


def alert_expr(name: str) -> str:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    (expr,) = [r["expr"] for g in groups for r in g["rules"] if r.get("alert") == name]
    return str(expr)


def test_the_local_config_keeps_the_project_job_and_rules() -> None:
    config = local_config(yaml.safe_load(PROJECT_CONFIG.read_text()), "127.0.0.1:1")
    (job,) = config["scrape_configs"]
    assert job["static_configs"] == [{"targets": ["127.0.0.1:1"]}]
    assert not [k for k in job if k.endswith("_sd_configs")]
    assert config["rule_files"] == [str(RULES)]


async def test_prometheus_scrapes_a_worker_and_its_rules_fire(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    project = yaml.safe_load(PROJECT_CONFIG.read_text())
    async with metered_worker(temporal_env, tmp_path / "worker") as worker:
        config = local_config(project, f"127.0.0.1:{worker.port}")
        job = config["scrape_configs"][0]["job_name"]
        with running_prometheus(config, tmp_path / "prometheus") as prometheus:
            up = await eventually(
                lambda: query(prometheus, f'up{{job="{job}"}}'),
                lambda r: [float(s["value"][1]) for s in r] == [1.0],
            )
            assert up[0]["metric"]["instance"] == f"127.0.0.1:{worker.port}"

            # Two rounds, each seen by a scrape before the next: a counter is born at its first
            # value, so increase() needs a second one to see a rise.
            finished = f'sum by (agent) (agentrun_runs_finished_total{{job="{job}"}})'
            for count in (1.0, 2.0):
                states = await asyncio.gather(
                    run_to_end(worker.runs, "echo", {"key": "p"}),
                    run_to_end(worker.runs, "strict", {"key": "p"}),
                    run_to_end(worker.runs, "triage-deny", {"customer_id": "c-2"}),
                )
                assert list(states) == [RunState.COMPLETED, RunState.FAILED, RunState.FAILED]
                await eventually(
                    lambda: query(prometheus, finished),
                    each_agent_at({"echo": count, "strict": count, "triage-deny": count}),
                )

            # The error-rate rule's own query: both failing agents at 100 %, echo (0 %) absent.
            error_rate = await query(prometheus, alert_expr("AgentRunErrorRateHigh"))
            assert by_agent(error_rate) == {"strict": 1.0, "triage-deny": 1.0}
            assert {r["metric"]["version"] for r in error_rate} == {"1"}

            # The rules as Prometheus evaluates them: the policy denial fires at once, the error
            # rate and strict_read's failures (100 % of attempts) wait out their `for`.
            await eventually(
                lambda: alerts(prometheus),
                lambda found: (
                    found
                    == {
                        ("AgentRunErrorRateHigh", "strict", "pending"),
                        ("AgentRunErrorRateHigh", "triage-deny", "pending"),
                        ("AgentRunToolFailureRateHigh", "strict_read", "pending"),
                        ("AgentRunPolicyDenied", "triage-deny", "firing"),
                        # its lethal-trifecta rule denied a send: a security event
                        ("AgentRunSecurityEvent", "triage-deny", "firing"),
                    }
                ),
            )
