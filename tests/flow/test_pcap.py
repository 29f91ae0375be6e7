"""pcap / pcapng reading: file formats, link types, IPv4/IPv6, what is skipped."""

from __future__ import annotations

import ipaddress
import struct
from collections import Counter
from pathlib import Path

import pytest

from cenflow.flow import UdpPacket, read_udp
from cenflow.flow.pcap import PcapError
from tests.flow.samples import GENERATED, require_testdata

PAYLOAD = b"\x00\x0a netflow-ish payload"


def ipv4_udp(src: str, dst: str, sport: int, dport: int, payload: bytes, fragment: int = 0) -> bytes:
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    addresses = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
    return struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(udp), 1, fragment, 64, 17, 0) + addresses + udp


def ipv6_udp(src: str, dst: str, sport: int, dport: int, payload: bytes, hop_by_hop: bool = False) -> bytes:
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    extension = bytes([17, 0]) + bytes(6) if hop_by_hop else b""
    addresses = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
    header = struct.pack(">IHBB", 6 << 28, len(extension) + len(udp), 0 if hop_by_hop else 17, 64)
    return header + addresses + extension + udp


def ethernet(ip: bytes, ethertype: int = 0x0800, vlans: int = 0) -> bytes:
    tags = b"".join(struct.pack(">HH", 0x8100, 10 + i) for i in range(vlans))
    inner = struct.pack(">H", ethertype)
    if vlans:
        return bytes(12) + tags[:2] + tags[2:] + inner + ip
    return bytes(12) + inner + ip


def pcap(frames: list[tuple[float, bytes]], link_type: int = 1, order: str = "<", nano: bool = False) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, link_type)
    for timestamp, frame in frames:
        fraction = round((timestamp % 1) * (1e9 if nano else 1e6))
        out += struct.pack(order + "IIII", int(timestamp), fraction, len(frame), len(frame)) + frame
    return out


def pcapng(frames: list[tuple[float, bytes]], link_type: int = 1, tsresol: int | None = None) -> bytes:
    def block(kind: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    options = b"" if tsresol is None else struct.pack("<HHB3x", 9, 1, tsresol) + bytes(4)
    out += block(1, struct.pack("<HHI", link_type, 0, 0) + options)
    unit = 1e-6 if tsresol is None else 10.0**-tsresol
    for timestamp, frame in frames:
        ticks = round(timestamp / unit)
        out += block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)) + frame)
    out += block(5, b"statistics block, ignored")
    return out


def read(data: bytes, tmp_path: Path) -> list[UdpPacket]:
    path = tmp_path / "capture"
    path.write_bytes(data)
    return list(read_udp(path))


FRAME = ethernet(ipv4_udp("192.0.2.10", "192.0.2.20", 40000, 2055, PAYLOAD))
EXPECTED = UdpPacket(1700000000.25, "192.0.2.10", 40000, "192.0.2.20", 2055, PAYLOAD)


@pytest.mark.parametrize(("order", "nano"), [("<", False), (">", False), ("<", True), (">", True)])
def test_classic_pcap_in_both_byte_orders_and_resolutions(order: str, nano: bool, tmp_path: Path) -> None:
    assert read(pcap([(1700000000.25, FRAME)], order=order, nano=nano), tmp_path) == [EXPECTED]


@pytest.mark.parametrize("tsresol", [None, 9])
def test_pcapng_enhanced_packet_blocks(tsresol: int | None, tmp_path: Path) -> None:
    assert read(pcapng([(1700000000.25, FRAME)], tsresol=tsresol), tmp_path) == [EXPECTED]


def test_link_types_loopback_raw_and_linux_cooked(tmp_path: Path) -> None:
    ip = ipv4_udp("192.0.2.10", "192.0.2.20", 40000, 2055, PAYLOAD)
    cases = {
        0: struct.pack("<I", 2) + ip,  # BSD loopback, host byte order
        108: struct.pack(">I", 2) + ip,  # OpenBSD loopback, network byte order
        101: ip,  # raw IP
        113: bytes(14) + struct.pack(">H", 0x0800) + ip,  # Linux SLL
        276: struct.pack(">H", 0x0800) + bytes(18) + ip,  # Linux SLL2
    }
    for link_type, frame in cases.items():
        assert read(pcap([(1700000000.25, frame)], link_type=link_type), tmp_path) == [EXPECTED], link_type


def test_ipv6_over_ethernet_with_vlan_tags_and_an_extension_header(tmp_path: Path) -> None:
    ip = ipv6_udp("2001:db8::1", "2001:db8::2", 5000, 4739, PAYLOAD, hop_by_hop=True)
    expected = UdpPacket(1.0, "2001:db8::1", 5000, "2001:db8::2", 4739, PAYLOAD)
    assert read(pcap([(1.0, ethernet(ip, 0x86DD, vlans=2))]), tmp_path) == [expected]
    assert read(pcap([(1.0, struct.pack("<I", 30) + ip)], link_type=0), tmp_path) == [expected]  # macOS AF_INET6


def test_non_udp_fragments_and_truncated_frames_are_skipped(tmp_path: Path) -> None:
    tcp = bytearray(ipv4_udp("192.0.2.1", "192.0.2.2", 1, 2, PAYLOAD))
    tcp[9] = 6
    fragment = ipv4_udp("192.0.2.1", "192.0.2.2", 1, 2, PAYLOAD, fragment=0x2000)  # more fragments follow
    truncated = ethernet(ipv4_udp("192.0.2.1", "192.0.2.2", 1, 2, PAYLOAD))[:-5]
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    frames = [(1.0, ethernet(bytes(tcp))), (2.0, ethernet(fragment)), (3.0, truncated), (4.0, arp), (5.0, FRAME)]
    assert [p.timestamp for p in read(pcap(frames), tmp_path)] == [5.0]


def test_a_capture_cut_mid_record_ends_cleanly(tmp_path: Path) -> None:
    data = pcap([(1.0, FRAME), (2.0, FRAME)])
    assert len(read(data[:-10], tmp_path)) == 1


def test_not_a_capture_raises_pcap_error(tmp_path: Path) -> None:
    with pytest.raises(PcapError):
        read(b"GIF89a" + bytes(40), tmp_path)


def test_softflowd_exports_are_read_as_one_udp_datagram_per_frame() -> None:
    require_testdata()
    for name, port, datagrams in (("v5", 2055, 64), ("v9", 2056, 82), ("ipfix", 2057, 82)):
        packets = list(read_udp(GENERATED / f"softflowd_export_{name}.pcap"))
        assert len(packets) == datagrams
        assert Counter((p.src, p.dst, p.dst_port) for p in packets) == {("127.0.0.1", "127.0.0.1", port): datagrams}
        assert all(p.timestamp > 1.6e9 for p in packets)
