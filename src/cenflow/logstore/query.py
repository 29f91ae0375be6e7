"""Reading records with DuckDB, in a sandbox that can see one logstore's files and nothing else.

A :class:`ReadSession` takes a snapshot of the partitions overlapping ``[from_ts, to_ts)`` (the
partition pruning), opens an in-memory DuckDB connection allowed to read exactly the snapshot's
files, disables every other file-system access, locks the configuration, and defines one view,
``log``: the records of the time range in :data:`RECORD_SCHEMA` (files are read with
``union_by_name``, and a field no file has is a typed ``NULL`` column), filtered by the user's
``where``.

The user's ``where`` is parsed by DuckDB as *one expression* and applied as a relational filter;
it is never pasted into a statement, so ``1=1) UNION SELECT ...`` or ``...; DROP ...`` cannot
change the query's shape.  It may still hold subqueries, but the sandbox leaves them nothing to
read but these records.  Every DuckDB error becomes a :class:`QueryError` with DuckDB's message.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from cenflow.logstore.errors import QueryError, QueryTimeout
from cenflow.logstore.layout import StoreDir
from cenflow.logstore.schema import RECORD_SCHEMA, WINDOW_START
from cenflow.logstore.snapshot import Snapshot, snapshot

T = TypeVar("T")
_DUCKDB_TYPES = {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.int64(): "BIGINT"}
_ORDER_ITEM = re.compile(r"\s*([a-z][a-z-]*)\s*(?:\s(asc|desc))?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class QueryLimits:
    timeout_seconds: float | None = 30.0  # None: no limit (streams run as long as their client reads)
    memory_limit: str = "512MB"  # DuckDB spills sorts and aggregates to the snapshot beyond this
    threads: int = 2
    max_where_length: int = 4096


DEFAULT_LIMITS = QueryLimits()


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def clean_message(error: Exception) -> str:
    """DuckDB's message without the echo of our own SQL (``LINE 1: ...``), which means nothing to users."""
    text = str(error).split("\nLINE ", 1)[0].strip()
    return re.sub(r"\s*\n\s*", " ", text)


def check_where(where: str | None, limits: QueryLimits = DEFAULT_LIMITS) -> Any:
    """Parse ``where`` as a single SQL expression (a ``duckdb.Expression``); None when empty."""
    if where is None or not where.strip():
        return None
    if len(where) > limits.max_where_length:
        raise QueryError(f"where expression longer than {limits.max_where_length} characters")
    try:
        return duckdb.SQLExpression(where)
    except duckdb.Error as exc:
        raise QueryError(f"where must be a single SQL boolean expression: {clean_message(exc)}") from exc


def order_clause(order: str | Sequence[str] | None) -> str:
    """``ORDER BY`` for ``order`` ("bytes desc, srcaddr" or a list of such items); fields only."""
    if order is None:
        return ""
    items = order.split(",") if isinstance(order, str) else list(order)
    rendered: list[str] = []
    for item in items:
        match = _ORDER_ITEM.fullmatch(item)
        if not match or match.group(1) not in RECORD_SCHEMA.names:
            raise QueryError(f"cannot order by {item.strip()!r}: give record fields, each optionally 'asc' or 'desc'")
        rendered.append(f"{quote_identifier(match.group(1))} {(match.group(2) or 'asc').upper()}")
    return "ORDER BY " + ", ".join(rendered) if rendered else ""


class ReadSession:
    """A sandboxed DuckDB connection whose only data is the view ``log``."""

    def __init__(self, con: Any, limits: QueryLimits, sources: list[Path]) -> None:
        self.con = con
        self.limits = limits
        self.sources = sources  # the data files this session reads (after partition pruning)

    def run(self, work: Callable[[Any], T], *, timeout: float | None = None) -> T:
        """Run ``work(con)``, interrupting it after ``timeout`` seconds; DuckDB errors become QueryError."""
        timeout = self.limits.timeout_seconds if timeout is None else timeout
        timer = threading.Timer(timeout, self.con.interrupt) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            return work(self.con)
        except duckdb.InterruptException as exc:
            raise QueryTimeout(f"query ran longer than {timeout:g} s and was stopped") from exc
        except duckdb.Error as exc:
            raise QueryError(clean_message(exc)) from exc
        finally:
            if timer is not None:
                timer.cancel()


@contextmanager
def read_session(
    store: StoreDir,
    from_ts: int | None = None,
    to_ts: int | None = None,
    where: str | None = None,
    limits: QueryLimits = DEFAULT_LIMITS,
) -> Iterator[ReadSession]:
    expression = check_where(where, limits)  # before any work: a bad where costs nothing
    with snapshot(store, from_ts, to_ts) as taken:
        con = _sandboxed_connection(taken, limits)
        try:
            session = ReadSession(con, limits, list(taken.sources))
            session.run(lambda c: _define_views(c, taken, from_ts, to_ts, expression))
            yield session
        finally:
            con.close()


def _sandboxed_connection(taken: Snapshot, limits: QueryLimits) -> Any:
    config: dict[str, Any] = {"threads": limits.threads, "memory_limit": limits.memory_limit}
    if taken.directory is not None:
        config["temp_directory"] = str(taken.directory / "spill")
    con = duckdb.connect(":memory:", config=config)
    try:
        if taken.directory is not None:
            # The snapshot holds only this read's links (and DuckDB's spill files); granting the
            # directory keeps the setting small however many files a month of windows makes.
            con.execute("SET allowed_directories = ?", [[str(taken.directory) + "/"]])
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _define_views(con: Any, taken: Snapshot, from_ts: int | None, to_ts: int | None, expression: Any) -> None:
    if taken.links:
        # Listed one by one, not globbed: a data directory may contain glob characters.
        files = "[" + ", ".join(_quote_string(str(link)) for link in taken.links) + "]"
        source = f"read_parquet({files}, union_by_name = true, hive_partitioning = false)"
        present = {row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        conditions = [f"{quote_identifier(WINDOW_START)} >= {int(from_ts)}"] if from_ts is not None else []
        if to_ts is not None:
            conditions.append(f"{quote_identifier(WINDOW_START)} < {int(to_ts)}")
    else:
        source, present, conditions = "(SELECT 1)", set(), ["false"]
    columns = ", ".join(
        f"CAST({quote_identifier(f.name) if f.name in present else 'NULL'} AS {_DUCKDB_TYPES[f.type]}) "
        f"AS {quote_identifier(f.name)}"
        for f in RECORD_SCHEMA
    )
    where_sql = " WHERE " + " AND ".join(conditions) if conditions else ""
    con.execute(f"CREATE VIEW records_in_range AS SELECT {columns} FROM {source}{where_sql}")
    relation = con.table("records_in_range")
    if expression is not None:
        try:
            relation = relation.filter(expression)
        except duckdb.Error as exc:
            raise QueryError(f"invalid where expression: {clean_message(exc)}") from exc
    relation.create_view("log")


def to_arrow_table(relation: Any) -> pa.Table:
    """``relation`` as an Arrow table (DuckDB renamed ``arrow()`` to ``to_arrow_table()`` in 1.4)."""
    method = getattr(relation, "to_arrow_table", None) or relation.arrow
    return method()


def to_arrow_reader(relation: Any, batch_rows: int) -> pa.RecordBatchReader:
    method = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    return method(batch_rows)


def query(
    store: StoreDir,
    from_ts: int | None = None,
    to_ts: int | None = None,
    where: str | None = None,
    limit: int | None = None,
    order: str | Sequence[str] | None = WINDOW_START,
    limits: QueryLimits = DEFAULT_LIMITS,
) -> pa.Table:
    """Records with ``from_ts <= window-start < to_ts`` matching ``where``, as a RECORD_SCHEMA table."""
    if limit is not None and limit < 0:
        raise QueryError("limit must not be negative")
    sql = f"SELECT * FROM log {order_clause(order)}" + (f" LIMIT {int(limit)}" if limit is not None else "")
    with read_session(store, from_ts, to_ts, where, limits) as session:
        table = session.run(lambda con: to_arrow_table(con.sql(sql)))
    return table.cast(RECORD_SCHEMA)


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts keyed by field name, leaving out fields without a value (as SLS does)."""
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]
