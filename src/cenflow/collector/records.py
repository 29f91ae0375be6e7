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
from cenflow.logstore.constants import constant_array, constant_dictionary
from cenflow.logstore.schema import FLOW_LOG_ID, WINDOW_START

_DIRECTIONS = pa.array(["in", "out"], pa.string())
_TYPES = pa.array(["IPv4", "IPv6"], pa.string())
_STATUSES = pa.array(["OK", "NODATA", "SKIPDATA"], pa.string())
_NODATA, _SKIPDATA = 1, 2
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
    """The window's records, in the flow log's fields plus ``flow-log-id`` and ``window-start``.

    Text columns with few distinct values (ids, regions, enumerations) come as dictionary arrays:
    cheaper to build than taking strings row by row, and Parquet writes them without hashing every
    value.  The log store keeps what readers see plain text (see `cenflow.logstore.parquet_io`).
    """
    flow_log = spec.flow_log
    keys = result.keys
    seen_rows = len(keys)
    # After the traffic rows: NODATA for each silent attachment in scope, SKIPDATA for every one
    # when data was lost while the window was open (late parts carry traffic only).
    extra_attachments: list[str] = []
    extra_statuses: list[int] = []
    if not window.late_part:
        seen = {attachments.name(int(n)) for n in np.unique(keys["attachment"])}
        silent = [a for a in spec.scope if a not in seen]
        extra_attachments += silent
        extra_statuses += [_NODATA] * len(silent)
        if window.skipdata:
            extra_attachments += list(spec.scope)
            extra_statuses += [_SKIPDATA] * len(spec.scope)
    extra = len(extra_attachments)
    total = seen_rows + extra
    null_tail = np.concatenate([np.zeros(seen_rows, dtype=bool), np.ones(extra, dtype=bool)]) if extra else None

    def coded(indices: npt.NDArray[Any], dictionary: pa.Array, tail: list[int] | None = None) -> pa.Array:
        """Traffic rows as ``indices`` into ``dictionary``; status rows ``tail``, or null."""
        codes = np.empty(total, dtype=np.int32)
        codes[:seen_rows] = indices
        codes[seen_rows:] = tail if tail is not None else 0
        mask = null_tail if tail is None else None
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=mask), dictionary, safe=False)

    def names(registry: NameRegistry, numbers: npt.NDArray[Any]) -> pa.Array:
        return coded(numbers, pa.array(registry.names(), pa.string()))

    def attachment_ids() -> pa.Array:
        # A snapshot of the names, so a topology reload on another thread cannot shift them.
        dictionary = attachments.names()
        index = {name: number for number, name in enumerate(dictionary)}
        tail = [index.setdefault(name, len(index)) for name in extra_attachments]
        dictionary += list(index)[len(dictionary) :]
        return coded(keys["attachment"], pa.array(dictionary, pa.string()), tail)

    def number(values: npt.NDArray[Any], kind: type[np.integer[Any]]) -> pa.Array:
        return _with_nulls(pa.array(values.astype(kind)), extra)

    builders: dict[str, Callable[[], pa.Array]] = {
        "attachment-id": attachment_ids,
        "src-region-id": lambda: names(regions, keys["src_region"]),
        "srcaddr": lambda: _with_nulls(address_texts(keys["src"]), extra),
        "srcport": lambda: number(keys["src_port"], np.int32),
        "dst-region-id": lambda: names(regions, keys["dst_region"]),
        "dstaddr": lambda: _with_nulls(address_texts(keys["dst"]), extra),
        "dstport": lambda: number(keys["dst_port"], np.int32),
        "protocol": lambda: number(keys["protocol"], np.int32),
        "packets": lambda: number(result.packets, np.int64),
        "bytes": lambda: number(result.bytes, np.int64),
        "direction": lambda: coded(keys["direction"], _DIRECTIONS),
        "tcp-flags": lambda: number(result.tcp_flags, np.int32),
        "type": lambda: coded(keys["ip_version"] == 6, _TYPES),
        "log-status": lambda: (
            coded(np.zeros(seen_rows, np.int32), _STATUSES, extra_statuses)
            if extra
            else constant_dictionary("OK", total)
        ),
        "account-id": lambda: constant_dictionary(flow_log.account_id, total),
        "cen-id": lambda: constant_dictionary(flow_log.cen_id, total),
        "tr-id": lambda: constant_dictionary(flow_log.transit_router_id, total),
        "start": lambda: constant_array(window.start, pa.int64(), total),
        "end": lambda: constant_array(window.end, pa.int64(), total),
    }
    selected = {name: builders[name]() for name in flow_log.fields}
    selected[FLOW_LOG_ID] = constant_dictionary(flow_log.flow_log_id, total)
    selected[WINDOW_START] = constant_array(window.start, pa.int64(), total)
    return pa.table(selected)


def _with_nulls(column: pa.Array, extra: int) -> pa.Array:
    return pa.concat_arrays([column, pa.nulls(extra, column.type)]) if extra else column
