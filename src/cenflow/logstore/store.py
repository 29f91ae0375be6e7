"""``LogStore``: the log store's public face, bound to one root directory.

Every method names its logstore by ``project`` and ``logstore`` (SLS naming rules); the
modules beside this one hold the mechanics.  Methods are safe to call from several threads and
processes at once: all coordination is through files under the root (see ``README.md``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from cenflow.logstore import analytics, compaction, query, retention, stream, writer
from cenflow.logstore.commit import empty_trash
from cenflow.logstore.layout import TRASH_DIR, StoreDir, WindowKey, list_stores
from cenflow.logstore.query import DEFAULT_LIMITS, QueryLimits
from cenflow.logstore.schema import WINDOW_START

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenanceReport:
    compacted: list[compaction.CompactionResult]
    retention: list[retention.RetentionResult]
    failed: list[str]  # "project/logstore: error" for every logstore whose upkeep failed


class LogStore:
    """Flow-log records on disk: ``<root>/<project>/<logstore>/dt=YYYY-MM-DD/hour=HH/*.parquet``."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        # durable=False skips fsyncs: for tests and throw-away stores only; atomicity is kept.
        self.root = Path(root)
        self.durable = durable

    @classmethod
    def in_data_dir(cls, data_dir: Path, *, durable: bool = True) -> LogStore:
        return cls(Path(data_dir) / "logstore", durable=durable)

    def store_dir(self, project: str, logstore: str) -> StoreDir:
        return StoreDir.at(self.root, project, logstore)

    def exists(self, project: str, logstore: str) -> bool:
        return self.store_dir(project, logstore).exists()

    def logstores(self) -> list[tuple[str, str]]:
        return [(s.project, s.logstore) for s in list_stores(self.root)]

    # -- writing ---------------------------------------------------------------------------
    def append(
        self, project: str, logstore: str, records: pa.Table, *, writer_id: str = writer.DEFAULT_WRITER_ID
    ) -> writer.AppendResult:
        """Store ``records`` (one or more windows); re-appending a window key replaces it."""
        return writer.append(self.store_dir(project, logstore), records, writer_id=writer_id, durable=self.durable)

    def contains(self, project: str, logstore: str, key: WindowKey) -> bool:
        return writer.contains(self.store_dir(project, logstore), key)

    # -- maintenance -------------------------------------------------------------------------
    def compact(
        self,
        project: str | None = None,
        logstore: str | None = None,
        *,
        now: float | None = None,
        settle_seconds: int = compaction.DEFAULT_SETTLE_SECONDS,
        max_rows_per_file: int = compaction.DEFAULT_MAX_ROWS_PER_FILE,
    ) -> list[compaction.CompactionResult]:
        """Compact closed partitions of one logstore, of a project's, or (no names) of all."""
        results: list[compaction.CompactionResult] = []
        for store in self._select(project, logstore):
            results += compaction.compact_store(
                store, now=now, settle_seconds=settle_seconds, max_rows_per_file=max_rows_per_file, durable=self.durable
            )
        return results

    def retention_days(self, project: str, logstore: str) -> int | None:
        return retention.get_retention(self.store_dir(project, logstore))

    def set_retention_days(self, project: str, logstore: str, days: int | None) -> None:
        retention.set_retention(self.store_dir(project, logstore), days, durable=self.durable)

    def apply_retention(
        self,
        project: str | None = None,
        logstore: str | None = None,
        *,
        now: float | None = None,
        default_days: int | None = None,
        dry_run: bool = False,
    ) -> list[retention.RetentionResult]:
        return [
            retention.apply_retention(store, now=now, default_days=default_days, dry_run=dry_run, durable=self.durable)
            for store in self._select(project, logstore)
        ]

    def maintain(self, *, now: float | None = None, default_retention_days: int | None = None) -> MaintenanceReport:
        """One round of background upkeep: retention, then compaction, for every logstore.

        A logstore whose upkeep fails (a corrupt file, a full disk) is logged and reported in
        ``failed``; the others are still maintained.
        """
        now = time.time() if now is None else now
        report = MaintenanceReport([], [], [])
        for store in list_stores(self.root):
            try:
                report.retention.append(
                    retention.apply_retention(store, now=now, default_days=default_retention_days, durable=self.durable)
                )
                report.compacted.extend(compaction.compact_store(store, now=now, durable=self.durable))
            except Exception as exc:  # one broken logstore must not stop the upkeep of the others
                log.exception("logstore upkeep failed", extra={"project": store.project, "logstore": store.logstore})
                report.failed.append(f"{store.project}/{store.logstore}: {exc}")
        empty_trash(self.root / TRASH_DIR)
        return report

    def drop_logstore(self, project: str, logstore: str) -> bool:
        return retention.drop_store(self.root, self.store_dir(project, logstore), durable=self.durable)

    def drop_project(self, project: str) -> bool:
        return retention.drop_project(self.root, project, durable=self.durable)

    def _select(self, project: str | None, logstore: str | None) -> list[StoreDir]:
        if project is not None and logstore is not None:
            return [self.store_dir(project, logstore)]
        if logstore is not None:
            raise ValueError("a logstore needs its project")
        return [s for s in list_stores(self.root) if project is None or s.project == project]

    # -- reading -----------------------------------------------------------------------------
    def query(
        self,
        project: str,
        logstore: str,
        from_ts: int | None = None,
        to_ts: int | None = None,
        where: str | None = None,
        limit: int | None = None,
        order: str | Sequence[str] | None = WINDOW_START,
        *,
        limits: QueryLimits = DEFAULT_LIMITS,
    ) -> pa.Table:
        """Records with ``from_ts <= window-start < to_ts`` matching ``where`` (a SQL expression)."""
        return query.query(self.store_dir(project, logstore), from_ts, to_ts, where, limit, order, limits)

    def query_rows(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        """:meth:`query` as dicts keyed by field name, without the fields that have no value."""
        return query.rows_of(self.query(*args, **kwargs))

    def top_talkers(
        self,
        project: str,
        logstore: str,
        *,
        by: analytics.TalkerKey = "srcaddr",
        metric: analytics.Metric = "bytes",
        from_ts: int | None = None,
        to_ts: int | None = None,
        where: str | None = None,
        limit: int = 10,
        limits: QueryLimits = DEFAULT_LIMITS,
    ) -> pa.Table:
        """Top addresses or pairs by bytes or packets (see :func:`analytics.top_talkers`)."""
        return analytics.top_talkers(
            self.store_dir(project, logstore),
            by=by,
            metric=metric,
            from_ts=from_ts,
            to_ts=to_ts,
            where=where,
            limit=limit,
            limits=limits,
        )

    def traffic(
        self,
        project: str,
        logstore: str,
        *,
        bucket_seconds: int = 60,
        from_ts: int | None = None,
        to_ts: int | None = None,
        where: str | None = None,
        limits: QueryLimits = DEFAULT_LIMITS,
    ) -> pa.Table:
        """Bytes, packets and flows per time bucket (see :func:`analytics.traffic`)."""
        return analytics.traffic(
            self.store_dir(project, logstore),
            bucket_seconds=bucket_seconds,
            from_ts=from_ts,
            to_ts=to_ts,
            where=where,
            limits=limits,
        )

    def stream_json_lines(
        self,
        project: str,
        logstore: str,
        from_ts: int | None = None,
        to_ts: int | None = None,
        *,
        where: str | None = None,
        limit: int | None = None,
        lines_per_item: int = 1,
        limits: QueryLimits = stream.STREAM_LIMITS,
    ) -> stream.JsonLinesStream:
        """JSON lines of the records, oldest window first (see :func:`stream.stream_json_lines`)."""
        return stream.stream_json_lines(
            self.store_dir(project, logstore),
            from_ts,
            to_ts,
            where=where,
            limit=limit,
            lines_per_item=lines_per_item,
            limits=limits,
        )
