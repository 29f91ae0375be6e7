"""Hand-built NetFlow v5 / v9 and IPFIX messages for behaviour tests."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence

Field = tuple[int, int] | tuple[int, int, int]  # (element id, length[, enterprise number])

# A fixed IPv4 template: addresses, ports, protocol, flags, 8-byte counters, ms times,
# interfaces, direction.
IPV4_FIELDS: list[Field] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (1, 8), (2, 8), (152, 8), (153, 8)]
IPV4_FIELDS += [(10, 4), (14, 4), (61, 1)]
IPV6_FIELDS: list[Field] = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]


def ipv4_record(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    proto: int = 6,
    flags: int = 0,
    octets: int = 100,
    packets: int = 1,
    start_ms: int = 1_700_000_000_000,
    end_ms: int = 1_700_000_001_000,
    input_if: int = 1,
    output_if: int = 2,
    direction: int = 0,
) -> bytes:
    return (
        ipaddress.IPv4Address(src).packed
        + ipaddress.IPv4Address(dst).packed
        + struct.pack(
            ">HHBBQQQQIIB",
            sport,
            dport,
            proto,
            flags,
            octets,
            packets,
            start_ms,
            end_ms,
            input_if,
            output_if,
            direction,
        )
    )


def ipv6_record(src: str, dst: str, sport: int, dport: int, proto: int, octets: int, packets: int) -> bytes:
    return (
        ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + struct.pack(">HHBQQQQ", sport, dport, proto, octets, packets, 1_700_000_000_000, 1_700_000_000_500)
    )


def _field_specs(fields: Sequence[Field], enterprise_bit: bool) -> bytes:
    out = b""
    for field in fields:
        element_id, length = field[0], field[1]
        pen = field[2] if len(field) == 3 else 0
        if pen and enterprise_bit:
            out += struct.pack(">HHI", element_id | 0x8000, length, pen)
        else:
            out += struct.pack(">HH", element_id, length)
    return out


def _set(set_id: int, body: bytes) -> bytes:
    return struct.pack(">HH", set_id, 4 + len(body)) + body


# -- IPFIX ---------------------------------------------------------------------------------


def ipfix_template_set(*templates: tuple[int, Sequence[Field]]) -> bytes:
    body = b"".join(struct.pack(">HH", tid, len(fields)) + _field_specs(fields, True) for tid, fields in templates)
    return _set(2, body)


def ipfix_options_template_set(template_id: int, scope: Sequence[Field], fields: Sequence[Field]) -> bytes:
    head = struct.pack(">HHH", template_id, len(scope) + len(fields), len(scope))
    return _set(3, head + _field_specs([*scope, *fields], True))


def ipfix_withdrawal(template_id: int, set_id: int = 2) -> bytes:
    return _set(set_id, struct.pack(">HH", template_id, 0))


def data_set(template_id: int, records: Sequence[bytes], padding: int = 0) -> bytes:
    return _set(template_id, b"".join(records) + bytes(padding))


def ipfix_message(sets: Sequence[bytes], sequence: int = 0, domain: int = 1, export_time: int = 1_700_000_002) -> bytes:
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), export_time, sequence, domain) + body


def varlen(value: bytes) -> bytes:
    """An IPFIX variable-length value: 1-byte length, or 255 + 2-byte length from 255 bytes on."""
    if len(value) < 255:
        return bytes([len(value)]) + value
    return b"\xff" + struct.pack(">H", len(value)) + value


# -- NetFlow v9 ----------------------------------------------------------------------------


def v9_template_flowset(*templates: tuple[int, Sequence[Field]]) -> bytes:
    body = b"".join(struct.pack(">HH", tid, len(fields)) + _field_specs(fields, False) for tid, fields in templates)
    return _set(0, body)


def v9_options_template_flowset(template_id: int, scope: Sequence[Field], fields: Sequence[Field]) -> bytes:
    head = struct.pack(">HHH", template_id, 4 * len(scope), 4 * len(fields))
    return _set(1, head + _field_specs([*scope, *fields], False))


def v9_packet(
    sets: Sequence[bytes],
    sequence: int = 0,
    source_id: int = 0,
    uptime_ms: int = 100_000,
    unix_secs: int = 1_700_000_002,
) -> bytes:
    return struct.pack(">HHIIII", 9, len(sets), uptime_ms, unix_secs, sequence, source_id) + b"".join(sets)


# -- NetFlow v5 ----------------------------------------------------------------------------


def v5_record(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    proto: int = 6,
    packets: int = 1,
    octets: int = 100,
    first: int = 90_000,
    last: int = 95_000,
    flags: int = 0,
) -> bytes:
    return struct.pack(
        ">4s4s4sHHIIIIHHBBBBHHBBH",
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
        bytes(4),
        3,
        4,
        packets,
        octets,
        first,
        last,
        sport,
        dport,
        0,
        flags,
        proto,
        0,
        0,
        0,
        0,
        0,
        0,
    )


def v5_datagram(
    records: Sequence[bytes],
    sequence: int = 0,
    uptime_ms: int = 100_000,
    unix_secs: int = 1_700_000_002,
    unix_nsecs: int = 0,
    sampling: int = 0,
    engine: tuple[int, int] = (0, 0),
) -> bytes:
    header = struct.pack(
        ">HHIIIIBBH", 5, len(records), uptime_ms, unix_secs, unix_nsecs, sequence, engine[0], engine[1], sampling
    )
    return header + b"".join(records)
