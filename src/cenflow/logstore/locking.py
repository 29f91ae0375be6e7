"""Inter-process locks of a logstore, built on ``flock(2)``.

``lock``
    The reader/writer lock.  Readers hold it *shared* just long enough to list files and
    hard-link them into a snapshot; every change of the visible file set (an append's renames,
    a compaction's swap, a retention drop) happens under it *exclusive*.  So a reader's listing
    never sees half of a change.
``writers.lock``
    Held *shared* by every process that has temporary files in ``.cenflow/tmp`` it still means
    to commit.  Cleaning ``tmp`` needs it *exclusive*, taken without blocking: a busy store is
    simply cleaned later, and a live writer's temporary file is never deleted under it.

flock locks belong to an open file description, so two threads of one process that each open
the file exclude each other exactly as two processes do; the kernel drops them when a process
dies, which is what makes a crash leave no stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cenflow.logstore.fsutil import make_dirs
from cenflow.logstore.layout import StoreDir


class StoreGone(Exception):
    """The logstore directory does not exist (and the caller asked not to create it)."""


def _open_lock_file(path: Path, *, create: bool) -> int:
    store_path = path.parent.parent
    if not create and not store_path.is_dir():
        raise StoreGone(str(store_path))
    make_dirs(path.parent)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def store_lock(store: StoreDir, *, exclusive: bool, create: bool = False) -> Iterator[None]:
    """Hold the logstore's reader/writer lock.

    A store dropped while we waited for the lock is moved away with its lock file; our lock
    then guards nothing, so we check that the path still names the inode we locked and start
    over if not (recreating the store only when ``create``).
    """
    while True:
        fd = _open_lock_file(store.lock_file, create=create)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                current = os.stat(store.lock_file).st_ino
            except FileNotFoundError:
                current = -1
            if current == os.fstat(fd).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def shared_file_lock(path: Path) -> Iterator[None]:
    fd = _open_lock_file(path, create=True)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextmanager
def try_exclusive_file_lock(path: Path) -> Iterator[bool]:
    """Yield whether the exclusive lock was obtained, without waiting for it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def hold_exclusive(path: Path) -> int:
    """Create ``path`` and hold it exclusively; the returned descriptor keeps the lock until closed."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd
