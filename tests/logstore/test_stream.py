from __future__ import annotations

import json

import pyarrow as pa
import pytest

from cenflow.logstore import LogStore, QueryError
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, data_files, window


def test_lines_are_json_objects_keyed_by_cen_field_names_without_empty_fields(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY, 2, fields=("srcaddr", "dstaddr", "bytes", "srcport")))
    nodata = pa.table({"log-status": ["NODATA"], "start": [DAY + 60], "flow-log-id": ["flowlog-aaaa"]})
    store.append(PROJECT, LOGSTORE, nodata)

    lines = list(store.stream_json_lines(PROJECT, LOGSTORE))

    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    objects = [json.loads(line) for line in lines]
    assert min(objects[:2], key=lambda o: o["bytes"]) == {
        "srcaddr": "10.0.0.1",
        "srcport": 40000,
        "dstaddr": "10.1.0.1",
        "bytes": 1000,
        "flow-log-id": "flowlog-aaaa",
        "window-start": DAY,
    }
    assert objects[2] == {
        "start": DAY + 60,
        "log-status": "NODATA",
        "flow-log-id": "flowlog-aaaa",
        "window-start": DAY + 60,
    }


def test_records_come_oldest_window_first_within_the_range(store: LogStore) -> None:
    for start in (DAY + 2 * HOUR, DAY, DAY + HOUR + 60, DAY + HOUR):
        store.append(PROJECT, LOGSTORE, window(start, 2))

    starts = [
        json.loads(line)["window-start"] for line in store.stream_json_lines(PROJECT, LOGSTORE, DAY + 1, DAY + 3 * HOUR)
    ]

    assert starts == [DAY + HOUR] * 2 + [DAY + HOUR + 60] * 2 + [DAY + 2 * HOUR] * 2


def test_lines_can_be_grouped_into_bigger_items(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY, 5))
    items = list(store.stream_json_lines(PROJECT, LOGSTORE, lines_per_item=2))
    assert [item.count(b"\n") for item in items] == [2, 2, 1]


def test_where_and_limit_apply(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY, 5))
    assert len(list(store.stream_json_lines(PROJECT, LOGSTORE, where="bytes >= 3000"))) == 3
    assert len(list(store.stream_json_lines(PROJECT, LOGSTORE, limit=2))) == 2


@pytest.mark.parametrize("where", ["bytes > 1; select 1", "nosuch = 1"])
def test_a_bad_where_fails_before_the_first_line(store: LogStore, where: str) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY))
    with pytest.raises(QueryError):
        store.stream_json_lines(PROJECT, LOGSTORE, where=where)
    snapshots = store.store_dir(PROJECT, LOGSTORE).snapshots_dir
    assert not snapshots.exists() or list(snapshots.iterdir()) == []


def test_the_snapshot_is_released_when_the_stream_is_exhausted_or_closed(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY))
    snapshots = store.store_dir(PROJECT, LOGSTORE).snapshots_dir

    exhausted = store.stream_json_lines(PROJECT, LOGSTORE)
    assert len(list(snapshots.iterdir())) == 1
    assert len(list(exhausted)) == 3
    assert list(snapshots.iterdir()) == []

    closed = store.stream_json_lines(PROJECT, LOGSTORE)
    next(closed)
    closed.close()
    assert list(snapshots.iterdir()) == []


def test_a_stream_reads_the_state_it_started_with_despite_compaction(store: LogStore) -> None:
    for minute in range(3):
        store.append(PROJECT, LOGSTORE, window(DAY + 60 * minute, 2, seed=minute))
    with store.stream_json_lines(PROJECT, LOGSTORE) as lines:
        # Before the first line is read, the files the stream started with are compacted away.
        store.compact(now=DAY + 10 * HOUR)
        store.append(PROJECT, LOGSTORE, window(DAY + 60, 1, seed=9))  # replaces minute 1 from now on
        assert len(data_files(store)) == 2
        records = [json.loads(line) for line in lines]
    assert [r["window-start"] for r in records] == [DAY, DAY, DAY + 60, DAY + 60, DAY + 120, DAY + 120]
    assert sorted(r["bytes"] for r in records) == [1000, 1001, 1002, 2000, 2001, 2002]
    assert store.query(PROJECT, LOGSTORE).num_rows == 5


def test_a_missing_logstore_streams_nothing(store: LogStore) -> None:
    assert list(store.stream_json_lines(PROJECT, "never-written")) == []
