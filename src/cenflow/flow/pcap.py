"""UDP datagrams from packet captures, for `cenflow replay FILE.pcap` and for tests.

Reads classic libpcap files (either byte order, microsecond or nanosecond timestamps) and pcapng
(section header, interface description with `if_tsresol`, enhanced / simple / obsolete packet
blocks), streaming from the file.  Link types: Ethernet (with 802.1Q / QinQ tags), BSD loopback
(NULL and LOOP), Linux cooked (SLL, SLL2) and raw IPv4/IPv6.  Only complete, unfragmented UDP
datagrams over IPv4 or IPv6 are yielded; everything else is skipped silently (a capture is
mostly other traffic).  A truncated last record ends the iteration.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SECTION = b"\x0a\x0d\x0d\x0a"

LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LOOP, LINK_SLL, LINK_SLL2 = 0, 1, 101, 108, 113, 276
RAW_LINKS = {LINK_RAW, 12, 14, 228, 229}
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
VLAN_TAGS = {0x8100, 0x88A8, 0x9100}
AF_INET6_VALUES = {10, 24, 28, 30}  # Linux, BSDs, FreeBSD, macOS
IPV6_EXTENSIONS = {0, 43, 60}  # hop-by-hop, routing, destination options
UDP = 17


class PcapError(ValueError):
    """The file is not a capture this reader understands."""


class UdpPacket(NamedTuple):
    timestamp: float  # seconds since the epoch
    src: str
    src_port: int
    dst: str
    dst_port: int
    payload: bytes


def read_udp(source: str | os.PathLike[str] | BinaryIO) -> Iterator[UdpPacket]:
    """Yield every UDP datagram in a pcap or pcapng capture, in file order."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield from read_udp(handle)
        return
    magic = source.read(4)
    if magic == PCAPNG_SECTION:
        frames = _pcapng_frames(source, magic)
    elif magic in PCAP_MAGIC:
        frames = _pcap_frames(source, magic)
    else:
        raise PcapError(f"not a pcap or pcapng file (magic {magic.hex()})")
    for timestamp, link_type, frame in frames:
        packet = _udp_from_frame(link_type, frame, timestamp)
        if packet is not None:
            yield packet


def _pcap_frames(handle: BinaryIO, magic: bytes) -> Iterator[tuple[float, int, bytes]]:
    order, unit = PCAP_MAGIC[magic]
    header = handle.read(20)
    if len(header) < 20:
        raise PcapError("truncated pcap header")
    link_type = struct.unpack(order + "HHiIII", header)[5] & 0xFFFF
    record = struct.Struct(order + "IIII")
    while True:
        head = handle.read(16)
        if len(head) < 16:
            return
        seconds, fraction, captured, _ = record.unpack(head)
        frame = handle.read(captured)
        if len(frame) < captured:
            return
        yield seconds + fraction * unit, link_type, frame


def _tsresol(options: bytes, order: str) -> float:
    offset = 0
    while offset + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, offset)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = options[offset + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0**-value
        offset += 4 + (length + 3) // 4 * 4
    return 1e-6


def _pcapng_frames(handle: BinaryIO, first: bytes) -> Iterator[tuple[float, int, bytes]]:
    order = "<"
    interfaces: list[tuple[int, float, int]] = []  # link type, timestamp unit, snaplen
    block_type = first
    while len(block_type) == 4:
        length_field = handle.read(4)
        if len(length_field) < 4:
            return
        if block_type == PCAPNG_SECTION:
            # The byte-order magic comes right after the length, whose order it defines.
            bom = handle.read(4)
            order = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            (total,) = struct.unpack(order + "I", length_field)
            rest, kind, body = handle.read(max(0, total - 12)), 0x0A0D0D0A, b""
            complete = len(bom) == 4 and len(rest) == total - 12
            interfaces = []
        else:
            (kind,) = struct.unpack(order + "I", block_type)
            (total,) = struct.unpack(order + "I", length_field)
            rest = handle.read(max(0, total - 8))
            body = rest[:-4]  # without the trailing copy of the length
            complete = len(rest) == total - 8
        if total < 12 or not complete:
            return
        if kind == 1 and len(body) >= 8:
            link, _, snaplen = struct.unpack_from(order + "HHI", body)
            interfaces.append((link, _tsresol(body[8:], order), snaplen))
        elif kind == 6 and len(body) >= 20:
            iface, high, low, captured, _ = struct.unpack_from(order + "IIIII", body)
            if iface < len(interfaces):
                link, unit, _ = interfaces[iface]
                yield ((high << 32) | low) * unit, link, body[20 : 20 + captured]
        elif kind == 3 and len(body) >= 4 and interfaces:
            (original,) = struct.unpack_from(order + "I", body)
            link, _, snaplen = interfaces[0]
            yield 0.0, link, body[4 : 4 + min(original, snaplen or original)]
        elif kind == 2 and len(body) >= 20:
            iface, _, high, low, captured, _ = struct.unpack_from(order + "HHIIII", body)
            if iface < len(interfaces):
                link, unit, _ = interfaces[iface]
                yield ((high << 32) | low) * unit, link, body[20 : 20 + captured]
        block_type = handle.read(4)


def _network_layer(link_type: int, frame: bytes) -> tuple[int, int] | None:
    """(ethertype-like protocol, offset of the IP header) for a frame, None if not IP."""
    if link_type == LINK_ETHERNET:
        offset, ethertype = 14, int.from_bytes(frame[12:14], "big")
        while ethertype in VLAN_TAGS and len(frame) >= offset + 4:
            ethertype = int.from_bytes(frame[offset + 2 : offset + 4], "big")
            offset += 4
        return ethertype, offset
    if link_type in (LINK_NULL, LINK_LOOP):
        family = int.from_bytes(frame[:4], "big" if link_type == LINK_LOOP else "little")
        if link_type == LINK_NULL and family > 0xFFFF:
            family = int.from_bytes(frame[:4], "big")  # captured on a big-endian host
        if family == 2:
            return ETHERTYPE_IPV4, 4
        return (ETHERTYPE_IPV6, 4) if family in AF_INET6_VALUES else None
    if link_type == LINK_SLL:
        return int.from_bytes(frame[14:16], "big"), 16
    if link_type == LINK_SLL2:
        return int.from_bytes(frame[0:2], "big"), 20
    if link_type in RAW_LINKS and frame:
        version = frame[0] >> 4
        return (ETHERTYPE_IPV4 if version == 4 else ETHERTYPE_IPV6 if version == 6 else 0), 0
    return None


def _udp_from_frame(link_type: int, frame: bytes, timestamp: float) -> UdpPacket | None:
    located = _network_layer(link_type, frame)
    if located is None:
        return None
    protocol, offset = located
    if protocol == ETHERTYPE_IPV4 and len(frame) >= offset + 20 and frame[offset] >> 4 == 4:
        header_length = (frame[offset] & 0x0F) * 4
        fragment = int.from_bytes(frame[offset + 6 : offset + 8], "big")
        if header_length < 20 or frame[offset + 9] != UDP or fragment & 0x3FFF:
            return None  # not UDP, or a fragment (more-fragments flag or non-zero offset)
        src = str(ipaddress.IPv4Address(frame[offset + 12 : offset + 16]))
        dst = str(ipaddress.IPv4Address(frame[offset + 16 : offset + 20]))
        udp = offset + header_length
    elif protocol == ETHERTYPE_IPV6 and len(frame) >= offset + 40 and frame[offset] >> 4 == 6:
        next_header, udp = frame[offset + 6], offset + 40
        while next_header in IPV6_EXTENSIONS and len(frame) >= udp + 8:
            next_header, udp = frame[udp], udp + (frame[udp + 1] + 1) * 8
        if next_header != UDP:
            return None  # not UDP, or a fragment header
        src = str(ipaddress.IPv6Address(frame[offset + 8 : offset + 24]))
        dst = str(ipaddress.IPv6Address(frame[offset + 24 : offset + 40]))
    else:
        return None
    if len(frame) < udp + 8:
        return None
    src_port, dst_port, length = struct.unpack_from(">HHH", frame, udp)
    if length < 8 or udp + length > len(frame):
        return None  # truncated by the capture's snap length
    return UdpPacket(timestamp, src, src_port, dst, dst_port, frame[udp + 8 : udp + length])
