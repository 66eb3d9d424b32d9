"""Test workers need a migrated run store: migrations are never applied implicitly."""

from pathlib import Path

from agentrun.store.migrate import upgrade
from agentrun.workers.settings import Settings


def migrate_data_dir(data_dir: Path) -> str:
    """Migrate the default SQLite store of ``data_dir`` (what a worker there will open)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = Settings(data_dir=data_dir).effective_database_url()
    upgrade(url)
    return url
