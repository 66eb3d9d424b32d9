"""The hand-written revisions build exactly the models' schema on both databases."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from agentrun.settings import Settings
from agentrun.store import migrate, repository
from agentrun.store.db import UnsupportedDatabase, make_engine, normalize_url, session_factory
from agentrun.store.models import STORE_TABLES, RunRow


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_engine_creation_never_migrates(fresh_url: str) -> None:
    assert table_names(fresh_url) == set()
    assert migrate.current(fresh_url) is None


def test_upgrade_creates_every_table_and_downgrade_removes_them(fresh_url: str) -> None:
    head = migrate.head_revision()
    assert head == "0009"
    assert migrate.upgrade(fresh_url) == head
    assert set(STORE_TABLES) <= table_names(fresh_url)
    assert migrate.upgrade(fresh_url) == head  # a second upgrade is a no-op
    assert migrate.downgrade(fresh_url, "0001") == "0001"
    assert set(STORE_TABLES) - table_names(fresh_url) == {
        "conversation_messages",
        "api_keys",
        "governance_events",
        "evaluations",
        "evaluation_cases",
        "faults",
        "rollouts",
    }
    assert migrate.downgrade(fresh_url, "base") is None
    assert table_names(fresh_url) <= {"alembic_version"}
    assert migrate.upgrade(fresh_url, "0001") == "0001"
    assert migrate.upgrade(fresh_url) == head
    assert set(STORE_TABLES) <= table_names(fresh_url)


def _run_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {column["name"] for column in inspect(conn).get_columns("runs")}
    finally:
        engine.dispose()


def test_team_columns_come_to_an_existing_store_null_and_filled_by_the_next_write(
    fresh_url: str,
) -> None:
    """0009 on a store with runs in it: the old rows stay, without parent or root, until their
    run's next hand-over writes them; a downgrade drops the columns and keeps the rows."""
    started = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert migrate.upgrade(fresh_url, "0008") == "0008"
    assert {"parent_run_id", "root_run_id"}.isdisjoint(_run_columns(fresh_url))
    before: dict[str, object] = {
        "run_id": "before-teams",
        "agent": "refund",
        "tenant_id": "acme",
        "user_id": "u-1",
        "request_id": "before-teams",
        "trace_id": "trace-1",
        "state": "COMPLETED",
        "started_at": started,
        "human_override": False,
        "input_tokens": 10,
        "output_tokens": 2,
        "cost_usd": 0.5,
    }
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:  # the 0008 schema's columns only
            conn.execute(RunRow.__table__.insert().values(before))  # type: ignore[attr-defined]
        assert migrate.upgrade(fresh_url) == "0009"
        with engine.connect() as conn:
            indexes = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("runs")}
        assert indexes["ix_runs_root_run_id"] == ["root_run_id"]
        sessions = session_factory(engine)
        with sessions() as session:
            row = repository.get_run(session, "before-teams")
            assert row is not None
            assert (row.parent_run_id, row.root_run_id, row.cost_usd) == (None, None, 0.5)
        with sessions() as session, session.begin():
            repository.upsert_run(
                session,
                run_id="before-teams",
                agent="refund",
                tenant_id="acme",
                user_id="u-1",
                request_id="before-teams",
                trace_id="trace-1",
                state="COMPLETED",
                started_at=started,
                cost_usd=0.5,
                root_run_id="before-teams",
            )
        with sessions() as session:
            row = repository.get_run(session, "before-teams")
            assert row is not None
            assert (row.parent_run_id, row.root_run_id) == (None, "before-teams")
    finally:
        engine.dispose()
    assert migrate.downgrade(fresh_url, "0008") == "0008"
    assert {"parent_run_id", "root_run_id"}.isdisjoint(_run_columns(fresh_url))
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT run_id, cost_usd FROM runs")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in kept] == [("before-teams", 0.5)]


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _parent: (
                        kind != "table" or name in STORE_TABLES
                    ),
                },
            )
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@db/agentrun", "postgresql+psycopg"),
        ("postgres://u@db/agentrun", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/agentrun", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_urls_map_to_psycopg_3(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_unsupported_urls_are_refused() -> None:
    with pytest.raises(UnsupportedDatabase, match="'mysql'"):
        make_engine("mysql://localhost/agentrun")


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).effective_database_url() == (
        f"sqlite:///{tmp_path / 'agentrun.db'}"
    )
    url = "postgresql://postgres@127.0.0.1/agentrun"
    assert Settings(data_dir=tmp_path, database_url=url).effective_database_url() == url
