"""``agentrun db`` and ``agentrun audit verify`` as a user runs them: a subprocess and its exit."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col

from agentrun.store import migrate
from agentrun.store.audit import AuditKind, append_event
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import AuditEventRow


def agentrun(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentrun.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def fill_and_tamper(url: str, events: int, tamper_seq: int | None) -> None:
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        with sessions() as s, s.begin():
            for i in range(events):
                append_event(
                    s,
                    kind=AuditKind.POLICY,
                    actor="system",
                    action="budget_check",
                    detail={"i": i},
                    at=datetime(2025, 1, 1, tzinfo=UTC),
                )
        if tamper_seq is not None:
            with sessions() as s, s.begin():
                stmt = update(AuditEventRow).where(col(AuditEventRow.seq) == tamper_seq)
                s.exec(stmt.values(detail={"i": 999}))
    finally:
        engine.dispose()


def test_upgrade_then_verify_clean_then_broken(fresh_url: str) -> None:
    current = agentrun("db", "current", "--database-url", fresh_url, "--json")
    assert current.returncode == 0, current.stderr
    assert json.loads(current.stdout)["revision"] is None

    upgraded = agentrun("db", "upgrade", env={"AGENTRUN_DATABASE_URL": fresh_url})
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from empty to revision {migrate.head_revision()}" in upgraded.stdout

    fill_and_tamper(fresh_url, events=5, tamper_seq=None)
    clean = agentrun("audit", "verify", "--database-url", fresh_url)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.strip() == "audit chain OK: 5 events"

    fill_and_tamper(fresh_url, events=0, tamper_seq=4)
    broken = agentrun("audit", "verify", env={"AGENTRUN_DATABASE_URL": fresh_url})
    assert broken.returncode == 1
    assert broken.stdout == ""
    assert broken.stderr.splitlines() == [
        "error: audit chain broken at seq 4: edited (hash mismatch)"
    ]

    as_json = agentrun("audit", "verify", "--database-url", fresh_url, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert (report["ok"], report["broken_seq"], report["reason"]) == (False, 4, "edited")
    assert len(as_json.stderr.splitlines()) == 1


def test_verify_before_upgrade_is_one_line_error(fresh_url: str) -> None:
    result = agentrun("audit", "verify", "--database-url", fresh_url)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: database ")
    assert line.endswith("is not initialised: run agentrun db upgrade")


def test_unreachable_or_unsupported_database_is_one_line_error() -> None:
    for url, expected in [
        ("postgresql://postgres@127.0.0.1:1/nowhere", "Connection refused"),
        ("mysql://localhost/agentrun", "unsupported database URL scheme 'mysql'"),
    ]:
        result = agentrun("db", "current", "--database-url", url)
        assert result.returncode == 1
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ")
        assert expected in line
