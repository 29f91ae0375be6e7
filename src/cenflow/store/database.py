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
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar, TypeVarTuple, cast

import anyio.to_thread
from sqlalchemy import ColumnElement, Connection, Dialect, Table, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # WAL with synchronous=NORMAL loses no committed transaction on a process crash (SIGKILL);
    # only an OS crash or power cut can lose the last commits.  FULL would fsync every commit.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


class Database:
    def __init__(self, url: str, *, echo: bool = False, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
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
            self._install_sqlite_hooks(sqlite_synchronous)

    def _install_sqlite_hooks(self, synchronous: str) -> None:
        pragmas = [p if "synchronous" not in p else f"PRAGMA synchronous={synchronous}" for p in _SQLITE_PRAGMAS]

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
    def write(self) -> Iterator[Connection]:
        """A read-write transaction, committed on success and rolled back on any exception."""
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
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (one consistent snapshot)."""
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
        self.engine.dispose()


def _rollback_driver(connection: Connection) -> None:
    driver = connection.connection.driver_connection
    if isinstance(driver, sqlite3.Connection) and driver.in_transaction:
        driver.execute("ROLLBACK")
    else:
        connection.rollback()


class DriverStatement:
    """A statement of a path every call takes, run on the driver's own connection.

    Through SQLAlchemy's execution path (execution context, events, result wrapping) a lookup by
    primary key costs several times what the driver takes to run it (~37 us against ~6 us on
    SQLite), and a signed call runs several (bench/api.py).  The SQL is plain, portable SQL
    written with ``?`` placeholders, turned into the driver's parameter style once, and run in
    the caller's transaction.  ``params`` and ``columns`` name the columns whose types convert
    the bound values and the selected values, as SQLAlchemy would (a UTC datetime, say);
    ``postgresql`` is the statement where PostgreSQL needs other SQL (``FOR UPDATE``).
    """

    def __init__(
        self,
        sql: str,
        *,
        params: Sequence[ColumnElement[Any] | None] = (),
        columns: Sequence[ColumnElement[Any]] = (),
        postgresql: str | None = None,
    ) -> None:
        self._sqlite = sql
        self._format = (postgresql or sql).replace("?", "%s")  # psycopg's style
        self._params = tuple(params)
        self._columns = tuple(columns)
        self._converters: dict[str, tuple[list[Any], list[tuple[int, Callable[[Any], Any]]]]] = {}

    def run(self, tx: Connection, *values: object) -> Any:
        """The driver's cursor after executing the statement with ``values``."""
        driver = tx.connection.driver_connection
        binds, _ = self._for(tx.dialect)
        if binds:
            values = tuple(value if bind is None else bind(value) for bind, value in zip(binds, values, strict=False))
        sql = self._sqlite if isinstance(driver, sqlite3.Connection) else self._format
        return driver.execute(sql, values)  # type: ignore[union-attr]

    def first(self, tx: Connection, *values: object) -> tuple[Any, ...] | None:
        row = self.run(tx, *values).fetchone()
        if row is None:
            return None
        _, results = self._for(tx.dialect)
        return _converted(row, results) if results else tuple(row)

    def all(self, tx: Connection, *values: object) -> list[tuple[Any, ...]]:
        rows = self.run(tx, *values).fetchall()
        _, results = self._for(tx.dialect)
        return [_converted(row, results) for row in rows] if results else [tuple(row) for row in rows]

    def _for(self, dialect: Dialect) -> tuple[list[Any], list[tuple[int, Callable[[Any], Any]]]]:
        """The bind converter of each parameter (``[]``: none), and (index, converter) of each
        selected column that has one."""
        converters = self._converters.get(dialect.name)
        if converters is None:
            binds = [None if c is None else _bind_converter(c, dialect) for c in self._params]
            results = [_result_converter(c, dialect) for c in self._columns]
            converters = (
                binds if any(b is not None for b in binds) else [],
                [(index, convert) for index, convert in enumerate(results) if convert is not None],
            )
            self._converters[dialect.name] = converters
        return converters


def _bind_converter(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    # A type may offer a one-step conversion (``driver_bind``); otherwise the dialect's own
    # implementation of the type (SQLite's DATETIME, say) converts, as SQLAlchemy would.
    direct = getattr(column.type, "driver_bind", None)
    if direct is not None:
        return cast("Callable[[Any], Any]", direct(dialect))
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _result_converter(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    direct = getattr(column.type, "driver_result", None)
    if direct is not None:
        return cast("Callable[[Any], Any]", direct(dialect))
    return column.type.dialect_impl(dialect).result_processor(dialect, None)


def _converted(row: Sequence[Any], converters: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    values = list(row)
    for index, convert in converters:
        if values[index] is not None:
            values[index] = convert(values[index])
    return tuple(values)


def column_list(table: Table) -> str:
    """``"a", "b"``: every column of ``table``, quoted (``interval`` is a keyword), in order."""
    return ", ".join(f'"{column.name}"' for column in table.columns)
