from __future__ import annotations

import pyarrow as pa
import pytest

from cenflow.logstore import LogStore, QueryError, QueryLimits, QueryTimeout
from cenflow.logstore.query import read_session
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, window


@pytest.fixture
def three_hours(store: LogStore) -> LogStore:
    """Windows at 00:00, 00:59, 01:00 and 02:30 of the same day, three records each."""
    for start in (DAY, DAY + 59 * 60, DAY + HOUR, DAY + 2 * HOUR + 30 * 60):
        fields = ("srcaddr", "dstaddr", "bytes", "packets", "dstport", "protocol", "log-status")
        store.append(PROJECT, LOGSTORE, window(start, seed=start % 97, fields=fields))
    return store


def window_starts(store: LogStore, **kwargs: object) -> list[int]:
    table = store.query(PROJECT, LOGSTORE, **kwargs)  # type: ignore[arg-type]
    return sorted(set(table.column("window-start").to_pylist()))


def test_from_is_inclusive_and_to_exclusive_on_window_start(three_hours: LogStore) -> None:
    assert window_starts(three_hours, from_ts=DAY + 59 * 60, to_ts=DAY + HOUR) == [DAY + 59 * 60]
    assert window_starts(three_hours, from_ts=DAY + 59 * 60 + 1, to_ts=DAY + HOUR + 1) == [DAY + HOUR]


def test_without_bounds_everything_is_returned(three_hours: LogStore) -> None:
    assert three_hours.query(PROJECT, LOGSTORE).num_rows == 12
    assert window_starts(three_hours, from_ts=DAY + HOUR) == [DAY + HOUR, DAY + 2 * HOUR + 1800]
    assert window_starts(three_hours, to_ts=DAY + HOUR) == [DAY, DAY + 59 * 60]


def test_only_partitions_overlapping_the_range_are_read(three_hours: LogStore) -> None:
    store_dir = three_hours.store_dir(PROJECT, LOGSTORE)
    with read_session(store_dir, DAY + HOUR + 10, DAY + HOUR + 20) as session:
        assert [p.parent.name for p in session.sources] == ["hour=01"]
    with read_session(store_dir, DAY + 30 * 60, DAY + HOUR + 1) as session:
        assert [p.parent.name for p in session.sources] == ["hour=00", "hour=00", "hour=01"]


def test_a_pruned_partition_is_not_even_opened(three_hours: LogStore) -> None:
    # A corrupt file in hour 02 breaks any query that reads it; a range that excludes the hour
    # must not touch it.
    (three_hours.store_dir(PROJECT, LOGSTORE).partition(DAY + 2 * HOUR).path / "c.1.x.parquet").write_bytes(b"junk")
    assert three_hours.query(PROJECT, LOGSTORE, DAY, DAY + 2 * HOUR).num_rows == 9
    with pytest.raises(QueryError):
        three_hours.query(PROJECT, LOGSTORE, DAY, DAY + 3 * HOUR)


def test_a_missing_logstore_reads_as_empty_with_the_record_schema(store: LogStore) -> None:
    table = store.query(PROJECT, "never-written")
    assert table.num_rows == 0
    assert "srcaddr" in table.column_names
    assert "window-start" in table.column_names
    assert not store.exists(PROJECT, "never-written")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("bytes >= 2000", 8),
        ("srcaddr LIKE '10.0.%' AND dstaddr = '10.1.0.1'", 4),
        ('"log-status" = \'OK\' AND "window-start" < 1717203600', 6),
        ("dstport IN (22, 443) OR protocol = 17", 12),
        ("srcaddr = 'a;b'", 0),  # a semicolon inside a string literal is just text
        ('"account-id" IS NULL', 12),  # not selected by the flow log: NULL, not an error
        ("bytes > (SELECT max(range) FROM range(1000))", 12),
    ],
)
def test_where_expressions_filter(three_hours: LogStore, where: str, expected: int) -> None:
    assert three_hours.query(PROJECT, LOGSTORE, where=where).num_rows == expected


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("bytes > 1; DROP TABLE log", "single SQL boolean expression"),
        ("1=1) UNION ALL (SELECT * FROM log", "single SQL boolean expression"),
        ("bytes >", "single SQL boolean expression"),
        ("bytes > 1, packets > 1", "single SQL boolean expression"),
        ("nosuch = 1", "nosuch"),
        ("sum(bytes) > 1", "aggregate"),
        ("(SELECT count(*) FROM read_csv('/etc/passwd')) > 0", "/etc/passwd"),
        ("getenv('HOME') IS NOT NULL", "getenv"),
    ],
)
def test_bad_where_expressions_raise_query_error_with_a_clear_message(
    three_hours: LogStore, where: str, message: str
) -> None:
    with pytest.raises(QueryError, match=message) as caught:
        three_hours.query(PROJECT, LOGSTORE, where=where)
    assert "LINE 1" not in str(caught.value)


def test_the_sandbox_cannot_read_files_even_inside_the_data_dir(three_hours: LogStore) -> None:
    partition_dir = three_hours.store_dir(PROJECT, LOGSTORE).path / "dt=2024-06-01" / "hour=00"
    some_file = next(partition_dir.iterdir())
    with pytest.raises(QueryError, match=r"disabled|Permission"):
        three_hours.query(PROJECT, LOGSTORE, where=f"(SELECT count(*) FROM read_parquet('{some_file}')) > 0")


def test_order_and_limit(three_hours: LogStore) -> None:
    table = three_hours.query(PROJECT, LOGSTORE, order="bytes desc, srcaddr", limit=4)
    assert table.column("bytes").to_pylist() == sorted(table.column("bytes").to_pylist(), reverse=True)
    assert table.num_rows == 4
    assert three_hours.query(PROJECT, LOGSTORE, order=["window-start DESC"]).column("window-start")[0].as_py() == (
        DAY + 2 * HOUR + 1800
    )


@pytest.mark.parametrize("order", ["bytes; drop", "nosuch", "bytes sideways", "length(srcaddr)"])
def test_order_accepts_record_fields_only(three_hours: LogStore, order: str) -> None:
    with pytest.raises(QueryError, match="cannot order by"):
        three_hours.query(PROJECT, LOGSTORE, order=order)


def test_a_query_running_past_its_time_limit_is_stopped(three_hours: LogStore) -> None:
    endless = "(SELECT count(*) FROM range(1000000000000) a) > 0"
    with pytest.raises(QueryTimeout, match="longer than"):
        three_hours.query(PROJECT, LOGSTORE, where=endless, limits=QueryLimits(timeout_seconds=0.2))


def test_query_result_has_the_record_schema(three_hours: LogStore) -> None:
    table = three_hours.query(PROJECT, LOGSTORE, limit=1)
    assert table.schema.field("srcport").type == pa.int32()
    assert table.schema.field("bytes").type == pa.int64()
    assert table.schema.field("srcaddr").type == pa.string()
