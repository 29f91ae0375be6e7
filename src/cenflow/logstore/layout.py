"""Where things live on disk, and the names of files and partitions.

::

    <root>/                                   root = <data-dir>/logstore
      <project>/<logstore>/
        dt=2024-06-01/hour=13/                one partition per UTC hour of window-start
          w.<window-start>.<flow-log-id>.<writer-id>.parquet    one flushed window
          c.<first-window-start>.<token>.parquet                 a compacted file
        .cenflow/                             bookkeeping, invisible to Hive readers
          lock  writers.lock  journal.json  settings.json  tmp/  snapshots/  trash/
      .trash/                                 dropped logstores and projects being deleted

Hive readers (DuckDB ``hive_partitioning``, Spark, Trino, pyarrow) skip names starting with
``.``; and every temporary file lives under ``.cenflow/tmp``, so only complete files ever
carry a ``.parquet`` name inside a partition.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cenflow.logstore.errors import InvalidName

PARTITION_SECONDS = 3600
META_DIR = ".cenflow"
TRASH_DIR = ".trash"

# The SLS naming rules, which also keep names free of path separators and dots.
_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_LOGSTORE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]")
# Ids inside file names: no dots, because a dot separates the parts of a window file's name.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_DT = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")
_HOUR = re.compile(r"hour=(\d{2})")


def check_project(name: str) -> str:
    if not _PROJECT_NAME.fullmatch(name):
        raise InvalidName(f"invalid project name {name!r}: 3-63 lowercase letters, digits and hyphens")
    return name


def check_logstore(name: str) -> str:
    if not _LOGSTORE_NAME.fullmatch(name):
        raise InvalidName(f"invalid logstore name {name!r}: 3-63 lowercase letters, digits, hyphens and underscores")
    return name


def check_id(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise InvalidName(f"invalid {what} {value!r}: 1-128 letters, digits, '_' and '-', starting alphanumeric")
    return value


@dataclass(frozen=True, order=True)
class WindowKey:
    """What one append of one window is known by: re-appending the same key replaces it."""

    flow_log_id: str
    window_start: int
    writer_id: str

    @property
    def file_name(self) -> str:
        return f"w.{self.window_start}.{self.flow_log_id}.{self.writer_id}.parquet"


def compacted_file_name(first_window_start: int) -> str:
    return f"c.{first_window_start}.{secrets.token_hex(8)}.parquet"


def is_window_file(path: Path) -> bool:
    return path.name.startswith("w.")


def is_compacted_file(path: Path) -> bool:
    return path.name.startswith("c.")


def partition_start(ts: int) -> int:
    return ts - ts % PARTITION_SECONDS


def partition_relpath(hour_start: int) -> Path:
    moment = datetime.fromtimestamp(hour_start, UTC)
    return Path(f"dt={moment:%Y-%m-%d}") / f"hour={moment:%H}"


@dataclass(frozen=True)
class Partition:
    start: int  # unix seconds of the hour it holds
    path: Path

    @property
    def end(self) -> int:
        return self.start + PARTITION_SECONDS

    def data_files(self) -> list[Path]:
        """Complete data files, oldest windows first (names carry the first window start)."""
        try:
            names = [p for p in self.path.iterdir() if p.suffix == ".parquet" and p.name[0] not in "._"]
        except FileNotFoundError:
            return []
        return sorted(names, key=lambda p: (first_window_start(p), p.name))


def first_window_start(path: Path) -> int:
    """The window start a data file's name begins with (its first window, for compacted files)."""
    parts = path.name.split(".")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


@dataclass(frozen=True)
class StoreDir:
    """One logstore's directory and its bookkeeping paths."""

    project: str
    logstore: str
    path: Path

    @classmethod
    def at(cls, root: Path, project: str, logstore: str) -> StoreDir:
        return cls(check_project(project), check_logstore(logstore), root / project / logstore)

    @property
    def meta(self) -> Path:
        return self.path / META_DIR

    @property
    def lock_file(self) -> Path:
        return self.meta / "lock"

    @property
    def writers_lock_file(self) -> Path:
        return self.meta / "writers.lock"

    @property
    def journal_file(self) -> Path:
        return self.meta / "journal.json"

    @property
    def settings_file(self) -> Path:
        return self.meta / "settings.json"

    @property
    def tmp_dir(self) -> Path:
        return self.meta / "tmp"

    @property
    def snapshots_dir(self) -> Path:
        return self.meta / "snapshots"

    @property
    def trash_dir(self) -> Path:
        return self.meta / "trash"

    def exists(self) -> bool:
        return self.path.is_dir()

    def partition(self, hour_start: int) -> Partition:
        return Partition(hour_start, self.path / partition_relpath(hour_start))

    def partitions(self, from_ts: int | None = None, to_ts: int | None = None) -> list[Partition]:
        """Partitions whose hour overlaps ``[from_ts, to_ts)``, oldest first: the time pruning."""
        found: list[Partition] = []
        try:
            day_dirs = [d for d in self.path.iterdir() if _DT.fullmatch(d.name)]
        except FileNotFoundError:
            return []
        for day_dir in day_dirs:
            day = datetime.strptime(day_dir.name[3:], "%Y-%m-%d").replace(tzinfo=UTC)
            day_start = int(day.timestamp())
            if (to_ts is not None and day_start >= to_ts) or (from_ts is not None and day_start + 86400 <= from_ts):
                continue
            try:
                hour_dirs = list(day_dir.iterdir())
            except FileNotFoundError:  # removed by retention while we listed
                continue
            for hour_dir in hour_dirs:
                match = _HOUR.fullmatch(hour_dir.name)
                if not match or int(match.group(1)) > 23:
                    continue
                start = day_start + int(match.group(1)) * PARTITION_SECONDS
                if (to_ts is None or start < to_ts) and (from_ts is None or start + PARTITION_SECONDS > from_ts):
                    found.append(Partition(start, hour_dir))
        return sorted(found, key=lambda p: p.start)


def list_stores(root: Path) -> list[StoreDir]:
    """Every logstore directory under ``root``, sorted by project then logstore."""
    stores: list[StoreDir] = []
    if not root.is_dir():
        return stores
    for project_dir in sorted(root.iterdir()):
        if not project_dir.is_dir() or not _PROJECT_NAME.fullmatch(project_dir.name):
            continue
        for store_dir in sorted(project_dir.iterdir()):
            if store_dir.is_dir() and _LOGSTORE_NAME.fullmatch(store_dir.name):
                stores.append(StoreDir(project_dir.name, store_dir.name, store_dir))
    return stores
