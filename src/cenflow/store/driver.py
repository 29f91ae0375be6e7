"""Statements on the driver: the few that every call or transition runs, without SQLAlchemy's
execution path (``DriverStatement``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

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
        self._plans: dict[str, _Plan] = {}

    def run(self, tx: Connection, *values: object) -> Any:
        """The driver's cursor after executing the statement with ``values``."""
        plan = self._plans.get(tx.dialect.name) or self._plan(tx.dialect)
        if plan.binds:
            values = tuple(
                value if bind is None else bind(value) for bind, value in zip(plan.binds, values, strict=False)
            )
        return tx.connection.driver_connection.execute(plan.sql, values)  # type: ignore[union-attr]

    def first(self, tx: Connection, *values: object) -> tuple[Any, ...] | None:
        row = self.run(tx, *values).fetchone()
        if row is None:
            return None
        results = self._plans[tx.dialect.name].results
        return _converted(row, results) if results else tuple(row)

    def all(self, tx: Connection, *values: object) -> list[tuple[Any, ...]]:
        rows = self.run(tx, *values).fetchall()
        results = self._plans[tx.dialect.name].results
        return [_converted(row, results) for row in rows] if results else [tuple(row) for row in rows]

    def _plan(self, dialect: Dialect) -> _Plan:
        """The statement's SQL for this dialect, the bind converter of each parameter (``()``:
        none), and (index, converter) of each selected column that has one; built once."""
        binds = [None if c is None else _bind_converter(c, dialect) for c in self._params]
        results = [_result_converter(c, dialect) for c in self._columns]
        plan = _Plan(
            self._sqlite if dialect.name == "sqlite" else self._format,
            tuple(binds) if any(b is not None for b in binds) else (),
            [(index, convert) for index, convert in enumerate(results) if convert is not None],
        )
        self._plans[dialect.name] = plan
        return plan


class _Plan(NamedTuple):
    sql: str
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: list[tuple[int, Callable[[Any], Any]]]


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
