"""Canned analyses for the console: top talkers and traffic over time.

Both run on the sandboxed ``log`` view of :mod:`cenflow.logstore.query`, so they share its time
pruning and its ``where`` handling.  Sums are cast back to BIGINT (DuckDB sums BIGINT into
HUGEINT, which Arrow would turn into decimals).
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from cenflow.logstore.errors import QueryError
from cenflow.logstore.layout import StoreDir
from cenflow.logstore.query import DEFAULT_LIMITS, QueryLimits, quote_identifier, read_session, to_arrow_table
from cenflow.logstore.schema import WINDOW_START

TalkerKey = Literal["srcaddr", "dstaddr", "pair"]
Metric = Literal["bytes", "packets"]
TALKER_KEYS: tuple[TalkerKey, ...] = ("srcaddr", "dstaddr", "pair")
METRICS: tuple[Metric, ...] = ("bytes", "packets")
MAX_FILLED_BUCKETS = 100_000

_SUMS = (
    "CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS bytes, "
    "CAST(COALESCE(SUM(packets), 0) AS BIGINT) AS packets, "
    "COUNT(*) AS flows"
)


def top_talkers(
    store: StoreDir,
    *,
    by: TalkerKey = "srcaddr",
    metric: Metric = "bytes",
    from_ts: int | None = None,
    to_ts: int | None = None,
    where: str | None = None,
    limit: int = 10,
    limits: QueryLimits = DEFAULT_LIMITS,
) -> pa.Table:
    """The ``limit`` addresses (or address pairs) with the most ``metric``.

    Columns: ``srcaddr`` and/or ``dstaddr``, ``bytes``, ``packets``, ``flows`` (records summed),
    most first; ties by address so the answer is stable.  Records without the address
    (``NODATA``) are left out.
    """
    if by not in TALKER_KEYS:
        raise QueryError(f"top talkers by {by!r}: choose one of {', '.join(TALKER_KEYS)}")
    if metric not in METRICS:
        raise QueryError(f"top talkers by {metric!r}: choose bytes or packets")
    if limit < 1:
        raise QueryError("limit must be at least 1")
    keys = ["srcaddr", "dstaddr"] if by == "pair" else [by]
    key_list = ", ".join(keys)
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    sql = (
        f"SELECT {key_list}, {_SUMS} FROM log WHERE {present} GROUP BY {key_list} "
        f"ORDER BY {metric} DESC, {key_list} LIMIT {int(limit)}"
    )
    with read_session(store, from_ts, to_ts, where, limits) as session:
        return session.run(lambda con: to_arrow_table(con.sql(sql)))


def traffic(
    store: StoreDir,
    *,
    bucket_seconds: int = 60,
    from_ts: int | None = None,
    to_ts: int | None = None,
    where: str | None = None,
    limits: QueryLimits = DEFAULT_LIMITS,
) -> pa.Table:
    """Bytes, packets and flows per time bucket of ``window-start``, oldest first.

    Columns: ``bucket`` (unix seconds the bucket starts, a multiple of ``bucket_seconds``),
    ``bytes``, ``packets``, ``flows``.  With both ``from_ts`` and ``to_ts`` every bucket of the
    range is listed, empty ones with zeros, so a chart has no holes.
    """
    if bucket_seconds < 1:
        raise QueryError("bucket_seconds must be at least 1")
    window = quote_identifier(WINDOW_START)
    bucketed = f"SELECT {window} - {window} % {int(bucket_seconds)} AS bucket, {_SUMS} FROM log GROUP BY bucket"
    if from_ts is not None and to_ts is not None:
        first = from_ts - from_ts % bucket_seconds
        if (to_ts - first) // bucket_seconds > MAX_FILLED_BUCKETS:
            raise QueryError(f"more than {MAX_FILLED_BUCKETS} buckets: choose a larger bucket or a shorter range")
        sql = (
            f"SELECT b.range AS bucket, COALESCE(t.bytes, 0) AS bytes, COALESCE(t.packets, 0) AS packets, "
            f"COALESCE(t.flows, 0) AS flows FROM range({int(first)}, {int(to_ts)}, {int(bucket_seconds)}) b "
            f"LEFT JOIN ({bucketed}) t ON t.bucket = b.range ORDER BY bucket"
        )
    else:
        sql = bucketed + " ORDER BY bucket"
    with read_session(store, from_ts, to_ts, where, limits) as session:
        return session.run(lambda con: to_arrow_table(con.sql(sql)))
