"""Alembic's entry point, run by ``agentrun.store.migrate`` (never at import).

The URL arrives in ``config.attributes`` rather than the ini options, where ``%`` in a password
would be read as interpolation. Engines come from ``make_engine`` so migrations run with the
same SQLite pragmas and PostgreSQL driver as the application. Offline (SQL script) mode is not
offered: the initial revision is hand-written and tested against both databases instead.
"""

from alembic import context

from agentrun.store.db import make_engine

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL for the migration")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported: run agentrun db upgrade")
run_migrations_online()
