"""Capture windows: per flow log, tumbling windows of its Interval aligned to the epoch.

A window collects key/value chunks as batches arrive and aggregates them when it closes (and,
to bound memory, whenever its chunks grow large): records keyed by (attachment, direction,
addresses, ports, protocol) with packets and bytes summed exactly (uint64) and TCP flags OR'd.

Windows follow the flows' own start times.  A window closes when the event-time watermark (the
newest flow end seen, capped at the wall clock) passes its end plus the allowed lateness, or
when it has been idle for the lateness and its end is past; so live traffic closes windows by
the clock and a replayed capture closes them in order as the replay advances.  Data that
arrives for a window already closed is never dropped: it forms a *late* part of that window,
flushed at the next tick as its own file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cenflow.flow.speedups import NATIVE

KEY = np.dtype(
    [
        ("attachment", "<i4"),  # stable attachment number (see collector.registry)
        ("direction", "u1"),
        ("ip_version", "u1"),
        ("src", "V16"),
        ("dst", "V16"),
        ("src_port", "<u2"),
        ("dst_port", "<u2"),
        ("protocol", "u1"),
        ("src_region", "<i4"),  # stable region number
        ("dst_region", "<i4"),
    ]
)
KEY_BYTES = np.dtype(("V", KEY.itemsize))
COMPACT_AT = 1 << 20  # rows buffered before a window aggregates what it holds


@dataclass
class Aggregate:
    keys: npt.NDArray[np.void]
    packets: npt.NDArray[np.uint64]
    bytes: npt.NDArray[np.uint64]
    tcp_flags: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @classmethod
    def empty(cls) -> Aggregate:
        return cls(np.empty(0, KEY), np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.uint16))


_WORDS = -(-KEY.itemsize // 8)  # a key as this many 64-bit words, zero-padded
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _digests(keys: npt.NDArray[np.void]) -> npt.NDArray[np.uint64]:
    """A 64-bit mix of each key's bytes (`KEY` or its bytes as `KEY_BYTES`): equal keys, equal
    digests (the converse is checked)."""
    n = keys.shape[0]
    padded = np.zeros((n, _WORDS * 8), dtype=np.uint8)
    padded[:, : KEY.itemsize] = keys.view(np.uint8).reshape(n, KEY.itemsize)
    words = padded.view(np.uint64)
    digest = np.zeros(n, dtype=np.uint64)
    for i in range(_WORDS):
        digest ^= words[:, i]
        digest *= _MIX
        digest ^= digest >> np.uint64(29)
    return digest


def _groups(keys: npt.NDArray[np.void]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(order, starts): ``keys[order]`` has equal keys next to each other, each run starting at
    one of ``starts``."""
    digests = _digests(keys)
    order = np.argsort(digests)
    sorted_digests = digests[order]
    same = sorted_digests[1:] == sorted_digests[:-1]
    pairs = np.flatnonzero(same)
    as_bytes = keys.view(KEY_BYTES)
    if pairs.size and (as_bytes[order[pairs]] != as_bytes[order[pairs + 1]]).any():
        # Two different keys share a digest: group by the bytes themselves.
        order = np.argsort(as_bytes, kind="stable")
        sorted_keys = as_bytes[order]
        same = sorted_keys[1:] == sorted_keys[:-1]
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    return order, starts


def aggregate(parts: list[Aggregate]) -> Aggregate:
    """Merge parts into one record per distinct key (sums exact in uint64).

    With the C extension: one hash pass, keys in order of first appearance.  Without it (and as
    the reference the tests compare with): `aggregate_sorted`, keys in digest order.  Row order
    carries no meaning (queries order explicitly).
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return Aggregate.empty()
    if NATIVE is not None:
        # The parts are hashed where they are: concatenating a busy window first cost as much as
        # the hash pass (a copy, and a page fault per 4 KiB of it).
        merged = NATIVE.aggregate(
            [
                (
                    np.ascontiguousarray(p.keys).view(KEY_BYTES),
                    np.ascontiguousarray(p.packets, dtype=np.uint64),
                    np.ascontiguousarray(p.bytes, dtype=np.uint64),
                    np.ascontiguousarray(p.tcp_flags, dtype=np.uint16),
                )
                for p in parts
            ],
            KEY.itemsize,
        )
        return Aggregate(
            np.frombuffer(merged[0], dtype=KEY),
            np.frombuffer(merged[1], dtype=np.uint64),
            np.frombuffer(merged[2], dtype=np.uint64),
            np.frombuffer(merged[3], dtype=np.uint16),
        )
    # Keys are moved as opaque bytes: numpy copies a structured dtype field by field, ten times
    # slower than a plain void dtype of the same size.
    keys = np.concatenate([p.keys.view(KEY_BYTES) for p in parts])
    packets = np.concatenate([p.packets for p in parts]).astype(np.uint64, copy=False)
    octets = np.concatenate([p.bytes for p in parts]).astype(np.uint64, copy=False)
    flags = np.concatenate([p.tcp_flags for p in parts]).astype(np.uint16, copy=False)
    return aggregate_sorted(keys, packets, octets, flags)


def aggregate_sorted(
    keys: npt.NDArray[np.void],
    packets: npt.NDArray[np.uint64],
    octets: npt.NDArray[np.uint64],
    flags: npt.NDArray[np.uint16],
) -> Aggregate:
    """`aggregate` of concatenated columns with numpy: one sort by key digest."""
    if not keys.shape[0]:
        return Aggregate.empty()
    keys = keys.view(KEY_BYTES)
    order, starts = _groups(keys)
    if starts.size == order.size:  # every key distinct
        return Aggregate(keys[order].view(KEY), packets[order], octets[order], flags[order])
    return Aggregate(
        keys[order[starts]].view(KEY),
        np.add.reduceat(packets[order], starts).astype(np.uint64),
        np.add.reduceat(octets[order], starts).astype(np.uint64),
        np.bitwise_or.reduceat(flags[order], starts).astype(np.uint16),
    )


@dataclass
class Window:
    flow_log_id: str
    start: int  # unix seconds
    interval: int
    late_part: int = 0  # 0 for the window itself, n for its n-th late part
    parts: list[Aggregate] = field(default_factory=list)
    rows: int = 0
    first_position: int | None = None  # spool positions of the data it holds
    last_position: int = -1
    last_update: float = 0.0  # wall clock
    skipdata: bool = False
    # Rows at which ``add`` next merges the parts: doubled past what a merge leaves, so a window
    # with more distinct keys than COMPACT_AT is merged O(log n) times, not on every add.
    compact_at: int = COMPACT_AT

    @property
    def end(self) -> int:
        return self.start + self.interval

    def add(self, part: Aggregate, first: int, last: int, now: float) -> None:
        self.parts.append(part)
        self.rows += len(part)
        if self.first_position is None or first < self.first_position:
            self.first_position = first
        self.last_position = max(self.last_position, last)
        self.last_update = now
        if self.rows >= self.compact_at and len(self.parts) > 1:
            merged = aggregate(self.parts)
            self.parts = [merged]
            self.rows = len(merged)
            self.compact_at = max(COMPACT_AT, 2 * self.rows)

    def due(self, watermark: float, now: float, lateness: float) -> bool:
        if self.late_part:
            return True  # late parts go out at the next tick
        if watermark >= self.end + lateness:
            return True
        return now >= self.end + lateness and now - self.last_update >= lateness

    def result(self) -> Aggregate:
        return aggregate(self.parts)
