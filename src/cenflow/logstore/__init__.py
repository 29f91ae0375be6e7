"""The log store: flow-log records as Hive-partitioned Parquet, compacted, retained, queried with DuckDB.

Start with :class:`LogStore` (``LogStore.in_data_dir(data_dir)``); ``README.md`` beside this
file describes the layout, the schema and the concurrency design.  This package depends on
nothing of cenflow's but itself: the collector, the HTTP API and the CLI call into it.
"""

from __future__ import annotations

from cenflow.logstore.analytics import METRICS, TALKER_KEYS
from cenflow.logstore.compaction import CompactionResult
from cenflow.logstore.errors import (
    ConcurrentModification,
    InvalidName,
    InvalidRecords,
    LogstoreError,
    QueryError,
    QueryTimeout,
)
from cenflow.logstore.layout import WindowKey
from cenflow.logstore.query import QueryLimits
from cenflow.logstore.retention import RetentionResult
from cenflow.logstore.schema import (
    CEN_FIELD_NAMES,
    FLOW_LOG_ID,
    RECORD_SCHEMA,
    STORED_SCHEMA,
    WINDOW_START,
    WRITER_ID,
)
from cenflow.logstore.store import LogStore, MaintenanceReport
from cenflow.logstore.stream import JsonLinesStream
from cenflow.logstore.writer import DEFAULT_WRITER_ID, AppendResult

__all__ = [
    "CEN_FIELD_NAMES",
    "DEFAULT_WRITER_ID",
    "FLOW_LOG_ID",
    "METRICS",
    "RECORD_SCHEMA",
    "STORED_SCHEMA",
    "TALKER_KEYS",
    "WINDOW_START",
    "WRITER_ID",
    "AppendResult",
    "CompactionResult",
    "ConcurrentModification",
    "InvalidName",
    "InvalidRecords",
    "JsonLinesStream",
    "LogStore",
    "LogstoreError",
    "MaintenanceReport",
    "QueryError",
    "QueryLimits",
    "QueryTimeout",
    "RetentionResult",
    "WindowKey",
]
