"""Compaction: merge the files of a closed partition into a few files of bounded size.

A 60 s flow log writes 60 window files an hour; compaction turns a closed hour (one that ended
``settle_seconds`` ago, when late windows have stopped arriving) into one file, or several of at
most ``max_rows_per_file`` rows.  An hour with a single window file is rewritten as well: window
files are compressed for writing speed, compacted ones for size.  Compacted files that are
already full are left alone, so late data never makes us rewrite a whole hour.

Concurrency.  Inputs are read from a hard-link snapshot (:mod:`cenflow.logstore.snapshot`) and
merged into temporary files without any store lock.  Under the exclusive lock we then check that
every input is still the file we read (same inode: no writer replaced the window meanwhile) and
swap inputs for outputs in one journaled change.  If an input changed we give up this partition
for this run; the next run sees the new state.  Readers list files under the shared lock, so
they see either all inputs or all outputs, never both and never neither.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from cenflow.logstore.commit import Change, apply_change, journal_pending, recover, sweep
from cenflow.logstore.fsutil import fsync_dir, make_dirs, temp_path
from cenflow.logstore.layout import (
    StoreDir,
    compacted_file_name,
    first_window_start,
    is_compacted_file,
    is_window_file,
)
from cenflow.logstore.locking import StoreGone, shared_file_lock, store_lock
from cenflow.logstore.parquet_io import BatchWriter, iter_batches
from cenflow.logstore.schema import conform_batch, union_schema
from cenflow.logstore.snapshot import PartitionFilter, Snapshot, take_snapshot

DEFAULT_SETTLE_SECONDS = 3600
DEFAULT_MAX_ROWS_PER_FILE = 4_000_000


@dataclass(frozen=True)
class CompactionResult:
    project: str
    logstore: str
    partition_start: int
    files_before: int  # the files merged
    files_after: int  # the files they became
    rows: int
    committed: bool  # False: an input changed while we merged, nothing was swapped


def compact_store(
    store: StoreDir,
    *,
    now: float | None = None,
    settle_seconds: int = DEFAULT_SETTLE_SECONDS,
    max_rows_per_file: int = DEFAULT_MAX_ROWS_PER_FILE,
    durable: bool = True,
) -> list[CompactionResult]:
    """Compact every closed partition of ``store`` that has something to merge."""
    closed_before = int(time.time() if now is None else now) - settle_seconds
    try:
        with store_lock(store, exclusive=True):
            recover(store, durable=durable)
            sweep(store)
    except StoreGone:
        return []
    results: list[CompactionResult] = []
    for partition in store.partitions(None, closed_before):
        if partition.end <= closed_before:
            result = compact_partition(store, partition.start, max_rows_per_file=max_rows_per_file, durable=durable)
            if result is not None:
                results.append(result)
    return results


def compact_partition(
    store: StoreDir, hour_start: int, *, max_rows_per_file: int = DEFAULT_MAX_ROWS_PER_FILE, durable: bool = True
) -> CompactionResult | None:
    """Merge the window files and non-full compacted files of one partition; None if nothing to do."""
    if max_rows_per_file < 1:
        raise ValueError("max_rows_per_file must be positive")
    with shared_file_lock(store.writers_lock_file):  # our temporary files must survive a sweep
        snapshot = take_snapshot(store, PartitionFilter(only=hour_start))
        try:
            inputs = _choose_inputs(snapshot, max_rows_per_file)
            # A lone window file is rewritten too: window files are written for speed
            # (`parquet_io.WINDOW_COMPRESSION`), and only compacted ones are kept.
            if not inputs or (len(inputs) == 1 and not is_window_file(snapshot.sources[inputs[0]])):
                return None
            sources = [(snapshot.links[i], first_window_start(snapshot.sources[i])) for i in inputs]
            outputs, rows = _merge(store, sources, max_rows_per_file, durable=durable)
            partition_dir = store.partition(hour_start).path
            change = Change(
                renames=[(temp, partition_dir / compacted_file_name(first)) for temp, first in outputs],
                unlinks=[snapshot.sources[i] for i in inputs],
            )
            try:
                with store_lock(store, exclusive=True):
                    recover(store, durable=durable)
                    unchanged = all(_inode(snapshot.sources[i]) == snapshot.inodes[i] for i in inputs)
                    if unchanged:
                        apply_change(store, change, durable=durable)
            finally:
                if not journal_pending(store):  # a pending journal still needs our outputs
                    for temp, _ in outputs:
                        temp.unlink(missing_ok=True)  # left only when not committed
            return CompactionResult(
                store.project, store.logstore, hour_start, len(inputs), len(outputs), rows, committed=unchanged
            )
        finally:
            snapshot.close()


def _choose_inputs(snapshot: Snapshot, max_rows_per_file: int) -> list[int]:
    chosen: list[int] = []
    for index, (link, source) in enumerate(zip(snapshot.links, snapshot.sources, strict=True)):
        # Full compacted files stay as they are: late windows must not rewrite a whole hour.
        not_full = is_compacted_file(source) and pq.read_metadata(link).num_rows < max_rows_per_file
        if is_window_file(source) or not_full:
            chosen.append(index)
    return chosen


def _inode(path: Path) -> int:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return -1


class _RollingOutput:
    """Temporary files of at most ``max_rows`` rows each, fsync'd when finished."""

    def __init__(self, tmp_dir: Path, schema: pa.Schema, max_rows: int, *, durable: bool) -> None:
        self.tmp_dir, self.schema, self.max_rows, self.durable = tmp_dir, schema, max_rows, durable
        self.finished: list[tuple[Path, int]] = []  # (temp path, first window start)
        self._current: tuple[Path, IO[bytes], BatchWriter, int] | None = None

    def write(self, batch: pa.RecordBatch, first_window: int) -> None:
        while batch.num_rows:
            if self._current is None:
                path = temp_path(self.tmp_dir, ".parquet")
                handle = open(path, "xb")  # noqa: SIM115 - closed in _finish_current
                self._current = (path, handle, BatchWriter(handle, self.schema), first_window)
            writer = self._current[2]
            room = self.max_rows - writer.rows
            writer.write(batch.slice(0, room))
            batch = batch.slice(min(room, batch.num_rows))
            if writer.rows >= self.max_rows:
                self._finish_current()

    def _finish_current(self) -> None:
        if self._current is None:
            return
        path, handle, writer, first_window = self._current
        self._current = None
        with handle:
            writer.close()
            handle.flush()
            if self.durable:
                os.fsync(handle.fileno())
        self.finished.append((path, first_window))

    def close(self) -> list[tuple[Path, int]]:
        self._finish_current()
        return self.finished

    def abort(self) -> None:
        if self._current is not None:
            self._current[1].close()
            self.finished.append((self._current[0], 0))
            self._current = None
        for path, _ in self.finished:
            path.unlink(missing_ok=True)


def _merge(
    store: StoreDir, inputs: list[tuple[Path, int]], max_rows_per_file: int, *, durable: bool
) -> tuple[list[tuple[Path, int]], int]:
    """Concatenate ``inputs`` (file, its first window start; oldest first) into rolling temporary files."""
    make_dirs(store.tmp_dir, durable=durable)
    schema = union_schema(pq.read_schema(path) for path, _ in inputs)
    output = _RollingOutput(store.tmp_dir, schema, max_rows_per_file, durable=durable)
    rows = 0
    try:
        for path, first_window in inputs:
            for batch in iter_batches(path):
                output.write(conform_batch(batch, schema), first_window)
                rows += batch.num_rows
        finished = output.close()
    except BaseException:
        output.abort()
        raise
    if durable:
        fsync_dir(store.tmp_dir)
    return finished, rows
