"""Crash safety: what a killed writer or compactor leaves behind is never seen half-done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from cenflow.logstore import LogStore
from cenflow.logstore.commit import journal_pending, sweep
from cenflow.logstore.locking import shared_file_lock, store_lock
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, data_files, row_multiset, window
from tests.logstore.crash_probe import TWO_WINDOWS

REPO = Path(__file__).resolve().parents[2]


def run_probe(data_dir: Path, operation: str, crash_after: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.logstore.crash_probe", str(data_dir), operation, str(crash_after)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_temporary_file_left_behind_is_ignored_by_readers_and_swept(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY))
    store_dir = store.store_dir(PROJECT, LOGSTORE)
    # What a writer killed mid-write leaves: a partial Parquet file under .cenflow/tmp.
    partial = store_dir.tmp_dir / "4242-deadbeef.parquet"
    partial.write_bytes(b"PAR1\x00\x00 truncated")

    assert store.query(PROJECT, LOGSTORE).num_rows == 3
    store.compact(now=DAY + 10 * HOUR)

    assert not partial.exists()


def test_sweep_spares_the_temporary_files_of_a_live_writer(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY))
    store_dir = store.store_dir(PROJECT, LOGSTORE)
    in_progress = store_dir.tmp_dir / "1-inprogress.parquet"
    in_progress.write_bytes(b"being written")

    with shared_file_lock(store_dir.writers_lock_file), store_lock(store_dir, exclusive=True):
        sweep(store_dir)
    assert in_progress.exists()

    with store_lock(store_dir, exclusive=True):
        sweep(store_dir)
    assert not in_progress.exists()


def test_an_abandoned_reader_snapshot_is_swept_but_a_live_one_is_not(store: LogStore) -> None:
    store.append(PROJECT, LOGSTORE, window(DAY))
    store_dir = store.store_dir(PROJECT, LOGSTORE)
    abandoned = store_dir.snapshots_dir / "dead-reader"
    abandoned.mkdir(parents=True)
    os.link(data_files(store)[0], abandoned / "000000.parquet")

    with store.stream_json_lines(PROJECT, LOGSTORE) as live:
        store.compact(now=DAY + 10 * HOUR)  # sweeps
        assert not abandoned.exists()
        assert len(list(store_dir.snapshots_dir.iterdir())) == 1  # the live stream's
        assert len(list(live)) == 3
    assert list(store_dir.snapshots_dir.iterdir()) == []


@pytest.mark.parametrize("crash_after", [0, 1])
def test_an_append_killed_mid_commit_is_rolled_forward_whole(store: LogStore, crash_after: int) -> None:
    result = run_probe(store.root.parent, "append", crash_after)
    assert result.returncode == -signal.SIGKILL, result.stderr
    store_dir = store.store_dir(PROJECT, LOGSTORE)
    assert journal_pending(store_dir)

    table = store.query(PROJECT, LOGSTORE)  # a reader finishes the dead writer's change

    assert sorted(set(table.column("window-start").to_pylist())) == list(TWO_WINDOWS)
    assert table.num_rows == 8
    assert not journal_pending(store_dir)


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3])
def test_a_compaction_killed_mid_commit_never_shows_duplicates_or_gaps(store: LogStore, crash_after: int) -> None:
    for minute in range(3):
        store.append(PROJECT, LOGSTORE, window(DAY + 60 * minute, 4, seed=minute))
    before = row_multiset(store.query(PROJECT, LOGSTORE))
    # Compacting 3 files is 4 steps: rename the merged file in, unlink the 3 inputs.

    result = run_probe(store.root.parent, "compact", crash_after)

    assert result.returncode == -signal.SIGKILL, result.stderr
    assert row_multiset(store.query(PROJECT, LOGSTORE)) == before
    assert len(data_files(store)) == 1


def test_without_a_crash_the_probe_completes(store: LogStore) -> None:
    # Guards the two tests above: the probe only crashes because we told it to.
    result = run_probe(store.root.parent, "append", 99)
    assert result.returncode == 0, result.stderr
    assert "finished without crashing" in result.stdout
    assert store.query(PROJECT, LOGSTORE).num_rows == 8


def test_a_file_system_error_mid_commit_leaves_a_change_to_roll_forward(
    store: LogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    calls = {"n": 0}

    def failing_second_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr("cenflow.logstore.commit.os.replace", failing_second_replace)
    with pytest.raises(OSError, match="Input/output"):
        store.append(PROJECT, LOGSTORE, pa.concat_tables([window(DAY), window(DAY + HOUR)]))
    monkeypatch.undo()

    assert journal_pending(store.store_dir(PROJECT, LOGSTORE))
    assert store.query(PROJECT, LOGSTORE).num_rows == 6
