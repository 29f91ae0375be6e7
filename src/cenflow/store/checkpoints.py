"""WAL checkpoints on a thread of their own, instead of inside whichever commit crosses the limit.

In WAL mode a commit appends pages to the ``-wal`` file; a checkpoint copies them back into the
database file.  By default SQLite runs it inside the commit that takes the WAL past 1,000 pages,
so on the API's event loop every few hundred calls one call also paid for copying everybody's
pages: about 40% of commit CPU for random-key inserts like the nonce record (a raw sqlite3
measurement, 16 nonces per commit).  Here a background thread with its own connection runs
``PRAGMA wal_checkpoint(PASSIVE)`` shortly after commits, and the sqlite3 module releases the
GIL while it copies, so the copying overlaps the event loop's work on another core.

A PASSIVE checkpoint never blocks writers or readers; it copies what no reader still needs.  The
connections keep an automatic checkpoint as a safety net (``SAFETY_NET_PAGES``), so the WAL stays
bounded even if this thread could not keep up.  Durability does not change: a commit is durable
in the WAL before any checkpoint (``synchronous=NORMAL``: a process crash loses nothing).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# The connections' own automatic checkpoint while the background one runs (SQLite's default is
# 1,000 pages): 8,000 pages of 4 KiB bound the WAL at about 32 MiB.
SAFETY_NET_PAGES = 8000
# Commits within this many seconds share one checkpoint: fewer, larger copies (a page written by
# several commits is copied once).
COALESCE_SECONDS = 0.05


class WalCheckpointer:
    """Checkpoints the WAL of one SQLite file after commits (``notify``) until ``stop``."""

    def __init__(self, path: str, *, coalesce: float = COALESCE_SECONDS) -> None:
        self._path = path
        self._coalesce = coalesce
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cenflow-wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """A commit appended to the WAL (cheap: called after every write transaction)."""
        self._wanted.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopping.is_set():
                self._wanted.wait()
                # Let the commits of the next moment join this checkpoint.
                if self._stopping.wait(self._coalesce):
                    break
                self._wanted.clear()
                if connection is None:
                    # Opened once there is something to copy, and read-write only: it must never
                    # create the database file (the owner creates it, with its mode).
                    uri = Path(self._path).absolute().as_uri() + "?mode=rw"
                    connection = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
                self._checkpoint(connection)
        except sqlite3.Error:
            log.warning("background WAL checkpoints stopped; the commits checkpoint past the safety net", exc_info=True)
        finally:
            if connection is not None:
                connection.close()

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            # Busy with another process's checkpoint, say; the next commit asks again, and the
            # connections' safety net bounds the WAL meanwhile.
            log.debug("WAL checkpoint skipped", exc_info=True)
