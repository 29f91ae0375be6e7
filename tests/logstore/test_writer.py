from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cenflow.logstore import InvalidName, LogStore, WindowKey
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, data_files, row_multiset, window


def test_round_trip_with_mixed_column_sets_unions_by_name(store: LogStore) -> None:
    minimal = window(DAY, 2, flow_log_id="flowlog-min", fields=("srcaddr", "dstaddr", "bytes"))
    full = window(
        DAY + 60, 3, flow_log_id="flowlog-full", fields=("srcaddr", "dstaddr", "bytes", "srcport", "log-status")
    )
    store.append(PROJECT, LOGSTORE, minimal)
    store.append(PROJECT, LOGSTORE, full)

    rows = store.query_rows(PROJECT, LOGSTORE)

    # Oldest window first; the order of records inside a window is unspecified.
    assert [r["flow-log-id"] for r in rows] == ["flowlog-min"] * 2 + ["flowlog-full"] * 3
    assert {frozenset(r) for r in rows[:2]} == {
        frozenset({"srcaddr", "dstaddr", "bytes", "flow-log-id", "window-start"})
    }
    assert {frozenset(r) for r in rows[2:]} == {
        frozenset({"srcaddr", "dstaddr", "bytes", "srcport", "log-status", "flow-log-id", "window-start"})
    }
    assert sorted(r["bytes"] for r in rows[:2]) == [1000, 2000]
    assert sorted(r["bytes"] for r in rows[2:]) == [1000, 2000, 3000]


def test_each_window_lands_in_the_hour_partition_of_its_start(store: LogStore) -> None:
    records = pa.concat_tables([window(DAY + 59 * 60), window(DAY + HOUR), window(DAY + 25 * HOUR)])
    result = store.append(PROJECT, LOGSTORE, records, writer_id="collector-1")

    assert len(result.keys) == 3
    assert result.rows == 9
    relative = [str(p.relative_to(store.store_dir(PROJECT, LOGSTORE).path)) for p in data_files(store)]
    assert relative == [
        "dt=2024-06-01/hour=00/w.1717203540.flowlog-aaaa.collector-1.parquet",
        "dt=2024-06-01/hour=01/w.1717203600.flowlog-aaaa.collector-1.parquet",
        "dt=2024-06-02/hour=01/w.1717290000.flowlog-aaaa.collector-1.parquet",
    ]


def test_files_hold_only_the_fields_the_flow_log_selected(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY, fields=("srcaddr", "dstaddr", "bytes")))
    (path,) = data_files(store)
    assert pq.read_schema(path).names == ["srcaddr", "dstaddr", "bytes", "flow-log-id", "window-start", "writer-id"]


def test_plain_duckdb_reads_the_layout_with_hive_partitions(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY, fields=("srcaddr", "dstaddr", "bytes")))
    store.append(PROJECT, LOGSTORE, window(DAY + 2 * HOUR, fields=("srcaddr", "dstaddr", "bytes", "dstport")))
    glob = f"{store.store_dir(PROJECT, LOGSTORE).path}/**/*.parquet"

    relation = duckdb.sql(
        f"SELECT hour, count(*), count(dstport) FROM read_parquet('{glob}', hive_partitioning = true, "
        "union_by_name = true) GROUP BY hour ORDER BY hour"
    )
    assert relation is not None
    rows = relation.fetchall()

    assert [(int(h), n, d) for h, n, d in rows] == [(0, 3, 0), (2, 3, 3)]


def test_re_append_of_a_window_replaces_it(store: LogStore) -> None:
    first = store.append(PROJECT, LOGSTORE, window(DAY, 3))
    again = store.append(PROJECT, LOGSTORE, window(DAY, 2, seed=7))

    assert first.replaced == ()
    assert again.replaced == (WindowKey("flowlog-aaaa", DAY, "cenflow"),)
    assert sorted(r["bytes"] for r in store.query_rows(PROJECT, LOGSTORE)) == [1007, 2007]
    assert len(data_files(store)) == 1


def test_re_append_of_a_compacted_window_replaces_its_rows_in_the_compacted_file(store: LogStore) -> None:
    for minute in range(4):
        store.append(PROJECT, LOGSTORE, window(DAY + 60 * minute, 3, seed=minute))
    store.compact(now=DAY + 10 * HOUR)
    assert len(data_files(store)) == 1

    result = store.append(PROJECT, LOGSTORE, window(DAY + 60, 2, seed=50))

    assert result.replaced == (WindowKey("flowlog-aaaa", DAY + 60, "cenflow"),)
    rows = store.query_rows(PROJECT, LOGSTORE, where='"window-start" = 1717200060')
    assert sorted(r["bytes"] for r in rows) == [1050, 2050]
    assert store.query(PROJECT, LOGSTORE).num_rows == 3 * 3 + 2


def test_a_window_from_another_writer_is_kept_beside_the_first(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY, 3), writer_id="collector-1")
    result = store.append(PROJECT, LOGSTORE, window(DAY, 2), writer_id="collector-2")

    assert result.replaced == ()
    assert store.query(PROJECT, LOGSTORE).num_rows == 5


def test_contains_sees_window_files_and_compacted_windows(store: LogStore) -> None:
    key = WindowKey("flowlog-aaaa", DAY, "cenflow")
    assert not store.contains(PROJECT, LOGSTORE, key)
    store.append(PROJECT, LOGSTORE, pa.concat_tables([window(DAY), window(DAY + 60)]))
    assert store.contains(PROJECT, LOGSTORE, key)
    store.compact(now=DAY + 10 * HOUR)
    assert len(data_files(store)) == 1
    assert store.contains(PROJECT, LOGSTORE, key)
    assert not store.contains(PROJECT, LOGSTORE, WindowKey("flowlog-aaaa", DAY, "collector-9"))


def test_an_append_of_several_flow_logs_and_windows_round_trips_exactly(store: LogStore) -> None:
    records = pa.concat_tables(
        [window(DAY + 60 * m, 2, flow_log_id=f"flowlog-{f}", seed=m) for m in range(3) for f in ("a", "b")]
    )
    result = store.append(PROJECT, LOGSTORE, records)

    assert len(result.keys) == 6
    assert row_multiset(store.query(PROJECT, LOGSTORE).select(records.column_names)) == row_multiset(records)


def test_empty_append_writes_nothing(store: LogStore) -> None:
    result = store.append(PROJECT, LOGSTORE, window(DAY, 0))
    assert result.rows == 0
    assert result.keys == ()
    assert data_files(store) == []


@pytest.mark.parametrize(
    ("project", "logstore", "writer_id", "flow_log_id"),
    [
        ("../etc", LOGSTORE, "w", "flowlog-a"),
        (PROJECT, "a/b", "w", "flowlog-a"),
        (PROJECT, LOGSTORE, "has.dot", "flowlog-a"),
        (PROJECT, LOGSTORE, "w", "flowlog/../../x"),
    ],
)
def test_names_that_could_escape_or_collide_are_refused(
    store: LogStore, project: str, logstore: str, writer_id: str, flow_log_id: str
) -> None:
    with pytest.raises(InvalidName):
        store.append(project, logstore, window(DAY, flow_log_id=flow_log_id), writer_id=writer_id)
    assert not list(store.root.rglob("*.parquet"))
