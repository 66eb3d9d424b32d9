"""The container deployment as code: docker-compose.yml, the files it mounts, and the Dockerfile.

No container engine runs here, so nothing is started. Compose itself validates the file
(`docker-compose config`, Debian's package, no engine needed), and the files are read to check
what would otherwise only fail at run time, or never visibly: that they agree with each other
and with agentrun (ports, endpoints, mounts, search attributes), that every image is pinned,
every long-running service has a healthcheck, workers wait for the migration and can scale,
and that no secret is committed.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError

from agentrun.codec.keys import new_key_line
from agentrun.contracts.names import SEARCH_ATTRIBUTES
from agentrun.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
COLLECTOR = DEPLOY / "otel-collector.yaml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
GRAFANA = DEPLOY / "grafana"

PLACEHOLDER = "CHANGE_ME"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEYS?$|API_KEY")
# $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME
VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")
ONE_SHOT = "service_completed_successfully"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as Compose reads an env file (no quotes are used in ours)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution, applied to every string of a loaded file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        dollar, name, operator, argument, bare = match.groups()
        if dollar:
            return "$"
        current = env.get(name or bare)
        if operator in (":-", "-"):
            use_default = not current if operator == ":-" else current is None
            return argument if use_default else str(current)
        if operator in (":?", "?") and (not current if operator == ":?" else current is None):
            raise ValueError(f"${{{name}}} is required: {argument}")
        return current or ""

    return VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(env: dict[str, str]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    resolved: dict[str, Any] = interpolate(loaded, env)
    return resolved


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    value = service.get("environment", {})
    if isinstance(value, list):
        return dict(item.split("=", 1) for item in value)
    return {key: str(item) for key, item in value.items()}


def host_port(address: str) -> tuple[str, int]:
    """``host:port``, ``scheme://host:port`` or ``0.0.0.0:port``."""
    split = urlsplit(address if "//" in address else f"//{address}")
    assert split.hostname is not None, address
    assert split.port is not None, address
    return split.hostname, split.port


def published(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port, from ``[ip:]host:container`` entries."""
    ports = {}
    for entry in service.get("ports", []):
        *_, host, container = str(entry).split(":")
        ports[int(container)] = int(host)
    return ports


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to the repository) of the service's bind mounts."""
    found = {}
    for entry in service.get("volumes", []):
        source, target, *_ = str(entry).split(":")
        if source.startswith("."):
            found[target] = str((ROOT / source).resolve().relative_to(ROOT))
    return found


def one_shots(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services another one waits for to exit 0."""
    return {
        name
        for service in services.values()
        for name, condition in service.get("depends_on", {}).items()
        if isinstance(condition, dict) and condition.get("condition") == ONE_SHOT
    }


def test_compose_validates_the_file() -> None:
    """Compose's own check, with the variables of .env.example and nothing from this process's
    environment (where a stray POSTGRES_PASSWORD would hide a missing one)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    validated = yaml.safe_load(result.stdout)
    # Our reading of the file (the other tests') is Compose's.
    ours = interpolate(
        yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), read_env_file(ENV_EXAMPLE)
    )
    assert {name: s["image"] for name, s in validated["services"].items()} == {
        name: s["image"] for name, s in ours["services"].items()
    }


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
        if "build" in service:  # agentrun's own image, built from the Dockerfile
            continue
        # A release: PostgreSQL's are major.minor, the others' major.minor.patch.
        assert re.fullmatch(r"v?\d+(\.\d+)+(-[a-z0-9.]+)?", tag), (
            f"{name}: {image} is not pinned to a release"
        )


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    jobs = one_shots(services)
    assert jobs == {"temporal-schema", "temporal-setup", "migrate"}
    for name, service in services.items():
        if name in jobs:
            assert service.get("restart") == "no", f"one-shot {name} must not be restarted"
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} has its healthcheck disabled"
        assert service.get("restart") == "unless-stopped", name


def test_workers_wait_for_the_migration_and_temporal(services: dict[str, dict[str, Any]]) -> None:
    assert services["migrate"]["command"] == ["db", "upgrade"]
    needs = services["worker"]["depends_on"]
    assert needs["migrate"]["condition"] == ONE_SHOT
    assert needs["temporal-setup"]["condition"] == ONE_SHOT
    assert services["codec-server"]["depends_on"]["migrate"]["condition"] == ONE_SHOT
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == ONE_SHOT
    # The store the migration migrates is the one workers and the codec server use.
    url = environment(services["migrate"])["AGENTRUN_DATABASE_URL"]
    assert url.startswith("postgresql://")
    assert urlsplit(url).hostname in services
    for name in ("worker", "codec-server"):
        assert environment(services[name])["AGENTRUN_DATABASE_URL"] == url, name


def test_workers_environment_is_one_agentrun_accepts(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every AGENTRUN_ variable the workers get names a setting (the settings ignore unknown
    names, so a typo would silently do nothing), and the values validate."""
    worker = environment(services["worker"])
    for name in worker:
        if name.startswith("AGENTRUN_"):
            field = name.removeprefix("AGENTRUN_").lower()
            assert field in Settings.model_fields, f"{name} is no agentrun setting"
    for name in list(os.environ):
        if name.startswith(("AGENTRUN_", "TEMPORAL_", "OTEL_")):
            monkeypatch.delenv(name)
    for name, value in worker.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTRUN_CODEC_KEYS", new_key_line())  # the placeholder, filled in
    settings = Settings()
    assert settings.temporal_address == "temporal:7233"
    assert settings.otel_exporter == "otlp-grpc"
    assert settings.metrics_bind == worker["AGENTRUN_METRICS_BIND"]
    assert settings.effective_database_url() == worker["AGENTRUN_DATABASE_URL"]


def test_workers_can_scale(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    for fixed in ("container_name", "hostname", "ports"):
        assert fixed not in worker, f"worker sets {fixed}: `--scale worker=N` would conflict"
    assert worker["command"] == ["worker"]
    assert environment(worker)["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_worker_healthcheck_asks_readiness_on_the_health_port(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]
    _, port = host_port(environment(worker)["AGENTRUN_HEALTH_BIND"])
    probe = " ".join(worker["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/readyz" in probe


def test_env_example_commits_no_secret(compose: dict[str, Any], env: dict[str, str]) -> None:
    secrets = {key: value for key, value in env.items() if SECRET_NAME.search(key)}
    assert {"POSTGRES_PASSWORD", "AGENTRUN_CODEC_KEYS", "GRAFANA_ADMIN_PASSWORD"} <= set(secrets)
    for key, value in secrets.items():
        assert value in ("", PLACEHOLDER), f"{key} in .env.example holds a value: {value!r}"
    # Every variable the compose file requires is in .env.example, so `config` names them all.
    required = set(re.findall(r"\$\{(\w+):?\?", COMPOSE.read_text(encoding="utf-8")))
    assert required <= set(env), required - set(env)
    # A forgotten placeholder stops workers with an error instead of running unencrypted.
    with pytest.raises(ValidationError, match="codec_keys"):
        Settings(codec_keys=env["AGENTRUN_CODEC_KEYS"])


def test_secrets_stay_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored


def test_prometheus_scrapes_the_workers_and_temporal(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    _, metrics_port = host_port(environment(services["worker"])["AGENTRUN_METRICS_BIND"])
    (discovery,) = jobs["agentrun-worker"]["dns_sd_configs"]
    assert discovery["names"] == ["worker"]  # the compose service: every replica's A record
    assert discovery["type"] == "A"
    assert discovery["port"] == metrics_port

    _, server_port = host_port(environment(services["temporal"])["PROMETHEUS_ENDPOINT"])
    (targets,) = jobs["temporal-server"]["static_configs"]
    assert targets["targets"] == [f"temporal:{server_port}"]

    # The rule files it loads are in the folder mounted where it reads its configuration.
    prometheus = services["prometheus"]
    config_file = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_dir = str(Path(config_file.partition("=")[2]).parent)
    assert mounts(prometheus)[config_dir] == str(PROMETHEUS.parent.relative_to(ROOT))
    for rules in config["rule_files"]:
        assert (PROMETHEUS.parent / rules).is_file(), rules


def test_prometheus_accepts_its_config() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (.ci/run installs Debian's prometheus)")
    result = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workers_send_spans_to_the_collector_and_it_to_jaeger(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = environment(services["worker"])
    assert worker["AGENTRUN_OTEL_EXPORTER"] == "otlp-grpc"
    host, port = host_port(worker["AGENTRUN_OTEL_ENDPOINT"])
    assert host == "otel-collector"
    assert host in services

    config = yaml.safe_load(COLLECTOR.read_text(encoding="utf-8"))
    _, receiver_port = host_port(config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    assert port == receiver_port
    (exporter,) = config["service"]["pipelines"]["traces"]["exporters"]
    jaeger_host, jaeger_port = host_port(config["exporters"][exporter]["endpoint"])
    assert jaeger_host == "jaeger"
    assert jaeger_host in services
    assert jaeger_port == 4317  # Jaeger's OTLP gRPC receiver

    collector = services["otel-collector"]
    config_path = collector["command"][collector["command"].index("--config") + 1]
    assert mounts(collector)[config_path] == str(COLLECTOR.relative_to(ROOT))
    # Its healthcheck asks the health extension's port.
    _, health_port = host_port(config["extensions"]["healthcheckv2"]["http"]["endpoint"])
    assert f":{health_port}/status" in " ".join(collector["healthcheck"]["test"])


def test_grafana_provisioning_reads_the_mounted_folders(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    mounted = mounts(grafana)
    for kind in ("datasources", "dashboards"):
        target = f"/etc/grafana/provisioning/{kind}"
        assert mounted[target] == f"deploy/grafana/provisioning/{kind}"

    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "dashboards.yml").read_text(encoding="utf-8")
    )["providers"]
    for provider in providers:
        assert mounted[provider["options"]["path"]] == "deploy/grafana/dashboards"
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert mounted[str(Path(home).parent)] == "deploy/grafana/dashboards"

    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text(encoding="utf-8")
    )["datasources"]
    assert {source["type"] for source in datasources} == {"prometheus", "jaeger"}
    for source in datasources:
        host, port = host_port(source["url"])
        assert host in services, source["url"]
        assert port in published(services[host]), f"{source['url']}: not {host}'s port"


def test_web_ui_and_codec_server_agree(services: dict[str, dict[str, Any]]) -> None:
    ui, codec = services["temporal-ui"], services["codec-server"]
    ui_env = environment(ui)
    command = codec["command"]

    codec_port = int(command[command.index("--port") + 1])
    endpoint = urlsplit(ui_env["TEMPORAL_CODEC_ENDPOINT"])
    assert endpoint.port == published(codec)[codec_port], "the UI sends browsers elsewhere"
    assert ui_env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"  # the login session

    origin = urlsplit(command[command.index("--ui-origin") + 1])
    assert origin.port == published(ui)[8080], "the codec server refuses the UI's origin"
    assert origin.hostname == endpoint.hostname, "the session cookie is sent within one site"
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 -- in its container


def test_temporal_setup_registers_agentruns_search_attributes(
    services: dict[str, dict[str, Any]],
) -> None:
    setup = services["temporal-setup"]
    registered = dict(
        entry.split("=") for entry in environment(setup)["SEARCH_ATTRIBUTES"].split(",")
    )
    expected = {
        key.name: "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))
        for key in SEARCH_ATTRIBUTES
    }
    assert registered == expected
    assert (
        environment(setup)["TEMPORAL_NAMESPACE"]
        == environment(services["worker"])["TEMPORAL_NAMESPACE"]
    )


@pytest.mark.parametrize("service", ["temporal-schema", "temporal-setup"])
def test_setup_scripts_are_mounted_and_parse(
    services: dict[str, dict[str, Any]], service: str
) -> None:
    shell, script = services[service]["entrypoint"]
    folder, _, name = script.rpartition("/")
    path = ROOT / mounts(services[service])[folder] / name
    assert path.is_file(), script
    result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert shell == "/bin/sh"


def dockerfile_stages() -> list[list[str]]:
    """Instructions of each stage (continuation lines joined), in order."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    stages: list[list[str]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_image_runs_unprivileged_without_build_tools() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a builder stage and a final stage"
    final = stages[-1]
    users = [line.split(None, 1)[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER: it would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    for line in final:
        assert not re.search(r"\b(gcc|g\+\+|build-essential|make|clang)\b", line), line
    assert 'ENTRYPOINT ["agentrun"]' in final
    assert 'CMD ["worker"]' in final
    # The base image is pinned to a patch release, like the compose file's images.
    assert re.search(r"python:3\.11\.\d+-slim", DOCKERFILE.read_text(encoding="utf-8"))
