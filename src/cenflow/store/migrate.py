"""Bringing a database to the current schema (``cenflow db upgrade``, and every start)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from cenflow.store.database import Database

# PostgreSQL advisory lock id: replicas starting together take turns migrating.
_MIGRATION_LOCK = 0x63656E66


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("cenflow.store").joinpath("migrations")))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    config = alembic_config()
    with database.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK})
                connection.commit()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
