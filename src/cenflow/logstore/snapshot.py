"""Consistent, lock-free reads: a reader hard-links the files it will read into a snapshot.

Under the shared store lock a reader lists the files of the partitions it needs and links each
into ``.cenflow/snapshots/<token>/``; then it releases the lock and reads the links at leisure.
A compaction or retention that later unlinks the originals cannot take the data away (the
inode lives while a link does), and a writer waits for the lock only while the links are made,
never for a slow query or a slow HTTP client.  The snapshot's ``holder.lock`` is flocked for
its lifetime, so ``commit.sweep`` can tell an abandoned snapshot (its reader died) from a live
one.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cenflow.logstore.commit import journal_pending, recover
from cenflow.logstore.fsutil import make_dirs
from cenflow.logstore.layout import Partition, StoreDir
from cenflow.logstore.locking import StoreGone, hold_exclusive, store_lock


@contextmanager
def read_lock(store: StoreDir) -> Iterator[None]:
    """The shared store lock, after rolling forward any change a dead writer left half done.

    Raises :class:`StoreGone` if the logstore does not exist.
    """
    while True:
        with store_lock(store, exclusive=False):
            if not journal_pending(store):
                yield
                return
        # A journal seen under the shared lock belongs to a dead process (live writers remove
        # theirs before unlocking); only an exclusive holder may finish it.
        with store_lock(store, exclusive=True):
            recover(store)


@dataclass
class Snapshot:
    """Links to the data files of some partitions, valid until :meth:`close`."""

    directory: Path | None
    links: list[Path] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)  # the original path of each link
    inodes: list[int] = field(default_factory=list)
    _holder_fd: int | None = None

    def close(self) -> None:
        if self._holder_fd is not None:
            os.close(self._holder_fd)
            self._holder_fd = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def take_snapshot(store: StoreDir, partitions_of: PartitionFilter) -> Snapshot:
    try:
        with read_lock(store):
            files = [f for partition in partitions_of(store) for f in partition.data_files()]
            directory = store.snapshots_dir / secrets.token_hex(8)
            make_dirs(directory, durable=False)
            snapshot = Snapshot(directory, _holder_fd=hold_exclusive(directory / "holder.lock"))
            try:
                for index, source in enumerate(files):
                    link = directory / f"{index:06d}.parquet"
                    os.link(source, link)
                    snapshot.links.append(link)
                    snapshot.sources.append(source)
                    snapshot.inodes.append(link.stat().st_ino)
            except BaseException:
                snapshot.close()
                raise
            return snapshot
    except StoreGone:
        return Snapshot(None)


class PartitionFilter:
    """Which partitions a snapshot covers: those overlapping ``[from_ts, to_ts)``, or one hour."""

    def __init__(self, from_ts: int | None = None, to_ts: int | None = None, *, only: int | None = None) -> None:
        self.from_ts = from_ts
        self.to_ts = to_ts
        self.only = only

    def __call__(self, store: StoreDir) -> list[Partition]:
        if self.only is not None:
            return [store.partition(self.only)]
        return store.partitions(self.from_ts, self.to_ts)


@contextmanager
def snapshot(store: StoreDir, from_ts: int | None = None, to_ts: int | None = None) -> Iterator[Snapshot]:
    taken = take_snapshot(store, PartitionFilter(from_ts, to_ts))
    try:
        yield taken
    finally:
        taken.close()
