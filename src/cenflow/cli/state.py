"""Opening the local state (database, data directory) for administrative commands."""

from __future__ import annotations

from pathlib import Path

from cenflow.config import Settings
from cenflow.store.database import Database
from cenflow.store.migrate import upgrade


def open_database(data_dir: Path, database_url: str | None, *, long_running: bool = False) -> Database:
    """The state database, migrated to the current schema (safe beside a running server).

    ``long_running``: a process that serves until stopped (a collector, a worker), which
    checkpoints SQLite's log in the background (`store.checkpoints`)."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url, background_checkpoints=long_running)
    upgrade(database)
    return database
