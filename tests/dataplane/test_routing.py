"""`Aggregator.add`: attributed flows reach the windows of the flow log owning their attachment,
cut by each flow log's own interval, in batch order within a window; flows of attachments no
Active flow log captures are left out."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from cenflow.collector.aggregator import Aggregator, FlowLogSpec
from cenflow.collector.binder import Attributed
from cenflow.collector.registry import NameRegistry
from cenflow.domain.flowlogs import FlowLog
from cenflow.flow.batch import COLUMNS, FlowBatch

T0 = 1_700_000_000  # 20 s past a minute, 200 s past ten: windows cut mid-batch


def _flow_log(flow_log_id: str, interval: int) -> FlowLog:
    return FlowLog(
        flow_log_id, "1234", "cn-hangzhou", "cen-1", "tr-1", None, flow_log_id, "", "p", "l", interval, "", "1",
        "Active", datetime(2024, 6, 1, tzinfo=UTC),
    )  # fmt: skip


def _batch(starts_s: list[int]) -> FlowBatch:
    n = len(starts_s)
    columns = {name: np.zeros(n, dtype=dtype) for name, dtype in COLUMNS.items()}
    columns["start_ms"] = np.array(starts_s, dtype=np.int64) * 1000
    columns["end_ms"] = columns["start_ms"] + 500
    columns["src_port"] = np.arange(n, dtype=np.uint16)  # identifies the row
    columns["packets"] = np.arange(1, n + 1, dtype=np.uint64)
    columns["ip_version"] = np.full(n, 4, dtype=np.uint8)
    return FlowBatch.from_columns(columns)


@pytest.fixture
def aggregator() -> tuple[Aggregator, np.ndarray]:
    attachments = NameRegistry()
    aggregator = Aggregator(3600.0, attachments, NameRegistry())  # no window passed: none late
    aggregator.configure(
        [
            FlowLogSpec(_flow_log("flowlog-minute", 60), ("att-a",)),
            FlowLogSpec(_flow_log("flowlog-ten", 600), ("att-b",)),
        ]
    )
    # Binder attachment index -> stable number: 0 is att-a, 1 att-b, 2 one no flow log captures.
    numbers = np.array([attachments.number(a) for a in ("att-a", "att-b", "att-c")], dtype=np.int32)
    return aggregator, numbers


def test_rows_go_to_their_flow_logs_windows_in_batch_order(aggregator: tuple[Aggregator, np.ndarray]) -> None:
    router, numbers = aggregator
    starts = [T0 + 70, T0 + 10, T0 + 500, T0 + 20, T0 + 75, T0 + 30, T0 + 15, T0 + 410]
    owners = [0, 1, 1, 0, 0, 2, 0, 1]  # binder attachment of each row
    batch = _batch(starts)
    attributed = Attributed(
        rows=np.arange(len(starts), dtype=np.int64),
        attachment=np.array(owners, dtype=np.int32),
        direction=np.zeros(len(starts), dtype=np.uint8),
        src_region=np.zeros(len(starts), dtype=np.int32),
        dst_region=np.zeros(len(starts), dtype=np.int32),
    )

    taken = router.add(batch, attributed, numbers, np.zeros(1, dtype=np.int32), 5, 9, float(T0 + 100))

    assert taken == 7  # the att-c row reaches no flow log
    contents = {
        key: [int(p) for part in window.parts for p in part.keys["src_port"]] for key, window in router.windows.items()
    }
    assert contents == {
        ("flowlog-minute", T0 + 60 - 20): [0, 4],  # T0 = ...:20 past a minute boundary
        ("flowlog-minute", T0 - 20): [3, 6],
        ("flowlog-ten", T0 - 200): [1],
        ("flowlog-ten", T0 + 400): [2, 7],
    }
    window = router.windows[("flowlog-ten", T0 + 400)]
    assert [int(p) for p in window.parts[0].packets] == [3, 8]
    assert (window.first_position, window.last_position) == (5, 9)


def _attributed(owners: list[int], *, rows: list[int] | None = None) -> Attributed:
    n = len(owners)
    return Attributed(
        rows=np.array(rows if rows is not None else range(n), dtype=np.int64),
        attachment=np.array(owners, dtype=np.int32),
        direction=np.arange(n, dtype=np.uint8) % 2,
        src_region=np.zeros(n, dtype=np.int32),
        dst_region=np.zeros(n, dtype=np.int32),
    )


def _contents(router: Aggregator) -> dict[tuple[str, int], list[tuple[int, int]]]:
    """Each window's rows as (src_port, direction), in the order they reached it."""
    return {
        key: [(int(k["src_port"]), int(k["direction"])) for part in window.parts for k in part.keys]
        for key, window in router.windows.items()
    }


@pytest.mark.parametrize(
    ("starts", "expected"),
    [
        # One flow log, rows already in window order: taken as they come, cut at the boundary.
        ([T0 + 5, T0 + 10, T0 + 50, T0 + 55], {T0 - 20: [(0, 0), (1, 1)], T0 + 40: [(2, 0), (3, 1)]}),
        # Out of window order: still each window's rows in batch order.
        ([T0 + 50, T0 + 5, T0 + 55, T0 + 10], {T0 + 40: [(0, 0), (2, 0)], T0 - 20: [(1, 1), (3, 1)]}),
    ],
)
def test_one_flow_logs_rows_reach_their_windows_in_batch_order(
    aggregator: tuple[Aggregator, np.ndarray], starts: list[int], expected: dict[int, list[tuple[int, int]]]
) -> None:
    router, numbers = aggregator
    taken = router.add(_batch(starts), _attributed([0] * 4), numbers, np.zeros(1, np.int32), 0, 0, float(T0 + 100))

    assert taken == 4
    assert _contents(router) == {("flowlog-minute", start): rows for start, rows in expected.items()}
    assert router.watermark_ms == (T0 + 55) * 1000 + 500  # the latest end


def test_rows_of_uncaptured_attachments_are_left_out_of_one_flow_logs_windows(
    aggregator: tuple[Aggregator, np.ndarray],
) -> None:
    router, numbers = aggregator
    batch = _batch([T0 + 50, T0 + 58, T0 + 55, T0 + 10, T0 + 12])
    attributed = _attributed([0, 2, 0, 0, 2], rows=[0, 1, 2, 3, 4])

    taken = router.add(batch, attributed, numbers, np.zeros(1, np.int32), 0, 0, float(T0 + 100))

    assert taken == 3
    assert _contents(router) == {("flowlog-minute", T0 + 40): [(0, 0), (2, 0)], ("flowlog-minute", T0 - 20): [(3, 1)]}
    assert router.watermark_ms == (T0 + 55) * 1000 + 500  # rows no flow log takes do not move it


def test_a_flow_without_a_start_time_falls_in_the_window_of_its_export(
    aggregator: tuple[Aggregator, np.ndarray],
) -> None:
    router, numbers = aggregator
    batch = _batch([T0 + 5, 0])
    batch.export_ms[:] = (T0 + 50) * 1000

    router.add(batch, _attributed([0, 0]), numbers, np.zeros(1, np.int32), 0, 0, float(T0 + 100))

    assert _contents(router) == {("flowlog-minute", T0 - 20): [(0, 0)], ("flowlog-minute", T0 + 40): [(1, 1)]}
