from __future__ import annotations

import pyarrow as pa
import pytest

from cenflow.logstore.errors import InvalidRecords
from cenflow.logstore.schema import RECORD_SCHEMA, STORED_SCHEMA, conform_batch, conform_records, union_schema
from tests.logstore.conftest import DAY, window


def test_conform_casts_to_stored_types_and_keeps_the_callers_column_order() -> None:
    records = pa.table(
        {
            "srcaddr": ["10.0.0.1"],
            "dstaddr": ["10.0.0.2"],
            "bytes": pa.array([5], pa.int32()),
            "dstport": pa.array([443], pa.int64()),
            "flow-log-id": ["flowlog-a"],
            "window-start": [DAY],
        }
    )
    table = conform_records(records, "collector-1")
    assert table.column_names == ["srcaddr", "dstaddr", "bytes", "dstport", "flow-log-id", "window-start", "writer-id"]
    assert table.schema.field("bytes").type == pa.int64()
    assert table.schema.field("dstport").type == pa.int32()
    assert table.column("writer-id").to_pylist() == ["collector-1"]


def test_window_start_defaults_to_start() -> None:
    records = window(DAY, fields=("srcaddr", "dstaddr", "bytes", "start")).drop_columns(["window-start"])
    assert conform_records(records, "w").column("window-start").to_pylist() == [DAY] * 3


def test_records_without_window_start_or_start_are_refused() -> None:
    records = window(DAY, fields=("srcaddr", "dstaddr", "bytes")).drop_columns(["window-start"])
    with pytest.raises(InvalidRecords, match="window-start"):
        conform_records(records, "w")


def test_records_without_flow_log_id_are_refused() -> None:
    with pytest.raises(InvalidRecords, match="flow-log-id"):
        conform_records(window(DAY).drop_columns(["flow-log-id"]), "w")


def test_unknown_and_internal_fields_are_refused() -> None:
    with pytest.raises(InvalidRecords, match="unknown record fields"):
        conform_records(window(DAY).append_column("action", pa.array(["ACCEPT"] * 3)), "w")
    with pytest.raises(InvalidRecords, match="unknown record fields"):
        conform_records(window(DAY).append_column("writer-id", pa.array(["x"] * 3)), "w")


def test_values_outside_a_closed_vocabulary_are_refused_but_null_is_allowed() -> None:
    good = window(DAY, 2, fields=("srcaddr", "dstaddr", "bytes", "log-status"))
    good = good.set_column(3, "log-status", pa.array(["NODATA", None]))
    assert conform_records(good, "w").column("log-status").to_pylist() == ["NODATA", None]
    bad = good.set_column(3, "log-status", pa.array(["OK", "FINE"]))
    with pytest.raises(InvalidRecords, match="FINE"):
        conform_records(bad, "w")


def test_integer_overflow_is_refused_not_wrapped() -> None:
    records = window(DAY, 1, fields=("srcaddr", "dstaddr", "bytes", "srcport"))
    records = records.set_column(3, "srcport", pa.array([2**40]))
    with pytest.raises(InvalidRecords, match="srcport"):
        conform_records(records, "w")


def test_null_bookkeeping_is_refused() -> None:
    records = window(DAY, 2).set_column(6, "flow-log-id", pa.array(["flowlog-a", None]))
    with pytest.raises(InvalidRecords, match="flow-log-id"):
        conform_records(records, "w")


def test_union_schema_keeps_stored_order_and_conform_batch_fills_nulls() -> None:
    a = pa.schema([STORED_SCHEMA.field("bytes"), STORED_SCHEMA.field("srcaddr")])
    b = pa.schema([STORED_SCHEMA.field("dstport")])
    union = union_schema([a, b])
    assert union.names == ["srcaddr", "dstport", "bytes"]
    batch = pa.RecordBatch.from_pydict({"bytes": [1], "srcaddr": ["x"]}, schema=a)
    filled = conform_batch(batch, union)
    assert filled.to_pylist() == [{"srcaddr": "x", "dstport": None, "bytes": 1}]


def test_record_schema_lists_every_cen_field_then_bookkeeping() -> None:
    assert RECORD_SCHEMA.names[:5] == ["account-id", "attachment-id", "cen-id", "src-region-id", "srcaddr"]
    assert RECORD_SCHEMA.names[-2:] == ["flow-log-id", "window-start"]
    assert "writer-id" not in RECORD_SCHEMA.names
