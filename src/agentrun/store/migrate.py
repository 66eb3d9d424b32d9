"""Schema migrations, applied when asked, never on import.

A shared store (PostgreSQL) changes schema as a deliberate step: ``agentrun db upgrade``, or
``agentrun worker --migrate`` on the one worker a deployment chooses. A SQLite store is one
machine's own, so its worker upgrades it at start-up; a second worker racing it finds the schema
already current (``workers.worker.open_store``).
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from agentrun.store.db import make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """A Config built in code: the package ships no alembic.ini to find or to keep in sync."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Through attributes, not ini options: configparser would read "%" in a password.
    config.attributes["database_url"] = normalize_url(url).render_as_string(hide_password=False)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def known_revisions() -> frozenset[str]:
    """Every revision this build ships: a store at another one was migrated by a newer build."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.revision for script in scripts.walk_revisions())


def upgrade(url: str, revision: str = "head") -> str | None:
    """Bring the schema to ``revision``; returns the revision the database is at afterwards."""
    command.upgrade(alembic_config(url), revision)
    return current(url)


def downgrade(url: str, revision: str) -> str | None:
    command.downgrade(alembic_config(url), revision)
    return current(url)


def current(url: str) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
