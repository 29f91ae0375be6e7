"""Fixtures for the IAM unit tests: a migrated database and a secret box.

The database is SQLite in the test's directory.  With ``CENFLOW_TEST_POSTGRES_URL`` set (a URL
of a PostgreSQL server whose user may create databases, e.g.
``postgresql+psycopg://postgres@/postgres?host=/tmp/pg``), each test gets a fresh PostgreSQL
database there instead, so the same rules and queries are checked on both engines.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, make_url, text

from cenflow.iam.secrets import SecretBox
from cenflow.store.database import Database
from cenflow.store.migrate import upgrade

POSTGRES = os.environ.get("CENFLOW_TEST_POSTGRES_URL")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    if POSTGRES is None:
        instance = Database(f"sqlite:///{tmp_path / 'iam.db'}", sqlite_synchronous="OFF")
        upgrade(instance)
        yield instance
        instance.dispose()
        return
    name = f"iam_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    instance = Database(make_url(POSTGRES).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(instance)
        yield instance
    finally:
        instance.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())
