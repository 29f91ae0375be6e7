"""Fixtures for the IAM unit tests: a migrated SQLite database and a secret box."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cenflow.iam.secrets import SecretBox
from cenflow.store.database import Database
from cenflow.store.migrate import upgrade


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    instance = Database(f"sqlite:///{tmp_path / 'iam.db'}", sqlite_synchronous="OFF")
    upgrade(instance)
    yield instance
    instance.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())
