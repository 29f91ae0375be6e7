"""Statements on the driver: the few that every call or transition runs, without SQLAlchemy's
execution path (``DriverStatement``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Dialect, Table


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
