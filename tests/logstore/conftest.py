"""Fixtures and record builders shared by the log-store tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cenflow.logstore import LogStore

PROJECT = "flowlogs"
LOGSTORE = "cen-records"
DAY = 1717200000  # 2024-06-01T00:00:00Z
HOUR = 3600


@pytest.fixture
def store(tmp_path: Path) -> LogStore:
    return LogStore.in_data_dir(tmp_path / "data")


@pytest.fixture
def fast_store(tmp_path: Path) -> LogStore:
    """Without fsyncs, for tests that write thousands of files and test no power cut."""
    return LogStore.in_data_dir(tmp_path / "data", durable=False)


def window(
    start: int,
    rows: int = 3,
    *,
    flow_log_id: str = "flowlog-aaaa",
    fields: Sequence[str] = ("srcaddr", "dstaddr", "bytes", "packets", "start", "end"),
    seed: int = 0,
    interval: int = 60,
) -> pa.Table:
    """One capture window of records with the given CEN fields (a LogFormatString's choice)."""
    values: dict[str, Any] = {
        "account-id": ["1234567890123456"] * rows,
        "attachment-id": ["tr-attach-1"] * rows,
        "cen-id": ["cen-1"] * rows,
        "src-region-id": ["cn-hangzhou"] * rows,
        "srcaddr": [f"10.0.{seed % 250}.{i + 1}" for i in range(rows)],
        "srcport": [40000 + i for i in range(rows)],
        "dst-region-id": ["cn-shanghai"] * rows,
        "dstaddr": [f"10.1.0.{i % 5 + 1}" for i in range(rows)],
        "dstport": [443] * rows,
        "protocol": [6] * rows,
        "packets": [10 + i for i in range(rows)],
        "bytes": [1000 * (i + 1) + seed for i in range(rows)],
        "start": [start] * rows,
        "end": [start + interval] * rows,
        "direction": ["out"] * rows,
        "tr-id": ["tr-1"] * rows,
        "tcp-flags": [18] * rows,
        "log-status": ["OK"] * rows,
        "type": ["IPv4"] * rows,
    }
    columns = {name: values[name] for name in fields}
    columns["flow-log-id"] = [flow_log_id] * rows
    columns["window-start"] = [start] * rows
    return pa.table(columns)


def data_files(store: LogStore, project: str = PROJECT, logstore: str = LOGSTORE) -> list[Path]:
    base = store.store_dir(project, logstore).path
    return sorted(p for p in base.rglob("*.parquet") if ".cenflow" not in p.parts)


def row_multiset(table: pa.Table) -> list[str]:
    """Rows as sorted JSON texts, to compare tables as multisets of records."""
    return sorted(json.dumps(row, sort_keys=True) for row in table.to_pylist())
