from __future__ import annotations

import pyarrow as pa
import pytest

from cenflow.logstore import LogStore, QueryError
from tests.logstore.conftest import DAY, LOGSTORE, PROJECT


def flows(start: int, pairs: list[tuple[str, str, int, int]]) -> pa.Table:
    """Records (srcaddr, dstaddr, bytes, packets) of one window."""
    n = len(pairs)
    return pa.table(
        {
            "srcaddr": [p[0] for p in pairs],
            "dstaddr": [p[1] for p in pairs],
            "bytes": [p[2] for p in pairs],
            "packets": [p[3] for p in pairs],
            "flow-log-id": ["flowlog-a"] * n,
            "window-start": [start] * n,
        }
    )


@pytest.fixture
def traffic_store(store: LogStore) -> LogStore:
    store.append(PROJECT, LOGSTORE, flows(DAY, [("a", "x", 100, 1), ("b", "x", 50, 20), ("a", "y", 10, 1)]))
    store.append(PROJECT, LOGSTORE, flows(DAY + 120, [("b", "y", 500, 2), ("c", "x", 5, 1)]))
    nodata = pa.table({"log-status": ["NODATA"], "flow-log-id": ["flowlog-a"], "window-start": [DAY + 60]})
    store.append(PROJECT, LOGSTORE, nodata)
    return store


def test_top_sources_by_bytes(traffic_store: LogStore) -> None:
    table = traffic_store.top_talkers(PROJECT, LOGSTORE, by="srcaddr", metric="bytes")
    assert table.column_names == ["srcaddr", "bytes", "packets", "flows"]
    assert table.to_pylist() == [
        {"srcaddr": "b", "bytes": 550, "packets": 22, "flows": 2},
        {"srcaddr": "a", "bytes": 110, "packets": 2, "flows": 2},
        {"srcaddr": "c", "bytes": 5, "packets": 1, "flows": 1},
    ]


def test_top_destinations_by_packets_with_limit(traffic_store: LogStore) -> None:
    table = traffic_store.top_talkers(PROJECT, LOGSTORE, by="dstaddr", metric="packets", limit=1)
    assert table.to_pylist() == [{"dstaddr": "x", "bytes": 155, "packets": 22, "flows": 3}]


def test_top_pairs_within_a_time_range_and_where(traffic_store: LogStore) -> None:
    table = traffic_store.top_talkers(PROJECT, LOGSTORE, by="pair", from_ts=DAY, to_ts=DAY + 60, where="bytes > 20")
    assert [(r["srcaddr"], r["dstaddr"], r["bytes"]) for r in table.to_pylist()] == [("a", "x", 100), ("b", "x", 50)]


def test_ties_are_broken_by_address(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, flows(DAY, [("d", "x", 7, 1), ("b", "x", 7, 1), ("c", "x", 7, 1)]))
    table = store.top_talkers(PROJECT, LOGSTORE)
    assert table.column("srcaddr").to_pylist() == ["b", "c", "d"]


@pytest.mark.parametrize(("by", "metric"), [("port", "bytes"), ("srcaddr", "flows")])
def test_unknown_rankings_are_refused(traffic_store: LogStore, by: str, metric: str) -> None:
    with pytest.raises(QueryError):
        traffic_store.top_talkers(PROJECT, LOGSTORE, by=by, metric=metric)  # type: ignore[arg-type]


def test_traffic_per_bucket_without_range_lists_only_buckets_with_records(traffic_store: LogStore) -> None:
    table = traffic_store.traffic(PROJECT, LOGSTORE, bucket_seconds=60)
    assert table.to_pylist() == [
        {"bucket": DAY, "bytes": 160, "packets": 22, "flows": 3},
        {"bucket": DAY + 60, "bytes": 0, "packets": 0, "flows": 1},
        {"bucket": DAY + 120, "bytes": 505, "packets": 3, "flows": 2},
    ]


def test_traffic_over_a_range_fills_empty_buckets_with_zeros(traffic_store: LogStore) -> None:
    table = traffic_store.traffic(PROJECT, LOGSTORE, bucket_seconds=120, from_ts=DAY - 120, to_ts=DAY + 360)
    assert table.column("bucket").to_pylist() == [DAY - 120, DAY, DAY + 120, DAY + 240]
    assert table.column("bytes").to_pylist() == [0, 160, 505, 0]
    assert table.column("flows").to_pylist() == [0, 4, 2, 0]


def test_traffic_with_a_where_expression(traffic_store: LogStore) -> None:
    table = traffic_store.traffic(PROJECT, LOGSTORE, bucket_seconds=3600, where="srcaddr = 'b'")
    assert table.to_pylist() == [{"bucket": DAY, "bytes": 550, "packets": 22, "flows": 2}]


def test_traffic_refuses_a_range_with_too_many_buckets(traffic_store: LogStore) -> None:
    with pytest.raises(QueryError, match="buckets"):
        traffic_store.traffic(PROJECT, LOGSTORE, bucket_seconds=1, from_ts=0, to_ts=DAY)
