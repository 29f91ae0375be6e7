"""cenflow.store.checkpoints: the WAL is copied into the database file by a background thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from cenflow.store.checkpoints import WalCheckpointer
from cenflow.store.database import Database

ROWS = 400  # ~400 pages of 4 KiB: far below the connections' safety net of 8,000


def write_pages(database: Database) -> None:
    with database.write() as tx:
        tx.execute(text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, blob BLOB)"))
    for _ in range(ROWS // 50):
        with database.write() as tx:
            for _ in range(50):
                tx.execute(text("INSERT INTO filler (blob) VALUES (randomblob(4000))"))


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_committed_pages_reach_the_database_file_without_a_commit_checkpointing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    database = Database(f"sqlite:///{path}", background_checkpoints=True)
    try:
        write_pages(database)
        # The commits alone would leave every page in the WAL (their automatic checkpoint waits
        # for 8,000 pages): the database file grows only if the background thread copied them.
        assert wait_for(lambda: path.stat().st_size > ROWS * 4000 * 0.9), path.stat().st_size
    finally:
        database.dispose()


def test_without_background_checkpoints_pages_stay_in_the_wal_below_the_threshold(tmp_path: Path) -> None:
    # The control for the test above: SQLite's own threshold (1,000 pages) is not reached.
    path = tmp_path / "state.db"
    database = Database(f"sqlite:///{path}")
    try:
        write_pages(database)
        assert path.stat().st_size < ROWS * 4000 * 0.5
        assert Path(f"{path}-wal").stat().st_size > ROWS * 4000 * 0.9
    finally:
        database.dispose()


def test_dispose_stops_the_thread(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}", background_checkpoints=True)
    write_pages(database)
    checkpointer = database._checkpointer
    assert checkpointer is not None
    assert checkpointer.running
    database.dispose()
    assert not checkpointer.running


def test_the_checkpointer_never_creates_the_database_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    checkpointer = WalCheckpointer(str(missing), coalesce=0)
    checkpointer.start()
    checkpointer.notify()
    assert wait_for(lambda: not checkpointer.running)  # it gave up: nothing to open
    assert not missing.exists()
