"""The hand-written revisions build exactly the models' schema on both databases."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from agentrun.settings import Settings
from agentrun.store import migrate
from agentrun.store.db import UnsupportedDatabase, make_engine, normalize_url
from agentrun.store.models import STORE_TABLES


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
    assert head == "0008"
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
