"""Reading and writing the Parquet files of a logstore.

Row groups hold about ``ROW_GROUP_ROWS`` rows: compacted files are built from many small batches
(one per flushed window), and writing each batch as its own row group would leave thousands of
tiny row groups that slow every scan.

Compression follows the files' lives, as in a log-structured merge tree: a window file is written
once by the collector and read back by compaction within about two hours, so it is Snappy, which
costs a fifth less CPU to write than zstd (a third of a window's write was compression); the
compacted files that then hold the data for its retention are zstd, about half Snappy's size.

What readers see is the Parquet schema alone: files do not embed the writer's Arrow schema
(``store_schema=False``).  The collector hands low-cardinality text as dictionary arrays (cheap to
write: no hashing of every value), and an embedded Arrow schema would make pyarrow and pandas
read those columns back as dictionaries (categoricals); without it every reader (DuckDB, pyarrow,
pandas, Spark, Trino) gets the plain ``string``, ``int32``, ``int64`` of `cenflow.logstore.schema`
whatever the writer's in-memory types.  ``tests/logstore/test_file_schema.py`` pins that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cenflow.logstore.layout import WindowKey
from cenflow.logstore.schema import FLOW_LOG_ID, WINDOW_START, WRITER_ID

ROW_GROUP_ROWS = 131_072
WINDOW_COMPRESSION = "snappy"  # window files (`write_table`), short-lived
COMPACTED_COMPRESSION = "zstd"  # compacted files (`BatchWriter`), kept for the retention
# Columns whose values are mostly distinct in a window: dictionary-encoding them costs a hash per
# value and then falls back to plain pages anyway.  The others (ids, names, enums) stay encoded.
# Encodings only: the stored schema and what readers get are the same.
PLAIN_COLUMNS = frozenset({"srcaddr", "dstaddr", "srcport", "dstport", "packets", "bytes"})
# Counters: delta encoding then zstd is a third of the CPU of plain + zstd for the same size (zstd
# spends its time on the 8-byte values' zero high bytes).  A Parquet 2 encoding every reader named
# in docs/dataplane.md decodes (Spark's vectorized reader since 3.3).
COLUMN_ENCODING = {"packets": "DELTA_BINARY_PACKED", "bytes": "DELTA_BINARY_PACKED"}
# No min/max statistics where they can never skip a row group: addresses are spread over the whole
# range in any group, and every group holds both directions and both IP versions.  Nor for the
# text that is the same for a whole flow log (account, CEN, transit router) or splits by direction
# (regions), or is almost always `OK`: a logstore's files all share those values, so their ranges
# prune nothing.  Computing them costs a pass over every value (for dictionary arrays, a hash of
# every index): 6-7 % of a window's write for these six.  Readers that filter on them still get the
# right rows; they just read the row groups.
NO_STATISTICS = frozenset(
    {
        "srcaddr",
        "dstaddr",
        "direction",
        "type",
        "account-id",
        "cen-id",
        "tr-id",
        "src-region-id",
        "dst-region-id",
        "log-status",
    }
)
# Values handed to the column encoders per call (Arrow's default is 1,024): a window's columns go
# over in a few calls instead of ~100 per row group, which is ~12 % of a window's write.  Data pages
# still close at Arrow's default page size, checked after each call, so they hold at most one
# call's values more than with the default.
WRITE_BATCH_ROWS = 65_536
# Data pages in the version 2 format, which keeps the levels outside the compressed values instead
# of copying both into one buffer first: 6-8 % of a window's write.  Readers: the same as for the
# delta encoding above (DuckDB, pyarrow, Trino, Spark 3.3+).
DATA_PAGE_VERSION = "2.0"


def _options(schema: pa.Schema, compression: str) -> dict[str, Any]:
    names = schema.names
    return {
        "compression": compression,
        "use_dictionary": [name for name in names if name not in PLAIN_COLUMNS],
        "column_encoding": {name: encoding for name, encoding in COLUMN_ENCODING.items() if name in names},
        "write_statistics": [name for name in names if name not in NO_STATISTICS],
        "store_schema": False,
        "write_batch_size": WRITE_BATCH_ROWS,
        "data_page_version": DATA_PAGE_VERSION,
    }


KEY_COLUMNS = [FLOW_LOG_ID, WINDOW_START, WRITER_ID]


class BatchWriter:
    """Writes batches of one schema to a Parquet stream, buffering them into full row groups."""

    def __init__(self, handle: IO[bytes], schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(handle, schema, **_options(schema, COMPACTED_COMPRESSION))
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.Table.from_batches(self._pending), row_group_size=ROW_GROUP_ROWS)
            self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def write_table(handle: IO[bytes], table: pa.Table) -> None:
    """One window file, its columns without nulls declared required (`declare_complete`)."""
    table = declare_complete(table)
    pq.write_table(table, handle, row_group_size=ROW_GROUP_ROWS, **_options(table.schema, WINDOW_COMPRESSION))


def declare_complete(table: pa.Table) -> pa.Table:
    """``table`` with every nullable column that holds no null declared non-nullable.

    Parquet stores a definition level per value of an optional column, even when every value is
    present; a required column has none.  A collector's window has nulls only where a record
    has no value (``NODATA``/``SKIPDATA``), so most of its columns are complete, and declaring them
    required takes a fifth off a window's write (35 -> 28 ms for 100,000 rows, 22 columns).
    Only nullability changes: readers that union files by name (DuckDB, pyarrow datasets, the
    compaction) get the same types, and compacted files keep the stored schema's optional
    columns.
    """
    fields = []
    changed = False
    for field, column in zip(table.schema, table.columns, strict=True):
        # (A dictionary with a null among its values could hide nulls from `null_count`, which
        # counts the indices' only; Arrow refuses to write such a dictionary at all.)
        if field.nullable and column.null_count == 0:
            field = field.with_nullable(False)
            changed = True
        fields.append(field)
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields)) if changed else table


def iter_batches(source: Path | IO[bytes]) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(source).iter_batches(batch_size=65_536)


def file_keys(handle: IO[bytes]) -> set[WindowKey]:
    """The window keys a file holds, read from its three key columns only."""
    table = pq.read_table(handle, columns=KEY_COLUMNS).group_by(KEY_COLUMNS).aggregate([])
    return {
        WindowKey(flow, window, writer)
        for flow, window, writer in zip(
            table.column(FLOW_LOG_ID).to_pylist(),
            table.column(WINDOW_START).to_pylist(),
            table.column(WRITER_ID).to_pylist(),
            strict=True,
        )
    }


def without_keys(batches: Iterable[pa.RecordBatch], keys: set[WindowKey]) -> Iterator[pa.RecordBatch]:
    """``batches`` with the rows of ``keys`` filtered out."""
    for batch in batches:
        drop = pa.array([False] * batch.num_rows)
        for key in keys:
            match = pc.and_(
                pc.and_(
                    pc.equal(batch.column(FLOW_LOG_ID), key.flow_log_id),
                    pc.equal(batch.column(WINDOW_START), key.window_start),
                ),
                pc.equal(batch.column(WRITER_ID), key.writer_id),
            )
            drop = pc.or_(drop, match)
        kept = batch.filter(pc.invert(drop))
        if kept.num_rows:
            yield kept
