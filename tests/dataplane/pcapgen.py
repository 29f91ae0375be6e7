"""Small libpcap captures with a known ground truth, written with the standard library.

Each frame is Ethernet + IPv4 or IPv6 + a TCP, UDP, ICMP or ICMPv6 header, cut after the
transport header (as ``traffic_small.pcap`` is): the captured length is the headers, while the
frame's wire length and the IP length field carry the real packet size, which is what an exporter
counts as bytes.  ``truth`` gives what a correct collector reports per 5-tuple: packets and IP
bytes, ports 0 for ICMP and ICMPv6.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # LE, microseconds, Ethernet
_MACS = bytes.fromhex("020000000002") + bytes.fromhex("020000000001")


@dataclass(frozen=True)
class Packet:
    time: float  # Unix seconds
    src: str
    dst: str
    sport: int
    dport: int
    protocol: int
    length: int  # IP total length (IPv4) or header + payload (IPv6)
    tcp_flags: int = 0x18  # PSH|ACK

    @property
    def key(self) -> str:
        """``src|dst|sport|dport|proto`` as in ``traffic_small.truth.json`` (ICMP ports 0)."""
        icmp = self.protocol in (ICMP, ICMPV6)
        sport, dport = (0, 0) if icmp else (self.sport, self.dport)
        return f"{self.src}|{self.dst}|{sport}|{dport}|{self.protocol}"

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.src).version


def flow(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    protocol: int = TCP,
    *,
    packets: int = 1,
    size: int = 100,
    start: float,
    gap: float = 0.01,
) -> list[Packet]:
    """``packets`` packets of ``size`` IP bytes each, ``gap`` seconds apart from ``start``."""
    return [Packet(start + i * gap, src, dst, sport, dport, protocol, size) for i in range(packets)]


def truth(packets: Iterable[Packet]) -> dict[str, tuple[int, int]]:
    sums: dict[str, tuple[int, int]] = {}
    for packet in packets:
        count, octets = sums.get(packet.key, (0, 0))
        sums[packet.key] = (count + 1, octets + packet.length)
    return sums


def _transport(packet: Packet) -> bytes:
    if packet.protocol == TCP:
        return struct.pack(">HHIIBBHHH", packet.sport, packet.dport, 1, 1, 5 << 4, packet.tcp_flags, 65535, 0, 0)
    if packet.protocol == UDP:
        return struct.pack(">HHHH", packet.sport, packet.dport, max(8, packet.length - 20), 0)
    if packet.protocol == ICMP:
        return struct.pack(">BBHHH", 8, 0, 0, 1, 1)  # echo request
    if packet.protocol == ICMPV6:
        return struct.pack(">BBHHH", 128, 0, 0, 1, 1)  # echo request
    raise ValueError(f"unsupported protocol {packet.protocol}")


def frame(packet: Packet) -> tuple[bytes, int]:
    """The captured bytes of one packet and its length on the wire."""
    transport = _transport(packet)
    if packet.version == 4:
        ip = struct.pack(
            ">BBHHHBBH4s4s",
            0x45,
            0,
            packet.length,
            1,
            0,
            64,
            packet.protocol,
            0,
            ipaddress.IPv4Address(packet.src).packed,
            ipaddress.IPv4Address(packet.dst).packed,
        )
        ethertype = 0x0800
        wire = 14 + packet.length
    else:
        payload_length = packet.length - 40
        ip = struct.pack(
            ">IHBB16s16s",
            6 << 28,
            payload_length,
            packet.protocol,
            64,
            ipaddress.IPv6Address(packet.src).packed,
            ipaddress.IPv6Address(packet.dst).packed,
        )
        ethertype = 0x86DD
        wire = 14 + packet.length
    captured = _MACS + struct.pack(">H", ethertype) + ip + transport
    return captured, max(wire, len(captured))


def write_pcap(path: Path, packets: Sequence[Packet]) -> Path:
    """Write ``packets`` (sorted by time) as a classic little-endian libpcap file."""
    chunks = [PCAP_HEADER]
    for packet in sorted(packets, key=lambda p: p.time):
        captured, wire = frame(packet)
        seconds, micros = divmod(round(packet.time * 1_000_000), 1_000_000)
        chunks.append(struct.pack("<IIII", seconds, micros, len(captured), wire) + captured)
    path.write_bytes(b"".join(chunks))
    return path
