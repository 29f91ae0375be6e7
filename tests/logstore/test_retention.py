from __future__ import annotations

import pytest

from cenflow.logstore import LogStore
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, data_files, window

NOW = DAY + 10 * 86400  # 2024-06-11T00:00:00Z


def fill_hours(store: LogStore, hour_starts: list[int], logstore: str = LOGSTORE) -> None:
    for start in hour_starts:
        store.append(PROJECT, logstore, window(start + 120))


def stored_hours(store: LogStore, logstore: str = LOGSTORE) -> list[int]:
    return [p.start for p in store.store_dir(PROJECT, logstore).partitions()]


def test_retention_drops_exactly_the_hours_that_ended_before_the_cutoff(store: LogStore) -> None:
    cutoff = NOW - 7 * 86400
    hours = [cutoff - 2 * HOUR, cutoff - HOUR, cutoff, cutoff + HOUR]
    fill_hours(store, hours)
    store.set_retention_days(PROJECT, LOGSTORE, 7)

    (result,) = store.apply_retention(now=NOW)

    # The hour ending exactly at the cutoff is entirely older than 7 days and goes; the hour
    # starting at the cutoff is entirely younger and stays.
    assert result.dropped == [cutoff - 2 * HOUR, cutoff - HOUR]
    assert stored_hours(store) == [cutoff, cutoff + HOUR]
    assert store.query(PROJECT, LOGSTORE).num_rows == 6


def test_an_hour_partly_inside_the_retention_is_kept(store: LogStore) -> None:
    cutoff = NOW - 86400
    fill_hours(store, [cutoff - HOUR])
    store.set_retention_days(PROJECT, LOGSTORE, 1)

    assert store.apply_retention(now=NOW - 1)[0].dropped == []
    assert store.apply_retention(now=NOW)[0].dropped == [cutoff - HOUR]


def test_retention_is_per_logstore_and_unset_means_keep_or_the_default(store: LogStore) -> None:
    old, recent = NOW - 20 * 86400, NOW - 86400
    for logstore in ("short", "long", "unset"):
        fill_hours(store, [old, recent], logstore)
    store.set_retention_days(PROJECT, "short", 2)
    store.set_retention_days(PROJECT, "long", 30)

    store.apply_retention(now=NOW)
    assert [len(stored_hours(store, ls)) for ls in ("short", "long", "unset")] == [1, 2, 2]
    assert store.retention_days(PROJECT, "unset") is None

    store.apply_retention(now=NOW, default_days=10)
    assert [len(stored_hours(store, ls)) for ls in ("short", "long", "unset")] == [1, 2, 1]


def test_dry_run_reports_without_dropping(store: LogStore) -> None:
    fill_hours(store, [NOW - 30 * 86400])
    store.set_retention_days(PROJECT, LOGSTORE, 7)

    (result,) = store.apply_retention(now=NOW, dry_run=True)

    assert result.dropped == [NOW - 30 * 86400]
    assert len(data_files(store)) == 1


def test_empty_day_directories_go_with_their_last_hour(store: LogStore) -> None:
    fill_hours(store, [NOW - 30 * 86400, NOW - 30 * 86400 + HOUR])
    store.set_retention_days(PROJECT, LOGSTORE, 7)
    store.apply_retention(now=NOW)
    base = store.store_dir(PROJECT, LOGSTORE).path
    assert [p.name for p in base.iterdir() if not p.name.startswith(".")] == []
    assert list(store.store_dir(PROJECT, LOGSTORE).trash_dir.iterdir()) == []


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_retention_out_of_range_is_refused(store: LogStore, days: int) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        store.set_retention_days(PROJECT, LOGSTORE, days)


def test_dropping_a_logstore_removes_its_records_only(store: LogStore) -> None:
    fill_hours(store, [DAY])
    fill_hours(store, [DAY], "other")

    assert store.drop_logstore(PROJECT, LOGSTORE)

    assert not store.exists(PROJECT, LOGSTORE)
    assert store.query(PROJECT, LOGSTORE).num_rows == 0
    assert store.query(PROJECT, "other").num_rows == 3
    assert not store.drop_logstore(PROJECT, LOGSTORE)
    assert list((store.root / ".trash").iterdir()) == []


def test_dropping_a_project_removes_all_its_logstores(store: LogStore) -> None:
    fill_hours(store, [DAY])
    fill_hours(store, [DAY], "other")
    store.append("another-project", LOGSTORE, window(DAY))

    assert store.drop_project(PROJECT)

    assert store.logstores() == [("another-project", LOGSTORE)]
    assert not store.drop_project(PROJECT)


def test_a_logstore_can_be_written_again_after_being_dropped(store: LogStore) -> None:
    fill_hours(store, [DAY])
    store.drop_logstore(PROJECT, LOGSTORE)
    store.append(PROJECT, LOGSTORE, window(DAY + 60, 2))
    assert store.query(PROJECT, LOGSTORE).num_rows == 2


def test_an_open_stream_keeps_reading_what_retention_dropped(store: LogStore) -> None:
    fill_hours(store, [NOW - 30 * 86400, NOW - 29 * 86400])
    store.set_retention_days(PROJECT, LOGSTORE, 7)

    with store.stream_json_lines(PROJECT, LOGSTORE) as lines:
        store.apply_retention(now=NOW)
        assert store.query(PROJECT, LOGSTORE).num_rows == 0
        assert len(list(lines)) == 6
