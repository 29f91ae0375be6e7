"""Changing a logstore's visible files atomically and durably: the commit journal.

A change of the visible file set is a list of renames (complete, fsync'd temporary files moved
into partitions) and unlinks (files they supersede).  A single rename is atomic on its own.
Several are made atomic by a journal: under the exclusive store lock we first write
``.cenflow/journal.json`` listing every step, then perform the steps, then delete the journal.
If the process dies in between, the journal survives, and the next process to take the lock
*rolls it forward*: every step is idempotent (rename only if the source still exists, unlink if
present), and every temporary file it names was fsync'd before the journal was written.  Readers
hold the lock shared while they list files, and a reader that finds a journal rolls it forward
first, so nobody ever lists a half-applied change.

``sweep`` removes what crashes leave behind and nobody will commit: temporary files (only when
no writer holds ``writers.lock``), abandoned reader snapshots and trash.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cenflow.logstore.fsutil import fsync_dir, make_dirs, read_json, write_json_atomic
from cenflow.logstore.layout import StoreDir
from cenflow.logstore.locking import try_exclusive_file_lock

log = logging.getLogger(__name__)


@dataclass
class Change:
    """Renames (temporary file -> final path) and unlinks, all paths inside one store."""

    renames: list[tuple[Path, Path]] = field(default_factory=list)
    unlinks: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.renames or self.unlinks)


def apply_change(store: StoreDir, change: Change, *, durable: bool = True) -> None:
    """Apply ``change``; the caller holds the store lock exclusively.

    If this raises while :func:`journal_pending` is true, the change is committed but not yet
    fully applied: the caller must keep its temporary files for the roll-forward.
    """
    if len(change.renames) == 1 and not change.unlinks:
        _run(change.renames, [], durable=durable)  # one rename needs no journal
        return
    journal = {
        "renames": [[_rel(store, src), _rel(store, dst)] for src, dst in change.renames],
        "unlinks": [_rel(store, path) for path in change.unlinks],
    }
    write_json_atomic(store.journal_file, journal, store.tmp_dir, durable=durable)
    try:
        _run(change.renames, change.unlinks, durable=durable)
    except OSError:
        # From here on the change must complete, never be undone: try once more, and if the
        # file system still refuses, leave the journal (and its temporary files, which callers
        # keep while a journal is pending) for the next lock holder to roll forward.
        log.exception("logstore change interrupted; rolling forward", extra={"store": str(store.path)})
        _run(change.renames, change.unlinks, durable=durable)
    store.journal_file.unlink()
    if durable:
        fsync_dir(store.meta)


def recover(store: StoreDir, *, durable: bool = True) -> bool:
    """Roll forward a change a dead process left half done; the caller holds the lock exclusively."""
    journal = read_json(store.journal_file)
    if journal is None:
        return False
    renames = [(store.path / src, store.path / dst) for src, dst in journal["renames"]]
    unlinks = [store.path / path for path in journal["unlinks"]]
    log.warning("rolling forward an interrupted logstore change", extra={"store": str(store.path)})
    _run(renames, unlinks, durable=durable)
    store.journal_file.unlink()
    if durable:
        fsync_dir(store.meta)
    return True


def journal_pending(store: StoreDir) -> bool:
    return store.journal_file.exists()


def _run(renames: Sequence[tuple[Path, Path]], unlinks: Sequence[Path], *, durable: bool) -> None:
    touched: set[Path] = set()
    for src, dst in renames:
        if not src.exists():
            continue  # done before a crash
        make_dirs(dst.parent, durable=durable)
        os.replace(src, dst)
        touched.update((src.parent, dst.parent))
    for path in unlinks:
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        touched.add(path.parent)
    if durable:
        for directory in touched:
            fsync_dir(directory)


def _rel(store: StoreDir, path: Path) -> str:
    return str(path.relative_to(store.path))


def sweep(store: StoreDir) -> int:
    """Delete leftovers of dead processes; the caller holds the store lock exclusively.

    Returns how many entries were removed.  A crash before a journal was written leaves only
    temporary files, which no reader ever lists; they are removed here.
    """
    removed = 0
    with try_exclusive_file_lock(store.writers_lock_file) as no_writer_active:
        if no_writer_active and store.tmp_dir.is_dir() and not journal_pending(store):
            for entry in store.tmp_dir.iterdir():
                entry.unlink(missing_ok=True)
                removed += 1
    if store.snapshots_dir.is_dir():
        for snapshot in store.snapshots_dir.iterdir():
            # A live reader holds its snapshot's lock; a dead one's lock died with it.
            with try_exclusive_file_lock(snapshot / "holder.lock") as abandoned:
                if abandoned:
                    shutil.rmtree(snapshot, ignore_errors=True)
                    removed += 1
    removed += empty_trash(store.trash_dir)
    return removed


def empty_trash(trash_dir: Path) -> int:
    if not trash_dir.is_dir():
        return 0
    entries = list(trash_dir.iterdir())
    for entry in entries:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return len(entries)


def move_to_trash(path: Path, trash_dir: Path, *, durable: bool = True) -> Path:
    """Atomically take ``path`` out of sight; deleting the contents can happen later, unlocked."""
    make_dirs(trash_dir, durable=durable)
    target = trash_dir / f"{path.name}.{os.getpid()}.{os.urandom(6).hex()}"
    os.replace(path, target)
    if durable:
        fsync_dir(path.parent)
    return target
