from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cenflow.logstore import LogStore, compaction
from cenflow.logstore.compaction import compact_partition
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, data_files, row_multiset, window

REPO = Path(__file__).resolve().parents[2]


def fill_minutes(store: LogStore, minutes: int, rows: int = 3, first: int = DAY) -> None:
    """One append per one-minute window, as a 60 s flow log's collector does."""
    for minute in range(minutes):
        store.append(PROJECT, LOGSTORE, window(first + 60 * minute, rows, seed=minute))


def test_a_day_of_one_minute_appends_becomes_at_most_24_files_with_exactly_the_same_rows(fast_store: LogStore) -> None:
    fill_minutes(fast_store, 1440)
    before = row_multiset(fast_store.query(PROJECT, LOGSTORE))
    assert len(data_files(fast_store)) == 1440

    results = fast_store.compact(now=DAY + 2 * 86400)

    assert len(results) == 24
    assert all(r.committed and r.files_before == 60 for r in results)
    assert len(data_files(fast_store)) <= 24
    assert row_multiset(fast_store.query(PROJECT, LOGSTORE)) == before


def test_partitions_still_open_are_not_compacted(fast_store: LogStore) -> None:
    fill_minutes(fast_store, 120)  # hours 00 and 01

    results = fast_store.compact(now=DAY + 2 * HOUR - 1, settle_seconds=HOUR)

    assert results == []
    results = fast_store.compact(now=DAY + 2 * HOUR, settle_seconds=HOUR)
    assert [r.partition_start for r in results] == [DAY]
    assert len(data_files(fast_store)) == 1 + 60


def test_compacted_files_respect_the_row_bound(fast_store: LogStore) -> None:
    fill_minutes(fast_store, 60, rows=7)
    before = row_multiset(fast_store.query(PROJECT, LOGSTORE))

    fast_store.compact(now=DAY + 10 * HOUR, max_rows_per_file=100)

    sizes = sorted(pq.read_metadata(p).num_rows for p in data_files(fast_store))
    assert sizes == [20, 100, 100, 100, 100]
    assert row_multiset(fast_store.query(PROJECT, LOGSTORE)) == before


def test_a_late_window_does_not_rewrite_full_compacted_files(fast_store: LogStore) -> None:
    fill_minutes(fast_store, 60, rows=5)
    fast_store.compact(now=DAY + 10 * HOUR, max_rows_per_file=100)
    full = {p.name: p.stat().st_ino for p in data_files(fast_store) if pq.read_metadata(p).num_rows == 100}
    assert len(full) == 3

    fast_store.append(PROJECT, LOGSTORE, window(DAY + 30, 2, flow_log_id="flowlog-late"))
    fast_store.compact(now=DAY + 10 * HOUR, max_rows_per_file=100)

    after = {p.name: p.stat().st_ino for p in data_files(fast_store)}
    assert all(after.get(name) == inode for name, inode in full.items())
    assert len(after) == 4
    assert fast_store.query(PROJECT, LOGSTORE).num_rows == 302


def test_a_window_replaced_during_compaction_makes_it_give_up_without_losing_the_new_rows(
    store: LogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_minutes(store, 3)
    real_merge = compaction._merge

    def merge_then_race(*args: Any, **kwargs: Any) -> Any:
        merged = real_merge(*args, **kwargs)
        # A collector re-flushes minute 1 while the compactor holds merged copies of the old one.
        store.append(PROJECT, LOGSTORE, window(DAY + 60, 2, seed=99))
        return merged

    monkeypatch.setattr(compaction, "_merge", merge_then_race)
    (result,) = store.compact(now=DAY + 10 * HOUR)

    assert not result.committed
    assert len(data_files(store)) == 3
    rows = store.query_rows(PROJECT, LOGSTORE, where='"window-start" = 1717200060')
    assert sorted(r["bytes"] for r in rows) == [1099, 2099]
    assert list(store.store_dir(PROJECT, LOGSTORE).tmp_dir.iterdir()) == []


def test_a_reader_in_another_process_never_sees_duplicates_or_gaps(fast_store: LogStore, tmp_path: Path) -> None:
    hours, rows = 4, 3
    fill_minutes(fast_store, 60 * hours, rows=rows)
    expected = fast_store.query(PROJECT, LOGSTORE)
    expected_bytes = sum(expected.column("bytes").to_pylist())
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-m", "tests.logstore.reader_probe", str(fast_store.root.parent), str(stop)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    observations: list[dict[str, int]] = []

    def observe_until(files: int) -> None:
        # Wait (on the pipe, not a clock) until the reader has seen the state with ``files`` files.
        while not observations or observations[-1]["files"] != files:
            line = reader.stdout.readline()  # type: ignore[union-attr]
            assert line, "the reader died"
            observations.append(json.loads(line))

    try:
        observe_until(60 * hours)
        store_dir = fast_store.store_dir(PROJECT, LOGSTORE)
        for hour in range(hours):
            compact_partition(store_dir, DAY + hour * HOUR, durable=False)
            observe_until(60 * hours - 59 * (hour + 1))
    finally:
        stop.touch()
        rest, _ = reader.communicate(timeout=60)
    observations += [json.loads(line) for line in rest.splitlines()]

    assert reader.returncode == 0
    for seen in observations:
        assert seen == {**seen, "rows": expected.num_rows, "keys": 60 * hours, "min": rows, "max": rows}
        assert seen["bytes"] == expected_bytes
    assert {o["files"] for o in observations} >= {240, 181, 122, 63, 4}


def test_concurrent_appends_compactions_and_reads_keep_every_window_exactly_once(fast_store: LogStore) -> None:
    # Three writers append (and re-append) windows of the first two hours while a compactor
    # compacts those hours over and over and a reader checks every snapshot it takes.
    errors: list[BaseException] = []
    done = threading.Event()
    seen_keys: set[tuple[str, int]] = set()
    store_dir = fast_store.store_dir(PROJECT, LOGSTORE)

    def guarded(work: Any) -> Any:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        return run

    def writer(flow: str) -> None:
        for minute in range(120):
            fast_store.append(PROJECT, LOGSTORE, window(DAY + 60 * minute, 3, flow_log_id=flow, seed=minute))
            if minute % 10 == 9:  # a re-flush of an earlier window, maybe compacted meanwhile
                fast_store.append(
                    PROJECT, LOGSTORE, window(DAY + 60 * (minute - 5), 3, flow_log_id=flow, seed=minute - 5)
                )

    def compactor() -> None:
        while not done.is_set():
            for hour in (DAY, DAY + HOUR):
                compact_partition(store_dir, hour, durable=False)

    def reader() -> None:
        while not done.is_set():
            table = fast_store.query(PROJECT, LOGSTORE, order=None)
            counts: dict[tuple[str, int], int] = {}
            for flow, start in zip(table["flow-log-id"].to_pylist(), table["window-start"].to_pylist(), strict=True):
                counts[(flow, start)] = counts.get((flow, start), 0) + 1
            assert set(counts.values()) <= {3}, "a window seen twice or in part"
            assert seen_keys <= set(counts), "a window seen earlier went missing"
            seen_keys.update(counts)

    writers = [threading.Thread(target=guarded(lambda f=f: writer(f))) for f in ("flowlog-a", "flowlog-b", "flowlog-c")]
    others = [threading.Thread(target=guarded(compactor)), threading.Thread(target=guarded(reader))]
    for thread in writers + others:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in others:
        thread.join()

    assert errors == []
    table = fast_store.query(PROJECT, LOGSTORE)
    assert table.num_rows == 3 * 120 * 3
    fast_store.compact(now=DAY + 10 * HOUR)
    assert len(data_files(fast_store)) == 2
    assert table.num_rows == fast_store.query(PROJECT, LOGSTORE).num_rows


def test_compacting_an_empty_or_missing_store_does_nothing(store: LogStore) -> None:
    assert store.compact(PROJECT, LOGSTORE, now=DAY) == []
    assert store.compact(now=DAY + 10 * HOUR) == []


def _codecs(path: Path) -> set[str]:
    metadata = pq.read_metadata(path)
    return {
        metadata.row_group(g).column(c).compression
        for g in range(metadata.num_row_groups)
        for c in range(metadata.num_columns)
    }


def test_window_files_are_snappy_and_compaction_leaves_only_zstd_files(fast_store: LogStore) -> None:
    fill_minutes(fast_store, 3)
    assert {frozenset(_codecs(path)) for path in data_files(fast_store)} == {frozenset({"SNAPPY"})}
    before = row_multiset(fast_store.query(PROJECT, LOGSTORE))

    fast_store.compact(now=DAY + 10 * HOUR)

    (path,) = data_files(fast_store)
    assert _codecs(path) == {"ZSTD"}
    assert row_multiset(fast_store.query(PROJECT, LOGSTORE)) == before


def test_a_lone_window_file_is_compacted_and_a_lone_compacted_file_left_alone(fast_store: LogStore) -> None:
    fast_store.append(PROJECT, LOGSTORE, window(DAY))
    (window_file,) = data_files(fast_store)
    before = row_multiset(fast_store.query(PROJECT, LOGSTORE))

    (result,) = fast_store.compact(now=DAY + 10 * HOUR)

    assert (result.files_before, result.files_after, result.committed) == (1, 1, True)
    (compacted,) = data_files(fast_store)
    assert compacted != window_file
    assert _codecs(compacted) == {"ZSTD"}
    assert row_multiset(fast_store.query(PROJECT, LOGSTORE)) == before
    assert fast_store.compact(now=DAY + 11 * HOUR) == []  # already compacted: nothing to do
