"""``agentrun codec keygen`` and the ``--ui-codec-endpoint`` option, mounted as cli.py mounts
them (the codec-server command itself runs as a process in test_codec_server.py)."""

import json

import typer
from typer.testing import CliRunner

from agentrun.cli import codec as cli_codec
from agentrun.codec.keys import parse_keys

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.add_typer(cli_codec.codec_app, name="codec")


@app.command()
def server(*, ui_codec_endpoint: cli_codec.UiCodecEndpointOpt = None) -> None:
    """Stands in for ``agentrun server``: echoes the endpoint it would hand the dev server."""
    typer.echo(json.dumps({"ui_codec_endpoint": ui_codec_endpoint}))


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_keygen_prints_one_entry_that_settings_accept() -> None:
    code, stdout, stderr = invoke("codec", "keygen")
    assert code == 0
    [entry] = stdout.split()
    [(kid, key)] = parse_keys(entry).items()
    assert kid.startswith("k")
    assert len(key) == 32
    assert "AGENTRUN_CODEC_KEYS" in stderr
    assert f"AGENTRUN_CODEC_ACTIVE_KEY={kid}" in stderr


def test_keygen_json_and_a_chosen_kid() -> None:
    code, stdout, _ = invoke("codec", "keygen", "--kid", "ops-2025", "--json")
    assert code == 0
    body = json.loads(stdout)
    assert body["kid"] == "ops-2025"
    assert list(parse_keys(body["entry"])) == ["ops-2025"]


def test_keygen_refuses_a_bad_kid_in_one_line() -> None:
    code, stdout, stderr = invoke("codec", "keygen", "--kid", "no spaces")
    assert code == 1
    assert stdout == ""
    assert stderr.startswith("error: --kid: key id 'no spaces' must be")
    assert len(stderr.strip().splitlines()) == 1


def test_ui_codec_endpoint_option_checks_the_url() -> None:
    code, stdout, _ = invoke("server", "--ui-codec-endpoint", "http://127.0.0.1:8081/")
    assert code == 0
    assert json.loads(stdout) == {"ui_codec_endpoint": "http://127.0.0.1:8081"}
    assert json.loads(invoke("server")[1]) == {"ui_codec_endpoint": None}
    code, _, stderr = invoke("server", "--ui-codec-endpoint", "127.0.0.1:8081")
    assert code == 2
    assert "is not an http(s) URL" in " ".join(stderr.replace("│", " ").split())
