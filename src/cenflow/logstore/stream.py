"""Records as a stream of JSON lines, in bounded memory, for the HTTP records endpoint and the CLI.

:func:`stream_json_lines` does its checking eagerly (the ``where`` expression is parsed and
bound, the snapshot taken) so a caller can still answer an error before sending anything; then
the returned :class:`JsonLinesStream` yields encoded lines as DuckDB produces record batches.
Memory stays bounded: DuckDB sorts by ``window-start`` within ``QueryLimits.memory_limit`` and
spills beyond it into the snapshot directory, and we hold one batch at a time.

Each line is one JSON object keyed by CEN field names (plus ``flow-log-id`` and
``window-start``); fields without a value are left out, as in SLS.  Close the stream (or use it
as a context manager, or exhaust it) to release the snapshot; an abandoned one is also released
when garbage-collected, and a dead process's is swept by maintenance.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from cenflow.logstore.errors import QueryError
from cenflow.logstore.layout import StoreDir
from cenflow.logstore.query import (
    QueryLimits,
    clean_message,
    order_clause,
    read_session,
    to_arrow_reader,
)
from cenflow.logstore.schema import WINDOW_START

STREAM_LIMITS = QueryLimits(timeout_seconds=None, memory_limit="128MB", threads=1)


def encode_row(row: dict[str, Any]) -> bytes:
    return (
        json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False, separators=(",", ":")).encode()
        + b"\n"
    )


class JsonLinesStream:
    """An iterator of ``bytes``, each holding ``lines_per_item`` JSON lines (fewer at the end)."""

    def __init__(
        self,
        store: StoreDir,
        from_ts: int | None,
        to_ts: int | None,
        where: str | None,
        limit: int | None,
        lines_per_item: int,
        batch_rows: int,
        limits: QueryLimits,
    ) -> None:
        if lines_per_item < 1 or batch_rows < 1:
            raise ValueError("lines_per_item and batch_rows must be positive")
        if limit is not None and limit < 0:
            raise QueryError("limit must not be negative")
        self._lines_per_item = lines_per_item
        self._resources = contextlib.ExitStack()
        try:
            session = self._resources.enter_context(read_session(store, from_ts, to_ts, where, limits))
            sql = f"SELECT * FROM log {order_clause(WINDOW_START)}" + (
                f" LIMIT {int(limit)}" if limit is not None else ""
            )
            self._reader: pa.RecordBatchReader = session.run(lambda con: to_arrow_reader(con.sql(sql), batch_rows))
        except BaseException:
            self._resources.close()
            raise
        self._lines = self._generate()

    def _generate(self) -> Generator[bytes, None, None]:
        pending: list[bytes] = []
        while True:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                break
            except (duckdb.Error, pa.ArrowException) as exc:
                raise QueryError(clean_message(exc)) from exc
            for row in batch.to_pylist():
                pending.append(encode_row(row))
                if len(pending) >= self._lines_per_item:
                    yield b"".join(pending)
                    pending = []
        if pending:
            yield b"".join(pending)

    def __iter__(self) -> JsonLinesStream:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._lines)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._lines.close()
        self._resources.close()

    def __enter__(self) -> JsonLinesStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def stream_json_lines(
    store: StoreDir,
    from_ts: int | None = None,
    to_ts: int | None = None,
    *,
    where: str | None = None,
    limit: int | None = None,
    lines_per_item: int = 1,
    batch_rows: int = 8192,
    limits: QueryLimits = STREAM_LIMITS,
) -> JsonLinesStream:
    """Records with ``from_ts <= window-start < to_ts`` as JSON lines, oldest window first.

    Raises :class:`QueryError` at once for a bad ``where``; later errors surface while iterating.
    """
    return JsonLinesStream(store, from_ts, to_ts, where, limit, lines_per_item, batch_rows, limits)
