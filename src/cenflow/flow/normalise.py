"""Vectorised normalisation: raw template fields + per-record context -> `FlowBatch` columns.

Rules (dataplane reference §2.4):

* **Addresses**: IPv4 (IE 8/12) become IPv4-mapped 16-byte values, IPv6 (27/28) stay as they are.
  A template carrying both families picks per record: ipVersion (IE 60) if present, otherwise
  IPv6 when its addresses are non-zero and the IPv4 ones are zero.
* **ICMP / ICMPv6** (protocol 1 / 58): both ports are 0; `icmp_type_code` comes from IE 32/139,
  or IE 176-179, or else from the destination port (the v5 convention: type × 256 + code).
* **Times**, separately for start and end, first available of: flowStart/EndMilliseconds
  (152/153, end also observationTimeMilliseconds 323) → -Seconds (150/151) → -Micro/Nanoseconds
  (154-157, NTP format) → -DeltaMicroseconds (158/159, before the export time) → SysUpTime
  (22/21).  SysUpTime is converted with the v5/v9 header (RFC 3954: export_ms − (sysUptime − X),
  with 32-bit wrap) or, for IPFIX, with systemInitTimeMilliseconds (IE 160 in the record or from
  options data).  If only one end is known, flowDurationMilliseconds (161) or the other end is
  used; with no time at all (or IPFIX uptimes without a known boot time) the export time is used.
* **Counters**: octet/packetDeltaCount (1/2), else initiator counters (231/298), else total
  counters (85/86); where the delta is zero or absent, v9 OUT_BYTES/OUT_PKTS (23/24), which
  templates carrying both directions fill for egress records instead.
* **Sampling**: the rate is the record's own samplingInterval / samplerRandomInterval /
  samplingPacketInterval if non-zero, else the rate learned for its samplerId / selectorId from
  options data, else the stream's rate (options data without a sampler id, or the v5 header);
  packets and bytes are multiplied by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cenflow.flow.batch import DIRECTION_UNKNOWN, FlowBatch
from cenflow.flow.layout import RecordLayout

NTP_UNIX_OFFSET_S = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class RecordContext:
    """Per-record values that come from the message header and the exporter's state."""

    version: npt.NDArray[np.uint8]
    exporter: npt.NDArray[np.void]
    exporter_port: npt.NDArray[np.uint16]
    domain: npt.NDArray[np.uint32]
    template_id: npt.NDArray[np.uint16]
    export_ms: I64
    uptime_ms: I64  # v5/v9 header sysUptime; -1 for IPFIX
    boot_ms: I64  # IPFIX systemInitTimeMilliseconds learned from options; -1 unknown
    rate: U64  # stream / header sampling rate, >= 1
    stream: npt.NDArray[np.intp]  # index into `sampler_rates`
    sampler_rates: list[dict[int, int]]  # per stream: samplerId/selectorId -> rate


def uint_column(
    records: npt.NDArray[Any], layout: RecordLayout, role: str, dtype: type[np.unsignedinteger[Any]] = np.uint64
) -> npt.NDArray[Any] | None:
    """The role's values as `dtype` (uint64 unless a narrower column is wanted), whatever width
    the exporter chose; None if absent."""
    width = layout.widths.get(role)
    if width is None:
        return None
    column = records[role]
    if width in (1, 2, 4, 8):
        return column.astype(dtype)
    value = np.zeros(len(records), dtype=np.uint64)
    for i in range(width):
        value = (value << np.uint64(8)) | column[:, i].astype(np.uint64)
    return value.astype(dtype, copy=False)


def mapped_ipv4(values: npt.NDArray[Any] | None, n: int) -> npt.NDArray[np.void]:
    """IPv4-mapped 16-byte addresses from 32-bit values (the raw big-endian column is fastest)."""
    words = np.zeros((n, 4), dtype=">u4")  # a memset, cheaper than writing the zero columns
    words[:, 2] = 0xFFFF
    if values is not None:
        words[:, 3] = values
    return words.view("V16").reshape(n)


def _addresses(
    records: npt.NDArray[Any], layout: RecordLayout, n: int
) -> tuple[npt.NDArray[np.void], npt.NDArray[np.void], npt.NDArray[np.uint8]]:
    widths = layout.widths
    has4 = "src4" in widths or "dst4" in widths
    has6 = "src6" in widths or "dst6" in widths
    zero16 = np.zeros(n, dtype="V16")
    if not has4 and not has6:
        return zero16, zero16, np.zeros(n, dtype=np.uint8)
    src4 = records["src4"] if "src4" in widths else None  # raw big-endian: copied as is
    dst4 = records["dst4"] if "dst4" in widths else None
    if not has6:
        return mapped_ipv4(src4, n), mapped_ipv4(dst4, n), np.full(n, 4, dtype=np.uint8)
    src6 = records["src6"] if "src6" in widths else zero16
    dst6 = records["dst6"] if "dst6" in widths else zero16
    if not has4:
        return src6, dst6, np.full(n, 6, dtype=np.uint8)
    version = uint_column(records, layout, "ip_version")
    if version is not None:
        use6 = version == 6
    else:
        v6_set = (src6 != zero16) | (dst6 != zero16)
        v4_zero = ((src4 if src4 is not None else 0) == 0) & ((dst4 if dst4 is not None else 0) == 0)
        use6 = v6_set & v4_zero
    src = np.where(use6, src6, mapped_ipv4(src4, n))
    dst = np.where(use6, dst6, mapped_ipv4(dst4, n))
    return src, dst, np.where(use6, 6, 4).astype(np.uint8)


def _uptime_to_ms(value: U64, records: npt.NDArray[Any], layout: RecordLayout, ctx: RecordContext) -> I64:
    # v5/v9: RFC 3954 relative to the header; the signed 32-bit difference handles the wrap.
    delta = (ctx.uptime_ms - value.astype(np.int64)) & 0xFFFFFFFF
    delta = np.where(delta >= 1 << 31, delta - (1 << 32), delta)
    header_based = ctx.export_ms - delta
    init = uint_column(records, layout, "system_init_ms")
    boot = init.astype(np.int64) if init is not None else ctx.boot_ms
    ipfix_based = np.where(boot >= 0, boot + value.astype(np.int64), ctx.export_ms)
    result: I64 = np.where(ctx.uptime_ms >= 0, header_based, ipfix_based)
    return result


def _time(records: npt.NDArray[Any], layout: RecordLayout, ctx: RecordContext, edge: str) -> I64 | None:
    value = uint_column(records, layout, f"{edge}_ms")
    if value is not None:
        return value.astype(np.int64)
    value = uint_column(records, layout, f"{edge}_s")
    if value is not None:
        return value.astype(np.int64) * 1000
    value = uint_column(records, layout, f"{edge}_ntp")
    if value is not None:
        seconds = (value >> np.uint64(32)).astype(np.int64) - NTP_UNIX_OFFSET_S
        millis = ((value & np.uint64(0xFFFFFFFF)) * np.uint64(1000)) >> np.uint64(32)
        return seconds * 1000 + millis.astype(np.int64)
    value = uint_column(records, layout, f"{edge}_delta_us")
    if value is not None:
        return ctx.export_ms - (value // np.uint64(1000)).astype(np.int64)
    value = uint_column(records, layout, f"{edge}_uptime")
    if value is not None:
        return _uptime_to_ms(value, records, layout, ctx)
    return None


def _times(records: npt.NDArray[Any], layout: RecordLayout, ctx: RecordContext) -> tuple[I64, I64]:
    start = _time(records, layout, ctx, "start")
    end = _time(records, layout, ctx, "end")
    duration = uint_column(records, layout, "duration_ms")
    if start is None and end is not None:
        start = end - duration.astype(np.int64) if duration is not None else end
    elif end is None and start is not None:
        end = start + duration.astype(np.int64) if duration is not None else start
    if start is None or end is None:
        return ctx.export_ms, ctx.export_ms
    return start, end


def _sampling(records: npt.NDArray[Any], layout: RecordLayout, ctx: RecordContext) -> U64:
    rate = ctx.rate  # >= 1 already: the stream's or the v5 header's
    sampler = uint_column(records, layout, "sampler_id")
    if sampler is not None and any(ctx.sampler_rates):
        rate = rate.copy()
        for stream_index in np.unique(ctx.stream):
            table = ctx.sampler_rates[int(stream_index)]
            if not table:
                continue
            in_stream = ctx.stream == stream_index
            for sampler_id, sampler_rate in table.items():
                rate[in_stream & (sampler == sampler_id)] = sampler_rate
    own = uint_column(records, layout, "sampling_interval")
    if own is not None:
        rate = np.where(own > 0, np.minimum(own, 0xFFFFFFFF), rate)
    return rate


def _counter(records: npt.NDArray[Any], layout: RecordLayout, role: str) -> U64:
    main = uint_column(records, layout, role)
    post = uint_column(records, layout, f"post_{role}")
    if main is None:
        return post if post is not None else np.zeros(len(records), dtype=np.uint64)
    return main if post is None else np.where(main > 0, main, post)


def normalise(records: npt.NDArray[Any], layout: RecordLayout, ctx: RecordContext) -> FlowBatch:
    n = len(records)

    def col(role: str, dtype: type[np.unsignedinteger[Any]]) -> npt.NDArray[Any]:
        value = uint_column(records, layout, role, dtype)
        return np.zeros(n, dtype=dtype) if value is None else value

    src, dst, ip_version = _addresses(records, layout, n)
    protocol = col("protocol", np.uint8)
    src_port = col("src_port", np.uint16)
    dst_port = col("dst_port", np.uint16)
    is_icmp = (protocol == 1) | (protocol == 58)
    if "icmp_type_code" in layout.widths:
        icmp = col("icmp_type_code", np.uint16)
    elif "icmp_type" in layout.widths:
        icmp = (col("icmp_type", np.uint16) << 8) | col("icmp_code", np.uint16)
    else:
        icmp = dst_port  # the v5 convention: type × 256 + code in the destination port
    rate = _sampling(records, layout, ctx)
    start_ms, end_ms = _times(records, layout, ctx)
    direction = uint_column(records, layout, "direction", np.uint8)
    return FlowBatch.from_columns(
        {
            "version": ctx.version,
            "exporter": ctx.exporter,
            "exporter_port": ctx.exporter_port,
            "domain": ctx.domain,
            "template_id": ctx.template_id,
            "ip_version": ip_version,
            "src_addr": src,
            "dst_addr": dst,
            "src_port": np.where(is_icmp, 0, src_port),
            "dst_port": np.where(is_icmp, 0, dst_port),
            "protocol": protocol,
            "tcp_flags": col("tcp_flags", np.uint16),
            "icmp_type_code": np.where(is_icmp, icmp, 0),
            "packets": _counter(records, layout, "packets") * rate,
            "bytes": _counter(records, layout, "bytes") * rate,
            "sampling_rate": rate,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "export_ms": ctx.export_ms,
            "input_if": col("input_if", np.uint32),
            "output_if": col("output_if", np.uint32),
            "direction": np.full(n, DIRECTION_UNKNOWN, dtype=np.uint8) if direction is None else direction,
        }
    )
