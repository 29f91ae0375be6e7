"""Turning a closed window into CEN flow-log records (an Arrow table for the log store).

Each record carries the documented CEN fields plus cenflow's extensions (``tr-id``,
``tcp-flags``, ``log-status``, ``type``); the flow log's ``LogFormatString`` picks and orders
the fields written.  Besides the ``OK`` records of traffic seen, a window writes one ``NODATA``
record for each attachment in the flow log's scope that was silent in it, and one ``SKIPDATA``
record per attachment when the collector lost data (socket drops, sequence gaps) while the
window was open.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import numpy as np
import pyarrow as pa

from cenflow.collector.aggregator import FlowLogSpec
from cenflow.collector.registry import NameRegistry
from cenflow.collector.windows import Aggregate, Window
from cenflow.logstore.schema import FLOW_LOG_ID, WINDOW_START

_DIRECTIONS = np.array(["in", "out"], dtype=object)
_TYPES = np.array(["IPv4", "IPv6"], dtype=object)


def _address_texts(values: np.ndarray) -> np.ndarray:
    """16-byte addresses to text, converting each distinct address once."""
    if not values.size:
        return np.empty(0, dtype=object)
    unique, inverse = np.unique(values, return_inverse=True)
    texts = []
    for value in unique:
        address = ipaddress.IPv6Address(value.tobytes())
        mapped = address.ipv4_mapped
        texts.append(str(mapped) if mapped is not None else str(address))
    return np.array(texts, dtype=object)[inverse.reshape(-1)]


def window_records(
    window: Window,
    result: Aggregate,
    spec: FlowLogSpec,
    attachments: NameRegistry,
    regions: NameRegistry,
) -> pa.Table:
    flow_log = spec.flow_log
    keys = result.keys
    attachment_names = np.array([attachments.name(int(n)) for n in range(len(attachments))], dtype=object)
    region_names = np.array([regions.name(int(n)) for n in range(len(regions))], dtype=object)
    columns: dict[str, list[Any] | np.ndarray] = {
        "attachment-id": attachment_names[keys["attachment"]] if len(keys) else np.empty(0, dtype=object),
        "src-region-id": region_names[keys["src_region"]] if len(keys) else np.empty(0, dtype=object),
        "srcaddr": _address_texts(keys["src"]),
        "srcport": keys["src_port"].astype(np.int32),
        "dst-region-id": region_names[keys["dst_region"]] if len(keys) else np.empty(0, dtype=object),
        "dstaddr": _address_texts(keys["dst"]),
        "dstport": keys["dst_port"].astype(np.int32),
        "protocol": keys["protocol"].astype(np.int32),
        "packets": result.packets.astype(np.int64),
        "bytes": result.bytes.astype(np.int64),
        "direction": _DIRECTIONS[keys["direction"]],
        "tcp-flags": result.tcp_flags.astype(np.int32),
        "type": _TYPES[(keys["ip_version"] == 6).astype(np.int64)],
    }
    statuses = ["OK"] * len(keys)
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
    for name, values in columns.items():
        kind = _TYPE[name]
        seen_part = pa.array(values, kind)
        tail = pa.array(extra_attachments, kind) if name == "attachment-id" else pa.nulls(extra, kind)
        table[name] = pa.concat_arrays([seen_part, tail]) if extra else seen_part

    def constant(value: object, kind: pa.DataType) -> pa.Array:
        return pa.repeat(pa.scalar(value, kind), total)

    table["account-id"] = constant(flow_log.account_id, pa.string())
    table["cen-id"] = constant(flow_log.cen_id, pa.string())
    table["tr-id"] = constant(flow_log.transit_router_id, pa.string())
    table["start"] = constant(window.start, pa.int64())
    table["end"] = constant(window.end, pa.int64())
    table["log-status"] = pa.array(statuses + extra_statuses, pa.string())
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
