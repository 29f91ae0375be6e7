"""Retention per logstore, and removal of whole logstores and projects.

``retention_days`` lives in the logstore's ``.cenflow/settings.json`` (unset: keep forever, or
the default the caller passes).  Retention drops whole partitions: an hour goes once it ended
``retention_days`` ago, so nothing younger than the retention is ever dropped.

Dropping is a rename into a trash directory, done under the exclusive store lock: atomic, so a
reader sees a partition (or a logstore) entirely or not at all, and the slow recursive delete
happens afterwards without the lock.  A crash before the delete leaves trash that the next
sweep or drop empties.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from cenflow.logstore.commit import empty_trash, move_to_trash, recover
from cenflow.logstore.fsutil import read_json, write_json_atomic
from cenflow.logstore.layout import TRASH_DIR, Partition, StoreDir, check_project, list_stores
from cenflow.logstore.locking import StoreGone, store_lock

MAX_RETENTION_DAYS = 3650
_DAY = 86400


def get_retention(store: StoreDir) -> int | None:
    settings = read_json(store.settings_file) or {}
    days = settings.get("retention_days")
    return int(days) if days is not None else None


def set_retention(store: StoreDir, days: int | None, *, durable: bool = True) -> None:
    """Set (or with None, clear) the logstore's retention; creates the logstore if needed."""
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"retention_days must be between 1 and {MAX_RETENTION_DAYS}")
    with store_lock(store, exclusive=True, create=True):
        settings = read_json(store.settings_file) or {}
        settings["retention_days"] = days
        write_json_atomic(store.settings_file, settings, store.tmp_dir, durable=durable)


@dataclass(frozen=True)
class RetentionResult:
    project: str
    logstore: str
    retention_days: int | None
    dropped: list[int] = field(default_factory=list)  # start of every dropped partition (hour)


def expired_partitions(store: StoreDir, days: int, now: float) -> list[Partition]:
    cutoff = int(now) - days * _DAY
    return [p for p in store.partitions(None, cutoff) if p.end <= cutoff]


def apply_retention(
    store: StoreDir,
    *,
    now: float | None = None,
    default_days: int | None = None,
    dry_run: bool = False,
    durable: bool = True,
) -> RetentionResult:
    """Drop the partitions of ``store`` older than its retention (``default_days`` when unset)."""
    now = time.time() if now is None else now
    days = get_retention(store)
    days = default_days if days is None else days
    if days is None:
        return RetentionResult(store.project, store.logstore, None)
    dropped: list[int] = []
    try:
        with store_lock(store, exclusive=True):
            recover(store, durable=durable)
            for partition in expired_partitions(store, days, now):
                dropped.append(partition.start)
                if not dry_run:
                    move_to_trash(partition.path, store.trash_dir, durable=durable)
                    with contextlib.suppress(OSError):
                        partition.path.parent.rmdir()  # the day directory, once its last hour went
    except StoreGone:
        return RetentionResult(store.project, store.logstore, days)
    empty_trash(store.trash_dir)
    return RetentionResult(store.project, store.logstore, days, dropped)


def drop_store(root: Path, store: StoreDir, *, durable: bool = True) -> bool:
    """Remove a logstore and every record in it; False if it did not exist."""
    try:
        with store_lock(store, exclusive=True):
            move_to_trash(store.path, root / TRASH_DIR, durable=durable)
    except StoreGone:
        return False
    empty_trash(root / TRASH_DIR)
    return True


def drop_project(root: Path, project: str, *, durable: bool = True) -> bool:
    """Remove a project with all its logstores; False if it did not exist."""
    project_dir = root / check_project(project)
    if not project_dir.is_dir():
        return False
    with contextlib.ExitStack() as locks:
        # Hold every logstore's lock so no reader or writer is mid-change when the project goes.
        for store in list_stores(root):
            if store.project == project:
                with contextlib.suppress(StoreGone):
                    locks.enter_context(store_lock(store, exclusive=True))
        move_to_trash(project_dir, root / TRASH_DIR, durable=durable)
    empty_trash(root / TRASH_DIR)
    return True
