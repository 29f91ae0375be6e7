"""Routing attributed flows into the windows of the Active flow logs that capture them.

Scopes never overlap (one flow log per attachment, and a whole-router flow log excludes
attachment ones), so each attachment feeds at most one flow log.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cenflow.collector.binder import Attributed
from cenflow.collector.registry import NameRegistry
from cenflow.collector.windows import KEY, Aggregate, Window
from cenflow.domain.flowlogs import FlowLog
from cenflow.flow.batch import FlowBatch

WindowId = tuple[str, int]  # (flow log id, window start)


@dataclass(frozen=True)
class FlowLogSpec:
    flow_log: FlowLog
    scope: tuple[str, ...]  # the attachment ids it captures (for NODATA / SKIPDATA records)

    @property
    def flow_log_id(self) -> str:
        return self.flow_log.flow_log_id


class Aggregator:
    def __init__(self, lateness: float, attachments: NameRegistry, regions: NameRegistry) -> None:
        self.lateness = lateness
        self.attachments = attachments
        self.regions = regions
        self.specs: dict[str, FlowLogSpec] = {}
        # Flow logs that left Active: their last windows still need their spec to be written.
        self.departed: dict[str, FlowLogSpec] = {}
        self.windows: dict[WindowId, Window] = {}
        self.late: list[Window] = []
        # Windows closed by idleness before the watermark passed them: late data for them must
        # not open a fresh window (whose flush would replace the stored one).
        self.closed: dict[WindowId, int] = {}  # -> last spool position they held
        # After a crash: data at or before these positions is already in the store.
        self.replay_skip: dict[WindowId, int] = {}
        self.watermark_ms = 0
        self._owner = np.full(0, -1, dtype=np.int32)
        self._spec_order: list[FlowLogSpec] = []
        self._intervals = np.empty(0, dtype=np.int64)  # by position in _spec_order

    # -- configuration -----------------------------------------------------------------------
    def configure(self, specs: Iterable[FlowLogSpec]) -> list[Window]:
        """Adopt the current set of Active flow logs; returns the windows of those that left."""
        previous = self.specs
        self.specs = {s.flow_log_id: s for s in specs}
        self.departed.update({k: v for k, v in previous.items() if v != self.specs.get(k)})
        self._spec_order = list(self.specs.values())
        self._intervals = np.array([s.flow_log.interval for s in self._spec_order], dtype=np.int64)
        owner: dict[int, int] = {}
        for position, spec in enumerate(self._spec_order):
            for attachment_id in spec.scope:
                owner[self.attachments.number(attachment_id)] = position
        self._owner = np.full(len(self.attachments), -1, dtype=np.int32)
        for number, position in owner.items():
            self._owner[number] = position
        gone = [w for key, w in self.windows.items() if key[0] not in self.specs or self._changed(w)]
        for window in gone:
            del self.windows[(window.flow_log_id, window.start)]
        return gone

    def spec_for(self, flow_log_id: str) -> FlowLogSpec | None:
        return self.specs.get(flow_log_id) or self.departed.get(flow_log_id)

    def _changed(self, window: Window) -> bool:
        """A flow log whose interval changed (ModifyFlowLogAttribute) flushes its old windows."""
        return self.specs[window.flow_log_id].flow_log.interval != window.interval

    # -- data --------------------------------------------------------------------------------
    def add(
        self,
        batch: FlowBatch,
        attributed: Attributed,
        attachment_numbers: npt.NDArray[np.int32],
        region_numbers: npt.NDArray[np.int32],
        first: int,
        last: int,
        now: float,
    ) -> int:
        """Add attributed flows of the datagrams at spool positions first..last.

        Returns how many attributed rows reached a flow log.
        """
        if not len(attributed) or not self._spec_order:
            return 0
        stable_attachment = attachment_numbers[attributed.attachment]
        if stable_attachment.max() >= self._owner.shape[0]:  # attachments registered since configure()
            grown = np.full(int(stable_attachment.max()) + 1, -1, dtype=np.int32)
            grown[: self._owner.shape[0]] = self._owner
            self._owner = grown
        owner = self._owner[stable_attachment]
        # `chosen`: the rows of `attributed` that go on, in the order they go on; None while that
        # is all of them in batch order (the common case), which saves gathering every column.
        chosen: npt.NDArray[np.intp] | None = None
        if owner.min() < 0:
            chosen = np.flatnonzero(owner >= 0)
            if not chosen.size:
                return 0
            owner = owner[chosen]
        rows = attributed.rows if chosen is None else attributed.rows[chosen]
        starts_ms = batch.start_ms[rows]
        if starts_ms.min() <= 0:
            starts_ms = np.where(starts_ms > 0, starts_ms, batch.export_ms[rows])
        # A flow's end is never taken before its start: the latest of both is the watermark's.
        latest_ms = max(int(batch.end_ms[rows].max()), int(starts_ms.max()))
        self.watermark_ms = max(self.watermark_ms, min(latest_ms, int(now * 1000)))
        one_owner = bool((owner == owner[0]).all())
        intervals = int(self._intervals[owner[0]]) if one_owner else self._intervals[owner]
        window_starts = (starts_ms // 1000) // intervals * intervals
        # One stable sort by (flow log, window start): each window's rows become one slice, in
        # batch order, and every column is gathered once, straight into that order (gathering
        # whole keys afterwards cost as much as building them).  Exporters send flows roughly in
        # time order, so a batch of one flow log is often in window order already: no sort.
        order: npt.NDArray[np.intp] | None = None
        if not one_owner:
            order = np.lexsort((window_starts, owner))
        elif (window_starts[1:] < window_starts[:-1]).any():
            order = np.argsort(window_starts, kind="stable")
        if order is not None:
            chosen = order if chosen is None else chosen[order]
            rows = rows[order]
            owner = owner[order]
            window_starts = window_starts[order]

        def pick(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return values if chosen is None else values[chosen]

        n = rows.size
        keys = np.empty(n, dtype=KEY)
        keys["attachment"] = pick(stable_attachment)
        keys["direction"] = pick(attributed.direction)
        keys["ip_version"] = batch.ip_version[rows]
        keys["src"] = batch.src_addr[rows]
        keys["dst"] = batch.dst_addr[rows]
        keys["src_port"] = batch.src_port[rows]
        keys["dst_port"] = batch.dst_port[rows]
        keys["protocol"] = batch.protocol[rows]
        keys["src_region"] = region_numbers[pick(attributed.src_region)]
        keys["dst_region"] = region_numbers[pick(attributed.dst_region)]
        packets = batch.packets[rows].astype(np.uint64, copy=False)
        octets = batch.bytes[rows].astype(np.uint64, copy=False)
        flags = batch.tcp_flags[rows].astype(np.uint16, copy=False)
        changes = window_starts[1:] != window_starts[:-1]
        if not one_owner:
            changes |= owner[1:] != owner[:-1]
        cuts = np.flatnonzero(changes) + 1
        for begin, end in itertools.pairwise([0, *cuts.tolist(), n]):
            spec = self._spec_order[int(owner[begin])]
            part = Aggregate(keys[begin:end], packets[begin:end], octets[begin:end], flags[begin:end])
            window = self._window_for(spec, int(window_starts[begin]), first, last, now)
            if window is not None:
                window.add(part, first, last, now)
        return n

    def _window_for(self, spec: FlowLogSpec, start: int, first: int, last: int, now: float) -> Window | None:
        """Where data of positions first..last goes; ``None`` when recovery finds it already stored."""
        key = (spec.flow_log_id, start)
        window = self.windows.get(key)
        if window is not None:
            return window
        interval = spec.flow_log.interval
        skip_until = self.replay_skip.get(key)
        if skip_until is not None and last <= skip_until:
            return None
        passed = self.watermark_ms >= (start + interval + self.lateness) * 1000
        if key in self.closed or passed or skip_until is not None:
            late = Window(spec.flow_log_id, start, interval, late_part=first + 1, last_update=now)
            self.late.append(late)
            return late
        window = Window(spec.flow_log_id, start, interval, last_update=now)
        self.windows[key] = window
        return window

    def ensure_live_windows(self, now: float) -> None:
        """Every Active flow log has its current window, so silent attachments get NODATA."""
        for spec in self._spec_order:
            interval = spec.flow_log.interval
            start = int(now) // interval * interval
            key = (spec.flow_log_id, start)
            if key not in self.windows and key not in self.closed:
                self.windows[key] = Window(spec.flow_log_id, start, interval, last_update=now)

    def mark_skipdata(self, flow_log_ids: Iterable[str] | None = None) -> None:
        wanted = None if flow_log_ids is None else set(flow_log_ids)
        for window in self.windows.values():
            if wanted is None or window.flow_log_id in wanted:
                window.skipdata = True

    # -- closing -----------------------------------------------------------------------------
    def due(self, now: float) -> list[Window]:
        watermark = self.watermark_ms / 1000
        closing = [w for w in self.windows.values() if w.due(watermark, now, self.lateness)]
        for window in closing:
            key = (window.flow_log_id, window.start)
            del self.windows[key]
            if watermark < window.end + self.lateness:
                self.closed[key] = window.last_position
        closing.extend(self.late)
        self.late = []
        self._forget_passed(watermark)
        return closing

    def drain(self) -> list[Window]:
        """Every open window and late part (graceful shutdown)."""
        windows = list(self.windows.values()) + self.late
        self.windows.clear()
        self.late = []
        return windows

    def _forget_passed(self, watermark: float) -> None:
        for key in [k for k in self.closed if watermark >= k[1] + self._interval_of(k[0]) + self.lateness]:
            del self.closed[key]

    def _interval_of(self, flow_log_id: str) -> int:
        spec = self.specs.get(flow_log_id)
        return spec.flow_log.interval if spec else 600

    def oldest_position(self, default: int) -> int:
        """The spool position a restart must replay from to rebuild every open window."""
        positions = [w.first_position for w in self.windows.values() if w.first_position is not None]
        positions += [w.first_position for w in self.late if w.first_position is not None]
        return min(positions, default=default)
