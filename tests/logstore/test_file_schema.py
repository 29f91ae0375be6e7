"""What readers of the stored files see: plain text and integers, whatever types the writer held.

The collector hands ids and enumerations as dictionary arrays (cheaper to encode); files must not
say so, or pyarrow and pandas would read those columns back as dictionaries / categoricals.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cenflow.logstore import LogStore
from cenflow.logstore.schema import CEN_FIELD_NAMES, STORED_SCHEMA
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, data_files, row_multiset, window

TEXT_IDS = ("account-id", "attachment-id", "cen-id", "src-region-id", "dst-region-id", "tr-id")
ENCODED = (*TEXT_IDS, "direction", "log-status", "type", "flow-log-id")


def _as_the_collector_hands_it(table: pa.Table) -> pa.Table:
    """``table`` with its low-cardinality text columns as dictionary arrays."""
    for name in ENCODED:
        index = table.schema.get_field_index(name)
        if index >= 0:
            encoded = pc.dictionary_encode(table.column(name))
            table = table.set_column(index, pa.field(name, encoded.type), encoded)
    return table


def _complete(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every field required, as a window file without nulls declares it."""
    return pa.schema([field.with_nullable(False) for field in schema])


def _expected(path: Path) -> pa.Schema:
    names = pq.ParquetFile(path).schema_arrow.names
    return pa.schema([STORED_SCHEMA.field(name) for name in names])


def test_dictionary_columns_are_stored_and_read_as_plain_text(store: LogStore) -> None:
    plain = window(DAY, 5, fields=CEN_FIELD_NAMES)
    encoded = _as_the_collector_hands_it(plain)
    assert pa.types.is_dictionary(encoded.schema.field("cen-id").type)

    store.append(PROJECT, LOGSTORE, encoded, writer_id="collector-1")

    (path,) = data_files(store)
    read = pq.read_table(path)
    assert read.schema == _complete(STORED_SCHEMA)  # every CEN field, in stored types, all present
    assert b"ARROW:schema" not in (pq.read_metadata(path).metadata or {})
    assert row_multiset(read.select(plain.column_names)) == row_multiset(plain)


def test_duckdb_reads_text_and_integer_types(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, _as_the_collector_hands_it(window(DAY, 3, fields=CEN_FIELD_NAMES)))
    (path,) = data_files(store)

    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')")
    assert described is not None
    types = {row[0]: row[1] for row in described.fetchall()}

    assert {types[name] for name in ENCODED} == {"VARCHAR"}
    assert types["srcport"] == "INTEGER"
    assert types["packets"] == types["window-start"] == "BIGINT"


def test_compacted_files_of_encoded_and_plain_windows_read_as_plain_text(store: LogStore) -> None:
    first = window(DAY, 3, fields=CEN_FIELD_NAMES)
    second = window(DAY + 60, 4, fields=("srcaddr", "dstaddr", "bytes", "direction"), seed=1)
    store.append(PROJECT, LOGSTORE, _as_the_collector_hands_it(first))
    store.append(PROJECT, LOGSTORE, second)
    store.compact(now=DAY + 10 * HOUR)

    (path,) = data_files(store)
    read = pq.read_table(path)
    assert read.schema == _expected(path) == STORED_SCHEMA
    assert read.num_rows == 7
    assert sorted(read.column("direction").to_pylist()) == ["out"] * 7


def test_several_windows_of_encoded_columns_split_and_round_trip(store: LogStore) -> None:
    records = pa.concat_tables(
        [window(DAY + 60 * m, 2, flow_log_id=f"flowlog-{f}", seed=m) for m in range(3) for f in ("b", "a")]
    )
    result = store.append(PROJECT, LOGSTORE, _as_the_collector_hands_it(records.combine_chunks()))

    assert len(result.keys) == 6
    assert row_multiset(store.query(PROJECT, LOGSTORE).select(records.column_names)) == row_multiset(records)


def test_two_flow_logs_in_one_window_of_an_encoded_column_are_two_windows(store: LogStore) -> None:
    records = pa.concat_tables([window(DAY, 2, flow_log_id="flowlog-a"), window(DAY, 3, flow_log_id="flowlog-b")])

    result = store.append(PROJECT, LOGSTORE, _as_the_collector_hands_it(records.combine_chunks()))

    assert [key.flow_log_id for key in result.keys] == ["flowlog-a", "flowlog-b"]
    assert len(data_files(store)) == 2


def test_row_groups_carry_ranges_for_the_columns_reads_filter_on(store: LogStore) -> None:
    """Time, flow log, attachment and the numbers keep min/max (DuckDB skips row groups by them);
    text every file of a logstore shares does not (they would prune nothing)."""
    store.append(PROJECT, LOGSTORE, _as_the_collector_hands_it(window(DAY, 5, fields=CEN_FIELD_NAMES)))
    (path,) = data_files(store)
    group = pq.read_metadata(path).row_group(0)
    has_range = {
        group.column(i).path_in_schema: bool(group.column(i).statistics and group.column(i).statistics.has_min_max)
        for i in range(group.num_columns)
    }

    pruning = ("window-start", "start", "end", "flow-log-id", "attachment-id", "srcport", "dstport", "protocol")
    assert all(has_range[name] for name in (*pruning, "packets", "bytes")), has_range
    shared = ("account-id", "cen-id", "tr-id", "src-region-id", "dst-region-id", "log-status", "srcaddr", "dstaddr")
    assert not any(has_range[name] for name in shared), has_range


def test_a_window_file_declares_required_exactly_its_columns_without_nulls(store: LogStore) -> None:
    """Required columns carry no definition levels (cheaper to write); a column with a null stays
    optional, dictionary-encoded or not."""
    records = window(DAY, 4, fields=CEN_FIELD_NAMES)
    records = records.set_column(
        records.schema.get_field_index("srcport"), "srcport", pa.array([1, None, 3, 4], pa.int32())
    )
    status = pa.DictionaryArray.from_arrays(pa.array([0, None, 0, 0], pa.int8()), pa.array(["OK"]))
    records = records.set_column(records.schema.get_field_index("log-status"), "log-status", status)

    store.append(PROJECT, LOGSTORE, records)

    (path,) = data_files(store)
    schema = pq.read_schema(path)
    optional = {field.name for field in schema if field.nullable}
    assert optional == {"srcport", "log-status"}
    assert [field.type for field in schema] == [STORED_SCHEMA.field(name).type for name in schema.names]
    read = pq.read_table(path)
    assert read.column("srcport").to_pylist() == [1, None, 3, 4]
    assert read.column("log-status").to_pylist() == ["OK", None, "OK", "OK"]


def test_queries_and_compaction_union_required_and_optional_columns(store: LogStore) -> None:
    """One window with a null in ``bytes``, one without: a query over both, and the compacted file
    that replaces them, hold every row, the compacted file in the stored (optional) schema."""
    complete = window(DAY, 3)
    with_null = window(DAY + 60, 2, seed=1)
    with_null = with_null.set_column(
        with_null.schema.get_field_index("bytes"), "bytes", pa.array([None, 7], pa.int64())
    )
    store.append(PROJECT, LOGSTORE, complete)
    store.append(PROJECT, LOGSTORE, with_null)
    nullability = {path.name: pq.read_schema(path).field("bytes").nullable for path in data_files(store)}
    assert sorted(nullability.values()) == [False, True]

    expected = row_multiset(pa.concat_tables([complete, with_null]))
    assert row_multiset(store.query(PROJECT, LOGSTORE).select(complete.column_names)) == expected
    store.compact(now=DAY + 10 * HOUR)

    (path,) = data_files(store)
    assert pq.read_schema(path) == _expected(path)
    assert row_multiset(pq.read_table(path).select(complete.column_names)) == expected
