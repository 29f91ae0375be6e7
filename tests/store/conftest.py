"""A migrated database on each engine: SQLite in the test's directory, and a fresh PostgreSQL
database on the server the test session starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cenflow.store.database import Database
from cenflow.store.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def each_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'state.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    instance = Database(url)
    upgrade(instance)
    yield instance
    instance.dispose()
