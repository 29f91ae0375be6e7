"""Appending records: one durable file per (flow log, window, writer), committed atomically.

Idempotency.  Each window a writer flushes for a flow log goes to a file named after its
:class:`WindowKey` (``w.<window-start>.<flow-log-id>.<writer-id>.parquet``).  Appending the
same key again *replaces* that window's records instead of adding to them: a collector that
crashed after writing a window but before acknowledging its input simply flushes the window
again, and the store holds it once.  The last flush of a key wins, so a re-flush built from
more input (replayed datagrams) is not lost either.  A key already merged into a compacted
file is replaced too: the compacted file is rewritten without that key's rows, in the same
atomic change that adds the new window file.  :attr:`AppendResult.replaced` reports which keys
were already stored, and :func:`contains` answers the question before writing.

Writer ids must be stable across restarts of the same collector (e.g. ``collector-1``), and
distinct between collectors that aggregate the same flow log's traffic in parallel, so that
their partial windows do not replace each other.

Atomicity and durability.  Every file is written to ``.cenflow/tmp`` and fsync'd without any
store lock held; then, under the exclusive store lock, the whole append (all its windows and
rewrites) becomes visible in one journaled change (:mod:`cenflow.logstore.commit`).  A kill at
any point leaves either the old state or the new one for every reader.  Preparation runs
unlocked, so before committing we check that no compaction swapped the compacted files we read
meanwhile; if one did, we prepare again.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cenflow.logstore.commit import Change, apply_change, journal_pending, recover
from cenflow.logstore.errors import ConcurrentModification, InvalidRecords
from cenflow.logstore.fsutil import write_temp
from cenflow.logstore.layout import (
    Partition,
    StoreDir,
    WindowKey,
    check_id,
    compacted_file_name,
    first_window_start,
    is_compacted_file,
    partition_start,
)
from cenflow.logstore.locking import StoreGone, shared_file_lock, store_lock
from cenflow.logstore.parquet_io import BatchWriter, file_keys, iter_batches, without_keys, write_table
from cenflow.logstore.schema import FLOW_LOG_ID, WINDOW_START, conform_records
from cenflow.logstore.snapshot import read_lock

DEFAULT_WRITER_ID = "cenflow"
_MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class AppendResult:
    keys: tuple[WindowKey, ...]  # the windows written, sorted
    replaced: tuple[WindowKey, ...]  # those of them that were stored before and got replaced
    rows: int


@dataclass
class _Plan:
    change: Change = field(default_factory=Change)
    # For every partition touched: the compacted files seen while preparing, name -> inode.
    compacted_seen: dict[Path, dict[str, int]] = field(default_factory=dict)
    replaced_in_compacted: set[WindowKey] = field(default_factory=set)
    window_files: dict[WindowKey, Path] = field(default_factory=dict)

    def discard(self) -> None:
        for temp, _ in self.change.renames:
            temp.unlink(missing_ok=True)


def append(
    store: StoreDir, records: pa.Table, *, writer_id: str = DEFAULT_WRITER_ID, durable: bool = True
) -> AppendResult:
    check_id(writer_id, "writer id")
    table = conform_records(records, writer_id)
    if table.num_rows == 0:
        return AppendResult((), (), 0)
    windows = split_by_window(table, writer_id)
    for _ in range(_MAX_ATTEMPTS):
        with shared_file_lock(store.writers_lock_file):
            plan = _prepare(store, windows, durable=durable)
            try:
                with store_lock(store, exclusive=True, create=True):
                    recover(store, durable=durable)
                    if _still_valid(plan):
                        replaced = {key for key, final in plan.window_files.items() if final.exists()}
                        apply_change(store, plan.change, durable=durable)
                        return AppendResult(
                            tuple(sorted(plan.window_files)),
                            tuple(sorted(replaced | plan.replaced_in_compacted)),
                            table.num_rows,
                        )
            finally:
                if not journal_pending(store):  # a pending journal still needs our temporary files
                    plan.discard()  # the temporary files that were not committed
    raise ConcurrentModification(f"append to {store.project}/{store.logstore} lost {_MAX_ATTEMPTS} races")


def split_by_window(table: pa.Table, writer_id: str) -> list[tuple[WindowKey, pa.Table]]:
    """Cut ``table`` (conformed records of ``writer_id``) into one table per window key."""
    if _single_window(table):
        # What a collector appends (one window at a time): the stable sort would keep every row
        # in place, so skip its cost (it sorted 2 M strings per window) and cut nothing.
        table = table.combine_chunks()
        window_start = int(table.column(WINDOW_START)[0].as_py())
        if window_start < 0:
            raise InvalidRecords("'window-start' must be unix seconds after 1970")
        flow_log_id = table.column(FLOW_LOG_ID)[0].as_py()
        return [(WindowKey(check_id(flow_log_id, "flow log id"), window_start, writer_id), table)]
    flow_field = table.schema.field(FLOW_LOG_ID)
    if pa.types.is_dictionary(flow_field.type):  # Arrow sorts tables by plain keys only
        plain = table.column(FLOW_LOG_ID).cast(pa.string())
        table = table.set_column(table.schema.get_field_index(FLOW_LOG_ID), flow_field.with_type(pa.string()), plain)
    table = table.sort_by([(FLOW_LOG_ID, "ascending"), (WINDOW_START, "ascending")]).combine_chunks()
    flows = pc.dictionary_encode(table.column(FLOW_LOG_ID)).combine_chunks()
    flow_codes = flows.indices.to_numpy(zero_copy_only=False)
    windows = table.column(WINDOW_START).to_numpy()
    if windows.min() < 0:
        raise InvalidRecords("'window-start' must be unix seconds after 1970")
    cuts = np.flatnonzero((flow_codes[1:] != flow_codes[:-1]) | (windows[1:] != windows[:-1])) + 1
    bounds = [0, *cuts.tolist(), table.num_rows]
    pieces: list[tuple[WindowKey, pa.Table]] = []
    for begin, end in itertools.pairwise(bounds):
        flow_log_id = flows.dictionary[flow_codes[begin]].as_py()
        key = WindowKey(check_id(flow_log_id, "flow log id"), int(windows[begin]), writer_id)
        pieces.append((key, table.slice(begin, end - begin)))
    return pieces


def _single_window(table: pa.Table) -> bool:
    """Whether every row has the same flow log id and window start (keys are never null)."""
    if table.num_rows == 0:
        return False
    windows = pc.min_max(table.column(WINDOW_START))
    if windows["min"].as_py() != windows["max"].as_py():
        return False
    flows = _used_values(table.column(FLOW_LOG_ID))
    return bool(pc.all(pc.equal(flows, flows[0])).as_py())


def _used_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``column``, or for a dictionary column the dictionary entries its rows use (a collector's
    flow log id: one entry, no pass over the rows)."""
    if not pa.types.is_dictionary(column.type):
        return column
    used = [
        chunk.dictionary if len(chunk.dictionary) == 1 else chunk.dictionary.take(pc.unique(chunk.indices))
        for chunk in column.chunks
        if len(chunk)
    ]
    return pa.chunked_array(used, column.type.value_type)


def _prepare(store: StoreDir, windows: Sequence[tuple[WindowKey, pa.Table]], *, durable: bool) -> _Plan:
    plan = _Plan()
    keys_by_partition: dict[int, set[WindowKey]] = {}
    try:
        for key, rows in windows:
            hour = partition_start(key.window_start)
            keys_by_partition.setdefault(hour, set()).add(key)
            temp = write_temp(store.tmp_dir, ".parquet", functools.partial(_write_rows, rows), durable=durable)
            final = store.partition(hour).path / key.file_name
            plan.change.renames.append((temp, final))
            plan.window_files[key] = final
        for hour, keys in keys_by_partition.items():
            _prepare_compacted_rewrites(store, store.partition(hour), keys, plan, durable=durable)
    except BaseException:
        plan.discard()
        raise
    return plan


def _prepare_compacted_rewrites(
    store: StoreDir, partition: Partition, keys: set[WindowKey], plan: _Plan, *, durable: bool
) -> None:
    """Rewrite, without ``keys``' rows, every compacted file of ``partition`` that holds one."""
    seen: dict[str, int] = {}
    for path in filter(is_compacted_file, partition.data_files()):
        try:
            handle = open(path, "rb")  # noqa: SIM115 - kept open so a concurrent unlink cannot bite
        except FileNotFoundError:
            continue  # replaced meanwhile; the validation before commit notices
        with handle:
            seen[path.name] = os.fstat(handle.fileno()).st_ino
            stale = file_keys(handle) & keys
            if not stale:
                continue
            handle.seek(0)
            copy = _CopyWithout(handle, stale)
            temp = write_temp(store.tmp_dir, ".parquet", copy, durable=durable)
        plan.replaced_in_compacted |= stale
        if copy.rows_kept:
            plan.change.renames.append((temp, path.with_name(compacted_file_name(first_window_start(path)))))
        else:
            temp.unlink()  # every row of the file was replaced: the file just goes
        plan.change.unlinks.append(path)
    plan.compacted_seen[partition.path] = seen


def _write_rows(rows: pa.Table, handle: IO[bytes]) -> None:
    write_table(handle, rows)


class _CopyWithout:
    """Copies a Parquet file without some keys' rows, counting the rows it keeps."""

    def __init__(self, source: IO[bytes], keys: set[WindowKey]) -> None:
        self.source, self.keys, self.rows_kept = source, keys, 0

    def __call__(self, out: IO[bytes]) -> None:
        schema = pq.read_schema(self.source)
        self.source.seek(0)
        writer = BatchWriter(out, schema)
        for batch in without_keys(iter_batches(self.source), self.keys):
            writer.write(batch)
        writer.close()
        self.rows_kept = writer.rows


def _still_valid(plan: _Plan) -> bool:
    """Whether the plan prepared without the lock still applies, checked under the lock."""
    if not all(temp.exists() for temp, _ in plan.change.renames):
        return False  # the store was dropped (and our temporary files with it)
    for partition_path, seen in plan.compacted_seen.items():
        current: dict[str, int] = {}
        for path in filter(is_compacted_file, Partition(0, partition_path).data_files()):
            current[path.name] = path.stat().st_ino
        if current != seen:
            return False
    return True


def contains(store: StoreDir, key: WindowKey) -> bool:
    """Whether the window ``key`` is stored (as its own file or inside a compacted one)."""
    partition = store.partition(partition_start(key.window_start))
    try:
        with read_lock(store):
            if (partition.path / key.file_name).exists():
                return True
            for path in filter(is_compacted_file, partition.data_files()):
                with open(path, "rb") as handle:
                    if key in file_keys(handle):
                        return True
    except StoreGone:
        return False
    return False
