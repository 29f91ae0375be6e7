"""The Alembic migrations build exactly the schema ``cenflow.store.tables.metadata`` declares, on
SQLite and on PostgreSQL (the real server the test session starts): after ``upgrade head``,
Alembic's autogenerate comparison finds nothing to change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from cenflow.store.database import Database
from cenflow.store.migrate import current_revision, head_revision, upgrade
from cenflow.store.tables import metadata
from tests.postgres import Databases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'schema.db'}")
        yield database
        database.dispose()
        return
    postgres: Databases = request.getfixturevalue("postgres")
    with postgres.fresh("schema") as url:
        database = Database(url)
        yield database
        database.dispose()


def test_upgrade_head_gives_the_declared_schema(empty_database: Database) -> None:
    upgrade(empty_database)
    assert current_revision(empty_database) == head_revision()
    with empty_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False})
        differences = compare_metadata(context, metadata)
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_upgrade_is_idempotent(empty_database: Database) -> None:
    upgrade(empty_database)
    upgrade(empty_database)
    assert current_revision(empty_database) == head_revision()


def test_the_comparison_notices_a_schema_drift(empty_database: Database) -> None:
    """Guards the test above against comparing nothing: a dropped index is reported."""
    upgrade(empty_database)
    with empty_database.engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_flowlogs_status_seq")
    with empty_database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [(d[0], d[1].name) for d in differences] == [("add_index", "ix_flowlogs_status_seq")]
