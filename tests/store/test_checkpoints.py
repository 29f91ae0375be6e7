"""The background WAL checkpointer of long-running processes on SQLite."""

from __future__ import annotations

import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from cenflow.store.checkpoints import BACKSTOP_PAGES, WalCheckpointer
from cenflow.store.database import Database
from cenflow.store.migrate import upgrade
from cenflow.store.nonces import NonceStore

SQLITE_DEFAULT_AUTOCHECKPOINT = 1000


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    instance = Database(f"sqlite:///{tmp_path / 'state.db'}", background_checkpoints=True)
    upgrade(instance)
    yield instance
    instance.dispose()


def autocheckpoint_of(database: Database) -> int:
    with database.read() as tx:
        return int(tx.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())


def claim_nonces(database: Database, count: int) -> list[str]:
    store = NonceStore(database)
    nonces = [uuid.uuid4().hex for _ in range(count)]
    until = datetime.now(UTC) + timedelta(minutes=15)
    for nonce in nonces:
        assert store.claim("key", nonce, until)
    return nonces


def nonces_in_file_alone(database_file: Path, scratch: Path) -> set[str]:
    """The nonces the database file holds by itself, without its write-ahead log."""
    copy = scratch / "copy.db"
    shutil.copyfile(database_file, copy)
    connection = sqlite3.connect(copy)
    try:
        return {row[0] for row in connection.execute("SELECT nonce FROM nonces")}
    except sqlite3.OperationalError:  # not even the table has been copied back yet
        return set()
    finally:
        connection.close()


def test_committed_rows_reach_the_database_file_without_a_commit_checkpointing(
    database: Database, tmp_path: Path
) -> None:
    assert database.checkpointer is not None
    # Fewer pages than any automatic checkpoint would wait for: only the thread copies them.
    nonces = claim_nonces(database, 50)
    deadline = time.monotonic() + 10
    while not set(nonces) <= nonces_in_file_alone(tmp_path / "state.db", tmp_path):
        assert time.monotonic() < deadline, "the background checkpointer never copied the log back"
        time.sleep(0.05)
    assert database.checkpointer.passes >= 1


def test_commits_leave_checkpoints_to_the_thread_up_to_the_backstop(database: Database, tmp_path: Path) -> None:
    assert autocheckpoint_of(database) == BACKSTOP_PAGES
    plain = Database(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        assert plain.checkpointer is None
        assert autocheckpoint_of(plain) == SQLITE_DEFAULT_AUTOCHECKPOINT
    finally:
        plain.dispose()


def test_dispose_stops_the_thread(tmp_path: Path) -> None:
    instance = Database(f"sqlite:///{tmp_path / 'state.db'}", background_checkpoints=True)
    checkpointer = instance.checkpointer
    assert checkpointer is not None
    instance.dispose()
    assert not checkpointer._thread.is_alive()


def test_a_failed_checkpoint_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    checkpointer = WalCheckpointer(tmp_path / "state.db")
    closed = sqlite3.connect(tmp_path / "state.db")
    closed.close()
    checkpointer.checkpoint(closed)
    assert checkpointer.passes == 0
    assert "background WAL checkpoint failed" in caplog.text


def test_a_file_that_cannot_be_opened_ends_the_thread_with_a_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = WalCheckpointer(tmp_path / "missing-directory" / "state.db", interval=0.01)
    checkpointer.start()
    checkpointer._thread.join(timeout=10)
    assert not checkpointer._thread.is_alive()
    assert "could not open the database" in caplog.text
