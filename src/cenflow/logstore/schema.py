"""The record schema: CEN flow-log fields plus the bookkeeping columns every stored record has.

CEN fields keep their documented names (``srcaddr``, ``src-region-id``, ...).  A flow log's
``LogFormatString`` selects a subset of them, so a file holds only the fields its flow log
selected; readers union files by column name and see ``NULL`` for a field a file lacks.  Every
CEN field is therefore nullable, which also covers ``NODATA``/``SKIPDATA`` records that carry no
addresses or counters.  (A window file declares a column required when it holds no null, which
is cheaper to write; see ``parquet_io.declare_complete``.  Compacted files keep these optional
fields, and readers union files by name either way.)

Bookkeeping columns (never null):

- ``flow-log-id``: the flow log that produced the record.
- ``window-start``: unix seconds at which the record's capture window starts.  Files are
  partitioned and time-filtered on it, and it is present even when ``LogFormatString`` leaves
  out ``start``.
- ``writer-id``: the writer (collector instance) that flushed the record.  Stored only, never
  returned by queries; with ``flow-log-id`` and ``window-start`` it forms the idempotency key
  of an append (see :mod:`cenflow.logstore.writer`).

Integers that fit 32 bits (ports, protocol, TCP flags) are ``int32``; counters and times are
``int64``; text is ``string`` (UTF-8).  No unsigned types: Spark and Trino have none.  A writer
may hand text as a dictionary of strings (the collector does, for ids and enumerations): it is
stored as Parquet text all the same, and read back as ``string``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cenflow.logstore.constants import constant_dictionary
from cenflow.logstore.errors import InvalidRecords

FLOW_LOG_ID = "flow-log-id"
WINDOW_START = "window-start"
WRITER_ID = "writer-id"

CEN_FIELDS: tuple[pa.Field, ...] = (
    pa.field("account-id", pa.string()),
    pa.field("attachment-id", pa.string()),
    pa.field("cen-id", pa.string()),
    pa.field("src-region-id", pa.string()),
    pa.field("srcaddr", pa.string()),
    pa.field("srcport", pa.int32()),
    pa.field("dst-region-id", pa.string()),
    pa.field("dstaddr", pa.string()),
    pa.field("dstport", pa.int32()),
    pa.field("protocol", pa.int32()),
    pa.field("packets", pa.int64()),
    pa.field("bytes", pa.int64()),
    pa.field("start", pa.int64()),
    pa.field("end", pa.int64()),
    pa.field("direction", pa.string()),
    pa.field("tr-id", pa.string()),
    pa.field("tcp-flags", pa.int32()),
    pa.field("log-status", pa.string()),
    pa.field("type", pa.string()),
)
CEN_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in CEN_FIELDS)

# What queries return: CEN fields in documentation order, then the public bookkeeping.
RECORD_SCHEMA = pa.schema(
    [
        *CEN_FIELDS,
        pa.field(FLOW_LOG_ID, pa.string(), nullable=False),
        pa.field(WINDOW_START, pa.int64(), nullable=False),
    ]
)
# Every column a stored file may hold, in the order files list them.
STORED_SCHEMA = RECORD_SCHEMA.append(pa.field(WRITER_ID, pa.string(), nullable=False))

# Closed vocabularies; NULL is always allowed (the field was not selected or had no value).
ENUMERATED_VALUES: dict[str, tuple[str, ...]] = {
    "direction": ("in", "out"),
    "log-status": ("OK", "NODATA", "SKIPDATA"),
    "type": ("IPv4", "IPv6"),
}

_INPUT_COLUMNS = frozenset([*CEN_FIELD_NAMES, FLOW_LOG_ID, WINDOW_START])


def conform_records(records: pa.Table, writer_id: str) -> pa.Table:
    """Validate ``records`` for ``append`` and return them in stored types, plus ``writer-id``.

    Columns keep the caller's order (a flow log's ``LogFormatString`` order).  ``window-start``
    defaults to ``start`` when the caller leaves it out.
    """
    names = records.column_names
    if len(set(names)) != len(names):
        raise InvalidRecords(
            f"duplicate column names in records: {sorted(n for n in set(names) if names.count(n) > 1)}"
        )
    unknown = [n for n in names if n not in _INPUT_COLUMNS]
    if unknown:
        raise InvalidRecords(f"unknown record fields {unknown}; allowed: {sorted(_INPUT_COLUMNS)}")
    if FLOW_LOG_ID not in names:
        raise InvalidRecords(f"records need a {FLOW_LOG_ID!r} column")
    if WINDOW_START not in names:
        if "start" not in names:
            raise InvalidRecords(f"records need a {WINDOW_START!r} column (or 'start', the window start)")
        records = records.append_column(pa.field(WINDOW_START, pa.int64()), records.column("start"))
    columns: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for name in records.column_names:
        field = STORED_SCHEMA.field(name)
        column = records.column(name)
        if _is_text_dictionary(column.type, field.type):
            field = field.with_type(column.type)  # kept encoded: what the file stores is text
        else:
            column = _cast(column, field)
        columns.append(column)
        fields.append(field)
    writer_column = constant_dictionary(writer_id, records.num_rows)
    writer_field = STORED_SCHEMA.field(WRITER_ID).with_type(writer_column.type)
    table = pa.Table.from_arrays([*columns, writer_column], schema=pa.schema([*fields, writer_field]))
    for name in (FLOW_LOG_ID, WINDOW_START):
        if table.column(name).null_count:
            raise InvalidRecords(f"{name!r} must not be null")
    for name, allowed in ENUMERATED_VALUES.items():
        if name in table.column_names:
            _check_enumeration(table.column(name), name, allowed)
    return table


def _is_text_dictionary(kind: pa.DataType, stored: pa.DataType) -> bool:
    return bool(pa.types.is_dictionary(kind) and stored == pa.string() and kind.value_type == pa.string())


def _cast(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    if column.type == field.type:
        return column
    try:
        # safe=True refuses overflow and fractional truncation instead of storing wrong numbers.
        return pc.cast(column, field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidRecords(f"field {field.name!r}: cannot store {column.type} as {field.type}: {exc}") from exc


def _check_enumeration(column: pa.ChunkedArray, name: str, allowed: tuple[str, ...]) -> None:
    value_set = pa.array(allowed, pa.string())
    if pa.types.is_dictionary(column.type) and all(
        pc.all(pc.is_in(chunk.dictionary, value_set=value_set)).as_py() for chunk in column.chunks
    ):
        return  # every value a row can take is allowed (nulls are indices' nulls): no row scan
    valid = pc.or_(pc.is_null(column), pc.is_in(column, value_set=value_set))
    if not pc.all(valid).as_py():
        bad = pc.filter(column, pc.invert(valid)).unique().to_pylist()[:5]
        raise InvalidRecords(f"field {name!r} has values {bad}; allowed: {list(allowed)}")


def union_schema(schemas: Iterable[pa.Schema]) -> pa.Schema:
    """The stored columns present in any of ``schemas``, in stored order (for compacted files)."""
    present = {name for schema in schemas for name in schema.names}
    return pa.schema([f for f in STORED_SCHEMA if f.name in present])


def conform_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with the columns of ``schema``: reordered, and all-null where ``batch`` lacks one."""
    arrays: list[Any] = []
    for field in schema:
        index = batch.schema.get_field_index(field.name)
        arrays.append(batch.column(index) if index >= 0 else pa.nulls(batch.num_rows, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
