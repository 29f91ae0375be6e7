"""Turning a closed window into CEN flow-log records (an Arrow table for the log store).

Each record carries the documented CEN fields plus cenflow's extensions (``tr-id``,
``tcp-flags``, ``log-status``, ``type``); the flow log's ``LogFormatString`` picks and orders
the fields written.  Besides the ``OK`` records of traffic seen, a window writes one ``NODATA``
record for each attachment in the flow log's scope that was silent in it, and one ``SKIPDATA``
record per attachment when the collector lost data (socket drops, sequence gaps) while the
window was open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from cenflow.collector.aggregator import FlowLogSpec
from cenflow.collector.registry import NameRegistry
from cenflow.collector.windows import Aggregate, Window
from cenflow.flow.speedups import NATIVE
from cenflow.logstore.constants import constant_array
from cenflow.logstore.schema import FLOW_LOG_ID, WINDOW_START

_DIRECTIONS = pa.array(["in", "out"], pa.string())
_TYPES = pa.array(["IPv4", "IPv6"], pa.string())
_DECIMAL = pa.array([str(i) for i in range(256)], pa.string())
_HEX = pa.array([f"{i:x}" for i in range(65536)], pa.string())


def _join(columns: list[pa.Array], separator: str) -> pa.Array:
    return columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, separator)


def _ipv6_texts(groups: npt.NDArray[np.uint16]) -> pa.Array:
    """RFC 5952 text of addresses given as 8 hextets each, as ``ipaddress`` writes them: the
    first longest run of two or more zero hextets becomes ``::``."""
    n = groups.shape[0]
    hextets = [pc.take(_HEX, pa.array(groups[:, i])) for i in range(8)]
    # Length of the zero run starting at each hextet; the first longest run wins.
    run = np.zeros((n, 9), dtype=np.int8)
    for i in range(7, -1, -1):
        run[:, i] = np.where(groups[:, i] == 0, run[:, i + 1] + 1, 0)
    start = run[:, :8].argmax(axis=1)
    length = run[np.arange(n), start]
    start = np.where(length >= 2, start, 8)
    length = np.where(length >= 2, length, 0)
    pieces: list[pa.Array] = []
    rows: list[npt.NDArray[np.intp]] = []
    shape = start.astype(np.int64) * 16 + length
    for value in np.unique(shape).tolist():
        picked = np.flatnonzero(shape == value)
        first, size = divmod(int(value), 16)
        index = pa.array(picked)
        if not size:
            text = _join([hextets[i].take(index) for i in range(8)], ":")
        else:
            head = [hextets[i].take(index) for i in range(first)]
            tail = [hextets[i].take(index) for i in range(first + size, 8)]
            left = _join(head, ":") if head else pa.array([""] * picked.size, pa.string())
            right = _join(tail, ":") if tail else pa.array([""] * picked.size, pa.string())
            text = pc.binary_join_element_wise(left, right, "::")
        pieces.append(text)
        rows.append(picked)
    order = np.argsort(np.concatenate(rows), kind="stable")
    return pa.concat_arrays(pieces).take(pa.array(order))


def address_texts(values: npt.NDArray[np.void]) -> pa.Array:
    """16-byte addresses as text: IPv4-mapped ones as dotted quads, others in RFC 5952 form
    (what ``cenflow.flow.batch.address_text`` gives for one), computed column-wise."""
    n = int(values.shape[0])
    if not n:
        return pa.array([], pa.string())
    if NATIVE is not None:
        # One pass in C straight into the Arrow buffers; `address_texts_numpy` is the reference.
        offsets, data = NATIVE.address_texts(np.ascontiguousarray(values))
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return address_texts_numpy(values)


def address_texts_numpy(values: npt.NDArray[np.void]) -> pa.Array:
    """`address_texts` without the C extension: numpy and Arrow compute kernels."""
    n = int(values.shape[0])
    if not n:
        return pa.array([], pa.string())
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(n, 16)
    words = raw.view(">u4")
    mapped = (words[:, 0] == 0) & (words[:, 1] == 0) & (words[:, 2] == 0xFFFF)
    ipv4 = words[:, 3].astype(np.uint32)
    quads = [pc.take(_DECIMAL, pa.array(((ipv4 >> shift) & 0xFF).astype(np.uint8))) for shift in (24, 16, 8, 0)]
    texts = _join(quads, ".")
    if mapped.all():
        return texts
    others = np.flatnonzero(~mapped)
    ipv6 = _ipv6_texts(raw[others].view(">u2").astype(np.uint16))
    return pc.replace_with_mask(texts, pa.array(~mapped), ipv6)


def window_records(
    window: Window,
    result: Aggregate,
    spec: FlowLogSpec,
    attachments: NameRegistry,
    regions: NameRegistry,
) -> pa.Table:
    flow_log = spec.flow_log
    keys = result.keys
    wanted = set(flow_log.fields)

    def names(registry: NameRegistry, numbers: np.ndarray) -> pa.Array:
        table = pa.array([registry.name(n) for n in range(len(registry))], pa.string())
        return table.take(pa.array(np.ascontiguousarray(numbers)))

    def number(values: np.ndarray, kind: type[np.integer[Any]]) -> pa.Array:
        return pa.array(values.astype(kind))

    builders: dict[str, Callable[[], pa.Array]] = {
        "attachment-id": lambda: names(attachments, keys["attachment"]),
        "src-region-id": lambda: names(regions, keys["src_region"]),
        "srcaddr": lambda: address_texts(keys["src"]),
        "srcport": lambda: number(keys["src_port"], np.int32),
        "dst-region-id": lambda: names(regions, keys["dst_region"]),
        "dstaddr": lambda: address_texts(keys["dst"]),
        "dstport": lambda: number(keys["dst_port"], np.int32),
        "protocol": lambda: number(keys["protocol"], np.int32),
        "packets": lambda: number(result.packets, np.int64),
        "bytes": lambda: number(result.bytes, np.int64),
        "direction": lambda: _DIRECTIONS.take(pa.array(np.ascontiguousarray(keys["direction"]))),
        "tcp-flags": lambda: number(result.tcp_flags, np.int32),
        "type": lambda: _TYPES.take(pa.array((keys["ip_version"] == 6).astype(np.int8))),
    }
    columns = {name: build() for name, build in builders.items() if name in wanted}
    extra_attachments: list[str] = []
    extra_statuses: list[str] = []
    if not window.late_part:
        seen = {attachments.name(int(n)) for n in np.unique(keys["attachment"])}
        silent = [a for a in spec.scope if a not in seen]
        extra_attachments += silent
        extra_statuses += ["NODATA"] * len(silent)
        if window.skipdata:
            extra_attachments += list(spec.scope)
            extra_statuses += ["SKIPDATA"] * len(spec.scope)
    extra = len(extra_attachments)
    table: dict[str, pa.Array] = {}
    total = len(keys) + extra
    for name, seen_part in columns.items():
        kind = _TYPE[name]
        tail = pa.array(extra_attachments, kind) if name == "attachment-id" else pa.nulls(extra, kind)
        table[name] = pa.concat_arrays([seen_part, tail]) if extra else seen_part

    def constant(value: str | int, kind: pa.DataType) -> pa.Array:
        return constant_array(value, kind, total)

    table["account-id"] = constant(flow_log.account_id, pa.string())
    table["cen-id"] = constant(flow_log.cen_id, pa.string())
    table["tr-id"] = constant(flow_log.transit_router_id, pa.string())
    table["start"] = constant(window.start, pa.int64())
    table["end"] = constant(window.end, pa.int64())
    statuses = constant_array("OK", pa.string(), len(keys))
    table["log-status"] = pa.concat_arrays([statuses, pa.array(extra_statuses, pa.string())]) if extra else statuses
    selected = {name: table[name] for name in flow_log.fields}
    selected[FLOW_LOG_ID] = constant(flow_log.flow_log_id, pa.string())
    selected[WINDOW_START] = constant(window.start, pa.int64())
    return pa.table(selected)


_TYPE: dict[str, pa.DataType] = {
    "attachment-id": pa.string(),
    "src-region-id": pa.string(),
    "srcaddr": pa.string(),
    "srcport": pa.int32(),
    "dst-region-id": pa.string(),
    "dstaddr": pa.string(),
    "dstport": pa.int32(),
    "protocol": pa.int32(),
    "packets": pa.int64(),
    "bytes": pa.int64(),
    "direction": pa.string(),
    "tcp-flags": pa.int32(),
    "type": pa.string(),
}
