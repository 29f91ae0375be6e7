"""NetFlow v5: a 24-byte header and fixed 48-byte records, described as a template.

The record layout is written as the equivalent v9 field list, so the same compiled numpy dtype
and normaliser serve v5 (times are sysUptime-relative like v9 FIRST/LAST_SWITCHED).  A datagram
is trusted only if it holds all `count` records it declares: 24 + 48 × count <= length.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from cenflow.flow.layout import RecordLayout, compile_layout
from cenflow.flow.templates import FieldSpec, Template, TemplateKey, TemplateKind
from cenflow.flow.wire import MalformedError

HEADER = struct.Struct(">HHIIIIBBH")
HEADER_LENGTH = 24
RECORD_LENGTH = 48
PADDING = 210  # paddingOctets

RECORD_FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(element_id, length)
    for element_id, length in (
        (8, 4),  # srcaddr
        (12, 4),  # dstaddr
        (15, 4),  # nexthop
        (10, 2),  # input ifIndex
        (14, 2),  # output ifIndex
        (2, 4),  # dPkts
        (1, 4),  # dOctets
        (22, 4),  # First (sysUptime at first packet)
        (21, 4),  # Last
        (7, 2),  # srcport
        (11, 2),  # dstport
        (PADDING, 1),
        (6, 1),  # tcp_flags
        (4, 1),  # prot
        (5, 1),  # tos
        (16, 2),  # src_as
        (17, 2),  # dst_as
        (9, 1),  # src_mask
        (13, 1),  # dst_mask
        (PADDING, 2),
    )
)
LAYOUT: RecordLayout = compile_layout(RECORD_FIELDS)
assert LAYOUT.record_length == RECORD_LENGTH


class V5Header(NamedTuple):
    records: int
    uptime_ms: int
    export_ms: int
    sequence: int
    engine_type: int
    engine_id: int
    sampling_mode: int
    sampling_interval: int

    @property
    def domain(self) -> int:
        return self.engine_type << 8 | self.engine_id

    @property
    def rate(self) -> int:
        # The interval is applied whatever the 2-bit mode says: Juniper MX80 sends mode 0 with
        # interval 1000 for 1-in-1000 sampling.  0 and 1 both mean unsampled.
        return self.sampling_interval if self.sampling_interval > 1 else 1


def parse_header(payload: bytes) -> V5Header:
    if len(payload) < HEADER_LENGTH:
        raise MalformedError("v5 header truncated")
    _, count, uptime, secs, nsecs, sequence, engine_type, engine_id, sampling = HEADER.unpack_from(payload)
    if HEADER_LENGTH + RECORD_LENGTH * count > len(payload):
        raise MalformedError(f"v5 header declares {count} records in {len(payload)} bytes")
    return V5Header(
        records=count,
        uptime_ms=uptime,
        export_ms=secs * 1000 + nsecs // 1_000_000,
        sequence=sequence,
        engine_type=engine_type,
        engine_id=engine_id,
        sampling_mode=sampling >> 14,
        sampling_interval=sampling & 0x3FFF,
    )


def pseudo_template(exporter: str, port: int, domain: int) -> Template:
    """The v5 record as a template, so the debug path can name its fields."""
    return Template(TemplateKey(exporter, port, 5, domain, 0), TemplateKind.DATA, RECORD_FIELDS)
