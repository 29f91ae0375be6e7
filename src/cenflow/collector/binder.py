"""Attributing decoded flows to (attachment, direction), vectorised over a batch.

For every flow of a bound exporter, each attachment of its router that the flow enters from
(``in``) or leaves into (``out``) yields one attributed row; see :mod:`topology` for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cenflow.collector.topology import AttachmentBinding, Network, Topology
from cenflow.flow.batch import FlowBatch

IN = 0
OUT = 1
DIRECTIONS = ("in", "out")


@dataclass(frozen=True)
class Attributed:
    rows: npt.NDArray[np.int64]  # index into the batch
    attachment: npt.NDArray[np.int32]  # index into Binder.attachments
    direction: npt.NDArray[np.uint8]  # IN or OUT
    src_region: npt.NDArray[np.int32]  # index into Binder.regions
    dst_region: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.rows.shape[0])


@dataclass(frozen=True)
class BindStats:
    unknown_exporter: int  # flows from exporters no transit router claims
    unattributed: int  # flows of a bound exporter that match no attachment


def _halves(addresses: npt.NDArray[np.void]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """16-byte addresses as (high, low) unsigned 64-bit integers, network order."""
    words = np.frombuffer(np.ascontiguousarray(addresses).tobytes(), dtype=">u8").reshape(-1, 2)
    return words[:, 0].astype(np.uint64), words[:, 1].astype(np.uint64)


def _prefix_words(network: Network) -> tuple[int, int, int, int]:
    """(network high, network low, mask high, mask low) in the 16-byte (IPv4-mapped) space."""
    if network.version == 4:
        value = (0xFFFF << 32) | int(network.network_address)
        length = 96 + network.prefixlen
    else:
        value = int(network.network_address)
        length = network.prefixlen
    mask = ((1 << 128) - 1) ^ ((1 << (128 - length)) - 1)
    return value >> 64, value & (2**64 - 1), mask >> 64, mask & (2**64 - 1)


PrefixWords = tuple[np.uint64, np.uint64, np.uint64, np.uint64]


def _words_of(prefixes: tuple[Network, ...]) -> tuple[PrefixWords, ...]:
    words: list[PrefixWords] = []
    for network in prefixes:
        high, low, mask_high, mask_low = _prefix_words(network)
        words.append((np.uint64(high), np.uint64(low), np.uint64(mask_high), np.uint64(mask_low)))
    return tuple(words)


def _in_prefixes(
    high: npt.NDArray[np.uint64], low: npt.NDArray[np.uint64], prefixes: tuple[PrefixWords, ...]
) -> npt.NDArray[np.bool_]:
    hit = np.zeros(high.shape[0], dtype=bool)
    for net_high, net_low, mask_high, mask_low in prefixes:
        hit |= ((high & mask_high) == net_high) & ((low & mask_low) == net_low)
    return hit


class Binder:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._router_of = topology.router_index()
        self.attachments: list[AttachmentBinding] = [a for r in topology.routers for a in r.attachments]
        self.regions: list[str] = sorted(
            {r.region_id for r in topology.routers} | {a.remote_region_id for a in self.attachments}
        )
        region_index = {name: i for i, name in enumerate(self.regions)}
        self._router_region = [region_index[r.region_id] for r in topology.routers]
        offsets: list[int] = []
        position = 0
        for router in topology.routers:
            offsets.append(position)
            position += len(router.attachments)
        self._first_attachment = offsets
        self._remote_region = np.array([region_index[a.remote_region_id] for a in self.attachments], dtype=np.int32)
        # Prefixes as 64-bit words once, not per batch; and ifindex sets as arrays.
        self._prefix_words = [_words_of(a.prefixes) for a in self.attachments]
        self._ifindexes = [np.fromiter(a.ifindexes, dtype=np.uint32) for a in self.attachments]

    def router_of_rows(self, batch: FlowBatch) -> npt.NDArray[np.int32]:
        """The router index of each flow, -1 when its exporter is not bound."""
        result = np.full(len(batch), -1, dtype=np.int32)
        if not self._router_of or not len(batch):
            return result
        exporter = np.ascontiguousarray(batch.exporter)
        words = exporter.view(np.uint64).reshape(-1, 2)
        # A receive batch usually comes from one exporter stream: one lookup, no sort.
        if (
            (words[:, 0] == words[0, 0]).all()
            and (words[:, 1] == words[0, 1]).all()
            and (batch.domain == batch.domain[0]).all()
        ):
            address, domain = exporter[0].tobytes(), int(batch.domain[0])
            result[:] = self._router_of.get((address, domain), self._router_of.get((address, None), -1))
            return result
        pairs = np.empty(len(batch), dtype=[("addr", "V16"), ("domain", "<u4")])
        pairs["addr"] = exporter
        pairs["domain"] = batch.domain
        unique, inverse = np.unique(pairs, return_inverse=True)
        for position, pair in enumerate(unique):
            address, domain = bytes(pair["addr"].tobytes()), int(pair["domain"])
            router = self._router_of.get((address, domain), self._router_of.get((address, None), -1))
            if router >= 0:
                result[inverse.reshape(-1) == position] = router
        return result

    def bind(self, batch: FlowBatch) -> tuple[Attributed, BindStats]:
        routers = self.router_of_rows(batch)
        rows_out: list[npt.NDArray[np.int64]] = []
        attachment_out: list[npt.NDArray[np.int32]] = []
        direction_out: list[npt.NDArray[np.uint8]] = []
        src_out: list[npt.NDArray[np.int32]] = []
        dst_out: list[npt.NDArray[np.int32]] = []
        unattributed = 0
        for router_position, router in enumerate(self.topology.routers):
            rows = np.flatnonzero(routers == router_position).astype(np.int64)
            if not rows.size:
                continue
            # Per flow: the first attachment it enters from / leaves into (-1: none).
            ingress = np.full(rows.size, -1, dtype=np.int64)
            egress = np.full(rows.size, -1, dtype=np.int64)
            src_high, src_low = _halves(batch.src_addr[rows])
            dst_high, dst_low = _halves(batch.dst_addr[rows])
            base = self._first_attachment[router_position]
            emitted: list[tuple[npt.NDArray[np.int64], int, int]] = []  # (local rows, attachment, direction)
            for offset, attachment in enumerate(router.attachments):
                if attachment.ifindexes:
                    indexes = self._ifindexes[base + offset]
                    entering = np.isin(batch.input_if[rows], indexes)
                    leaving = np.isin(batch.output_if[rows], indexes)
                else:
                    prefixes = self._prefix_words[base + offset]
                    entering = _in_prefixes(src_high, src_low, prefixes)
                    leaving = _in_prefixes(dst_high, dst_low, prefixes)
                ingress[(ingress < 0) & entering] = base + offset
                egress[(egress < 0) & leaving] = base + offset
                if attachment.records_inbound:
                    emitted.append((np.flatnonzero(entering), base + offset, IN))
                emitted.append((np.flatnonzero(leaving), base + offset, OUT))
            unattributed += int(((ingress < 0) & (egress < 0)).sum())
            local_region = self._router_region[router_position]
            src_region = np.where(ingress >= 0, self._remote_region[np.maximum(ingress, 0)], local_region)
            dst_region = np.where(egress >= 0, self._remote_region[np.maximum(egress, 0)], local_region)
            for local, attachment_index, direction in emitted:
                if not local.size:
                    continue
                rows_out.append(rows[local])
                attachment_out.append(np.full(local.size, attachment_index, dtype=np.int32))
                direction_out.append(np.full(local.size, direction, dtype=np.uint8))
                src_out.append(src_region[local].astype(np.int32))
                dst_out.append(dst_region[local].astype(np.int32))
        stats = BindStats(int((routers < 0).sum()), unattributed)
        if not rows_out:
            empty = np.empty(0, dtype=np.int32)
            return Attributed(empty.astype(np.int64), empty, empty.astype(np.uint8), empty, empty), stats
        return (
            Attributed(
                np.concatenate(rows_out),
                np.concatenate(attachment_out),
                np.concatenate(direction_out),
                np.concatenate(src_out),
                np.concatenate(dst_out),
            ),
            stats,
        )
