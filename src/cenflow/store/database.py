"""The database handle: one engine, and explicit read and write transactions.

SQLite (the embedded default) runs in WAL mode so readers never wait for the writer, and every
write transaction starts with ``BEGIN IMMEDIATE``: SQLite then serialises writers up front
instead of failing a reader-turned-writer halfway.  PostgreSQL uses ordinary transactions and
row locks (``SELECT ... FOR UPDATE``, ``SKIP LOCKED`` for the task queue).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple

import anyio.to_thread
from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from cenflow.store.checkpoints import BACKSTOP_PAGES, WalCheckpointer

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # WAL with synchronous=NORMAL loses no committed transaction on a process crash (SIGKILL);
    # only an OS crash or power cut can lose the last commits.  FULL would fsync every commit.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    # 16 MiB of page cache per connection instead of SQLite's 2 MiB: with 100,000 flow logs a
    # flow-log mutation cost 20% more CPU than with 4,000 (pages re-read from the OS on every
    # call); with 16 MiB the two cost the same (bench/api.py's datasets, in-process).
    "PRAGMA cache_size=-16384",
)


class Database:
    def __init__(
        self, url: str, *, echo: bool = False, sqlite_synchronous: str = "NORMAL", background_checkpoints: bool = False
    ) -> None:
        """``background_checkpoints``: for long-running processes on a SQLite file, checkpoint
        the WAL on a thread of its own instead of in the commits (`store.checkpoints`)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.checkpointer: WalCheckpointer | None = None
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 32
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        # SQLite has one writer at a time, and a connection that finds the write lock taken polls
        # for it in sleeps of up to 100 ms (the busy handler), idling while the lock is free.
        # Writers of this process therefore queue on a mutex first and take the lock as soon as
        # it is released; the busy timeout still arbitrates between processes.
        self._writers: AbstractContextManager[Any] = threading.RLock() if self.is_sqlite else nullcontext()
        if self.is_sqlite:
            path = self.engine.url.database
            if background_checkpoints and path:
                self.checkpointer = WalCheckpointer(Path(path))
            self._install_sqlite_hooks(sqlite_synchronous)
            if self.checkpointer is not None:
                self.checkpointer.start()

    def _install_sqlite_hooks(self, synchronous: str) -> None:
        pragmas = [p if "synchronous" not in p else f"PRAGMA synchronous={synchronous}" for p in _SQLITE_PRAGMAS]
        if self.checkpointer is not None:
            pragmas.append(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take BEGIN out of the driver's hands so that we choose DEFERRED or IMMEDIATE.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in pragmas:
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(connection: Connection) -> None:
            mode = "IMMEDIATE" if connection.get_execution_options().get("cenflow_write") else "DEFERRED"
            statement = f"BEGIN {mode}"
            # Straight to the driver: three transactions a call made SQLAlchemy's execution
            # path for BEGIN a measurable part of a signed call.  Errors are wrapped as that path
            # would, so callers (``_begin``'s retry on "database is locked") see the same type.
            try:
                connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
            except sqlite3.Error as exc:
                raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc

    async def run_sync(self, func: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run database work (a worker pass; an API call on PostgreSQL) from the event loop.

        On SQLite the work runs right here, on the event loop's thread (API calls too, batched:
        ``api.batching``).  SQLite executes one
        writer at a time and every signed call writes its nonce, so calls were serialised anyway;
        what handing each one to a worker thread added was the hop and a hand-over of the GIL at
        every sqlite3 call (each statement step releases it), which cost more CPU than the work:
        running in place doubled the signed calls a server answers per second (bench/api.py).
        The price: while a call waits for SQLite's write lock held by *another process* (a
        ``cenflow collector`` or CLI command on the same file), the server answers nothing else.
        Deployments with several processes belong on PostgreSQL, whose work waits on the network
        and runs in worker threads concurrently (anyio's default thread limit).
        """
        if not self.is_sqlite:
            return await anyio.to_thread.run_sync(func, *args)
        return func(*args)

    @contextmanager
    def write(self, within: Connection | None = None) -> Iterator[Connection]:
        """A read-write transaction, committed on success and rolled back on any exception.

        ``within``: a transaction the caller already holds, which the work then joins (it commits
        or rolls back with it)."""
        if within is not None:
            yield within
            return
        with self._writers, self.engine.connect().execution_options(cenflow_write=True) as connection:
            self._begin(connection)
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            try:
                connection.commit()
            except BaseException:
                # A failed commit must not leave the transaction open on a pooled connection.
                _rollback_driver(connection)
                raise

    @contextmanager
    def read(self, within: Connection | None = None) -> Iterator[Connection]:
        """A read-only transaction (one consistent snapshot), or ``within``, as for ``write``."""
        if within is not None:
            yield within
            return
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def _begin(self, connection: Connection) -> None:
        # BEGIN IMMEDIATE can still report "database is locked" when the busy timeout runs out
        # under heavy contention; retry for a while instead of failing the call.
        deadline = time.monotonic() + 60
        while True:
            try:
                connection.begin()
                return
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                connection.rollback()
                time.sleep(0.01)

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


def _rollback_driver(connection: Connection) -> None:
    driver = connection.connection.driver_connection
    if isinstance(driver, sqlite3.Connection) and driver.in_transaction:
        driver.execute("ROLLBACK")
    else:
        connection.rollback()
