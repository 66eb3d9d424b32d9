"""``agentrun retention run`` as a user runs it, on a seeded SQLite store: a subprocess."""

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import func, select

from agentrun.store import migrate
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import AuditAnchorRow, AuditEventRow, RunRow, ToolCallRow
from tests.cli.test_cli_store import agentrun
from tests.support.retention import EVENTS, PREFIX_END, Seeded, seed

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
NOW_ARG = "2026-01-15T12:00:00Z"


def seeded_store(tmp_path: Path) -> tuple[str, Seeded]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s, s.begin():
            return url, seed(s, NOW)
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int, int, int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return tuple(  # type: ignore[return-value]
                s.exec(select(func.count()).select_from(m)).one()
                for m in (RunRow, ToolCallRow, AuditEventRow, AuditAnchorRow)
            )
    finally:
        engine.dispose()


def test_dry_run_names_what_would_go_and_changes_nothing(tmp_path: Path) -> None:
    url, ids = seeded_store(tmp_path)
    before = counts(url)
    assert before == (5, 3, EVENTS, 0)

    shown = agentrun("retention", "run", "--dry-run", "--now", NOW_ARG, "--database-url", url)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Retention purge at 2026-01-15 12:00:00 UTC: what would go (dry run)" in text
    assert f"business_90d runs that would go: {ids.old}" in text
    assert f"legal_7y runs that would go: {ids.ancient}" in text
    assert f"audit chain: {PREFIX_END} events through seq {PREFIX_END} would go" in text
    assert "2 expired audit events wait behind seq 9, which is kept longer" in text
    for kept in ids.kept:
        assert kept not in text
    assert "deleted:" not in text
    assert counts(url) == before

    as_json = agentrun(
        "retention", "run", "--dry-run", "--now", NOW_ARG, "--database-url", url, "--json"
    )
    assert as_json.returncode == 0, as_json.stderr
    result = json.loads(as_json.stdout)
    assert result["dry_run"] is True
    assert result["deleted"] == {}
    assert [c["runs"] for c in result["plan"]["classes"]] == [1, 1]
    assert counts(url) == before


def run_ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return set(s.exec(select(RunRow.run_id)).all())
    finally:
        engine.dispose()


def test_run_purges_then_finds_nothing(tmp_path: Path) -> None:
    url, ids = seeded_store(tmp_path)
    env = {"AGENTRUN_DATABASE_URL": url}
    first = agentrun("retention", "run", "--now", NOW_ARG, "--json", env=env)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["anchor_seq"] == PREFIX_END
    assert result["deleted"]["runs"] == 2
    assert result["deleted"]["audit_events"] == PREFIX_END
    assert counts(url) == (3, 1, EVENTS - PREFIX_END, 1)
    assert run_ids(url) == ids.kept

    again = agentrun("retention", "run", "--now", NOW_ARG, env=env)
    assert again.returncode == 0, again.stderr
    assert "audit chain: no event at its start has expired" in again.stdout
    assert "deleted: 0 run_transitions, 0 tool_calls" in again.stdout
    assert counts(url) == (3, 1, EVENTS - PREFIX_END, 1)

    verify = agentrun("audit", "verify", env=env)
    assert verify.returncode == 0, verify.stderr
    assert (
        verify.stdout.strip() == f"audit chain OK: {EVENTS - PREFIX_END} events after anchor seq 8"
    )


def test_bad_input_is_one_error_line(tmp_path: Path) -> None:
    url, _ = seeded_store(tmp_path)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    for args, expected in [
        (("--now", "2026-01-15T12:00:00", "--database-url", url), "needs a timezone"),
        (("--now", "yesterday", "--database-url", url), "is not an ISO 8601 time"),
        (("--database-url", fresh), "is at schema none"),
    ]:
        result = agentrun("retention", "run", "--dry-run", *args)
        assert result.returncode == 1, args
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ")
        assert expected in line
    ahead = agentrun("retention", "run", "--now", "2099-01-01T00:00Z", "--database-url", url)
    assert ahead.returncode == 1
    [line] = ahead.stderr.splitlines()
    assert line.startswith("error: --now: a purge as of 2099-01-01T00:00:00+00:00 is in the future")
    assert counts(url)[0] == 5
