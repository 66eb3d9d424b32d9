"""Store fixtures over both databases: SQLite in a temp file, PostgreSQL on 127.0.0.1:5432.

A pytest plugin (the root conftest loads it), so the store's tests and the CLI's share it.

PostgreSQL is not optional: CI starts it, so when it is unreachable every PostgreSQL case
errors instead of skipping, and a green run always means both databases were exercised.
"""

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, text
from sqlmodel import Session

from agentrun.store import migrate
from agentrun.store.db import make_engine, session_factory
from agentrun.store.models import STORE_TABLES

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"
BACKENDS = ["sqlite", "postgresql"]


def create_pg_database() -> str:
    name = f"agentrun_test_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as err:
        pytest.fail(
            f"PostgreSQL is required on 127.0.0.1:5432 (user postgres, trust auth): {err}; start "
            "it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            pytrace=False,
        )
    return name


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def fresh_pg_url() -> Iterator[str]:
    name = create_pg_database()
    try:
        yield PG_URL.format(name=name)
    finally:
        drop_pg_database(name)


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """One migrated database for the whole session; tests empty it rather than recreate it."""
    with fresh_pg_url() as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database nobody has migrated yet."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with fresh_pg_url() as url:
        yield url


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the test's own, for a worker to record runs in."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'record.db'}"
        migrate.upgrade(url)
        yield url
        return
    with fresh_pg_url() as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated, empty database."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        migrate.upgrade(url)
        return url
    url = str(request.getfixturevalue("pg_session_url"))
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(STORE_TABLES)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> Callable[[], Session]:
    return session_factory(engine)
