"""Export-protocol situations a real network produces, crafted as NetFlow v9 / IPFIX datagrams and
sent over UDP to a running server: data before its template, an exporter that restarts and
redefines its templates, IPv6 and ICMPv6, and sampling announced in options data.

Each scenario is its own CEN, bound to its own loopback exporter address, with one attachment
``lan`` (10.1/16 and 2001:db8:1::/48) and one ``wan`` (203.0.113/24 and 2001:db8:2::/48): a flow
from lan to wan is recorded ``in`` on lan and ``out`` on wan.  Flow times lie in one old window,
which the server writes a second after the last datagram.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.dataplane.support import (
    FAST,
    apply_topology,
    flowlog,
    metric,
    records,
    router,
    vpc,
    wait_for_active_flowlogs,
    wait_for_datagrams,
    wait_for_records,
    wait_for_settled_windows,
)
from tests.flow import builders
from tests.flow.builders import Field
from tests.harness import CenflowServer

T0 = 1_600_000_200  # the window [T0, T0 + 60)
PROJECT = "protocols"
LAN = ("10.1.0.0/16", "2001:db8:1::/48")
WAN = ("203.0.113.0/24", "2001:db8:2::/48")
SCENARIOS = {
    "v9-late-template": "127.0.0.21",
    "ipfix-late-template": "127.0.0.22",
    "v9-restart": "127.0.0.23",
    "ipfix-ipv6": "127.0.0.24",
    "v9-sampling": "127.0.0.25",
    "ipfix-samplers": "127.0.0.26",
}

# sysUptime-relative times (v9 FIRST/LAST_SWITCHED), 4-byte counters: 29-byte records.
UPTIME_FIELDS: list[Field] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4)]
# The same flows after a restart: 8-byte counters, packets first: 37-byte records.
RESTARTED_FIELDS: list[Field] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8), (22, 4), (21, 4)]
IPV6_FIELDS: list[Field] = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]
ICMPV6_FIELDS: list[Field] = [(27, 16), (28, 16), (139, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]
SAMPLED_FIELDS: list[Field] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8), (48, 1)]


@dataclass
class Deployment:
    server: CenflowServer
    ids: dict[str, str]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("protocols")
    cens = []
    for name, exporter in SCENARIOS.items():
        short = name.replace("-", "")
        attachments = [vpc("lan", f"vpc-{short}lan", cidr=LAN), vpc("wan", f"vpc-{short}wan", cidr=WAN)]
        flowlogs = [flowlog(name, PROJECT, name)]
        cens.append({"name": name, "transit_routers": [router("hz", exporter, attachments, flowlogs)]})
    with CenflowServer.in_directory(base, args=FAST) as server:
        ids = apply_topology(server, {"cens": cens}, base)
        wait_for_active_flowlogs(server, len(SCENARIOS))
        yield Deployment(server, ids)
    server.assert_no_errors()


def _exchange(deployment: Deployment, scenario: str, *datagrams: bytes) -> None:
    """Send each datagram on its own, waiting until the server has decoded it (so the order the
    collector sees is the order given, in separate receive batches), from one exporter socket."""
    server = deployment.server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((SCENARIOS[scenario], 0))
        for datagram in datagrams:
            before = metric(server, "cenflow_flow_datagrams_total")
            sock.sendto(datagram, ("127.0.0.1", server.flow_port))
            wait_for_datagrams(server, before + 1)


def _written(deployment: Deployment, scenario: str, packets: int) -> list[dict[str, Any]]:
    """Every OK record of the scenario once they hold ``packets`` packets and nothing is pending."""
    server = deployment.server
    ok = "\"log-status\" = 'OK'"
    wait_for_records(server, PROJECT, scenario, lambda rows: sum(r["packets"] for r in rows) >= 2 * packets, where=ok)
    wait_for_settled_windows(server)
    return records(server, PROJECT, scenario, where=ok)


def _table(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    fields = ("direction", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes")
    return sorted(tuple(r[f] for f in fields) for r in rows)


def _both_directions(*flows: tuple[str, str, int, int, int, int, int]) -> list[tuple[Any, ...]]:
    """Each lan -> wan flow as its `in` record on lan and its `out` record on wan."""
    return sorted(
        (direction, src, dst, sport, dport, protocol, packets, octets)
        for src, dst, sport, dport, protocol, packets, octets in flows
        for direction in ("in", "out")
    )


def _v4(address: str) -> bytes:
    return ipaddress.IPv4Address(address).packed


def _uptime_record(src: str, dst: str, sport: int, octets: int, packets: int, first: int, last: int) -> bytes:
    return _v4(src) + _v4(dst) + struct.pack(">HHBIIII", sport, 443, 6, octets, packets, first, last)


def _restarted_record(src: str, dst: str, sport: int, octets: int, packets: int, first: int, last: int) -> bytes:
    return _v4(src) + _v4(dst) + struct.pack(">HHBQQII", sport, 443, 6, packets, octets, first, last)


def _ms(offset: float) -> int:
    return int((T0 + offset) * 1000)


def _ipv4(src: str, dst: str, sport: int, dport: int, *, octets: int, packets: int, at: float) -> bytes:
    """A record of ``builders.IPV4_FIELDS`` lasting half a second from ``T0 + at``."""
    return builders.ipv4_record(
        src, dst, sport, dport, octets=octets, packets=packets, start_ms=_ms(at), end_ms=_ms(at + 0.5)
    )


@pytest.fixture(autouse=True)
def _no_false_gaps(deployment: Deployment) -> Iterator[None]:
    """The crafted streams are numbered correctly: none of them may look like lost data."""
    before = metric(deployment.server, "cenflow_flow_sequence_gaps_total")
    yield
    assert metric(deployment.server, "cenflow_flow_sequence_gaps_total") == before


def test_v9_data_sent_before_its_template_is_recorded_once_the_template_arrives(deployment: Deployment) -> None:
    server = deployment.server
    misses = metric(server, "cenflow_flow_template_misses_total")
    first = _ipv4("10.1.0.1", "203.0.113.1", 40001, 443, octets=1000, packets=10, at=1)
    second = _ipv4("10.1.0.2", "203.0.113.2", 40002, 443, octets=2000, packets=20, at=2)
    third = _ipv4("10.1.0.3", "203.0.113.3", 40003, 443, octets=3000, packets=30, at=3)
    data = builders.v9_packet([builders.data_set(260, [first, second])], sequence=0, unix_secs=T0 + 10)
    template = builders.v9_packet([builders.v9_template_flowset((260, builders.IPV4_FIELDS))], 1, unix_secs=T0 + 10)
    more = builders.v9_packet([builders.data_set(260, [third])], sequence=2, unix_secs=T0 + 10)
    _exchange(deployment, "v9-late-template", data, template, more)
    assert metric(server, "cenflow_flow_template_misses_total") == misses + 1
    rows = _written(deployment, "v9-late-template", 60)
    assert _table(rows) == _both_directions(
        ("10.1.0.1", "203.0.113.1", 40001, 443, 6, 10, 1000),
        ("10.1.0.2", "203.0.113.2", 40002, 443, 6, 20, 2000),
        ("10.1.0.3", "203.0.113.3", 40003, 443, 6, 30, 3000),
    )


def test_ipfix_data_sent_before_its_template_is_recorded_once_the_template_arrives(deployment: Deployment) -> None:
    server = deployment.server
    misses = metric(server, "cenflow_flow_template_misses_total")
    fields: list[Field] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]

    def record(src: str, dst: str, sport: int, octets: int, packets: int) -> bytes:
        return _v4(src) + _v4(dst) + struct.pack(">HHBQQQQ", sport, 53, 17, octets, packets, _ms(4), _ms(5))

    data = builders.ipfix_message(
        [builders.data_set(300, [record("10.1.0.4", "203.0.113.4", 5001, 400, 4)])], sequence=0, export_time=T0 + 10
    )
    template = builders.ipfix_message([builders.ipfix_template_set((300, fields))], sequence=1, export_time=T0 + 10)
    more = builders.ipfix_message(
        [builders.data_set(300, [record("10.1.0.5", "203.0.113.5", 5002, 500, 5)])], sequence=1, export_time=T0 + 10
    )
    _exchange(deployment, "ipfix-late-template", data, template, more)
    assert metric(server, "cenflow_flow_template_misses_total") == misses + 1
    rows = _written(deployment, "ipfix-late-template", 9)
    assert _table(rows) == _both_directions(
        ("10.1.0.4", "203.0.113.4", 5001, 53, 17, 4, 400),
        ("10.1.0.5", "203.0.113.5", 5002, 53, 17, 5, 500),
    )


def test_a_restarted_exporter_is_decoded_with_its_new_templates_and_clock(deployment: Deployment) -> None:
    """The exporter runs for 50,000 s, restarts (sysUptime back to seconds, boot time later) and
    reuses template id 256 for a different layout, sending data before the new template: with the
    old template kept, that data would be misread (37-byte records cut as 29-byte ones)."""
    up = 50_000_000  # ms of uptime before the restart; the export clock is T0 + 10 s
    before = [
        builders.v9_packet(
            [
                builders.v9_template_flowset((256, UPTIME_FIELDS)),
                builders.data_set(256, [_uptime_record("10.1.0.6", "203.0.113.6", 6001, 600, 6, up - 8000, up - 7000)]),
            ],
            sequence=0,
            uptime_ms=up,
            unix_secs=T0 + 10,
        ),
        builders.v9_packet(
            [builders.data_set(256, [_uptime_record("10.1.0.7", "203.0.113.7", 6002, 700, 7, up - 6000, up - 5000)])],
            sequence=1,
            uptime_ms=up + 1000,
            unix_secs=T0 + 11,
        ),
    ]
    # Restarted 2 s ago: sysUptime 2,000 ms at T0 + 12 s.
    after = [
        builders.v9_packet(
            [builders.data_set(256, [_restarted_record("10.1.0.8", "203.0.113.8", 6003, 800, 8, 500, 1500)])],
            sequence=0,
            uptime_ms=2000,
            unix_secs=T0 + 12,
        ),
        builders.v9_packet(
            [builders.v9_template_flowset((256, RESTARTED_FIELDS))], sequence=1, uptime_ms=2100, unix_secs=T0 + 12
        ),
    ]
    _exchange(deployment, "v9-restart", *before, *after)
    rows = _written(deployment, "v9-restart", 21)
    assert _table(rows) == _both_directions(
        ("10.1.0.6", "203.0.113.6", 6001, 443, 6, 6, 600),
        ("10.1.0.7", "203.0.113.7", 6002, 443, 6, 7, 700),
        ("10.1.0.8", "203.0.113.8", 6003, 443, 6, 8, 800),
    )
    everything = records(deployment.server, PROJECT, "v9-restart", where="\"log-status\" = 'OK'")
    assert {r["start"] for r in everything} == {T0}  # every flow time in the one window


def test_ipv6_flows_and_icmpv6_are_recorded_with_their_addresses_and_no_ports(deployment: Deployment) -> None:
    def v6(address: str) -> bytes:
        return ipaddress.IPv6Address(address).packed

    ports = ">HHBQQQQ"
    tcp = v6("2001:db8:1::10") + v6("2001:db8:2::20") + struct.pack(ports, 50000, 443, 6, 1200, 12, _ms(6), _ms(7))
    udp = v6("2001:db8:1:0:0:0:0:11") + v6("2001:db8:2::21") + struct.pack(ports, 5353, 53, 17, 130, 1, _ms(6), _ms(6))
    ping = v6("2001:db8:1::12") + v6("2001:db8:2::22") + struct.pack(">HBQQQQ", 128 << 8, 58, 208, 2, _ms(8), _ms(9))
    message = builders.ipfix_message(
        [
            builders.ipfix_template_set((2048, IPV6_FIELDS), (2049, ICMPV6_FIELDS)),
            builders.data_set(2048, [tcp, udp]),
            builders.data_set(2049, [ping]),
        ],
        export_time=T0 + 10,
    )
    _exchange(deployment, "ipfix-ipv6", message)
    rows = _written(deployment, "ipfix-ipv6", 15)
    assert _table(rows) == _both_directions(
        ("2001:db8:1::10", "2001:db8:2::20", 50000, 443, 6, 12, 1200),
        ("2001:db8:1::11", "2001:db8:2::21", 5353, 53, 17, 1, 130),
        ("2001:db8:1::12", "2001:db8:2::22", 0, 0, 58, 2, 208),
    )
    assert {r["type"] for r in rows} == {"IPv6"}
    ids = deployment.ids
    lan, wan = ids["ipfix-ipv6/hz/lan"], ids["ipfix-ipv6/hz/wan"]
    assert {(r["direction"], r["attachment-id"]) for r in rows} == {("in", lan), ("out", wan)}


def test_v9_options_data_with_a_sampling_interval_scales_the_flows_that_follow(deployment: Deployment) -> None:
    options = builders.v9_packet(
        [
            builders.v9_options_template_flowset(257, [(1, 4)], [(34, 4), (35, 1)]),  # scope: the system
            builders.data_set(257, [struct.pack(">IIB", 0, 100, 2)]),  # 1 in 100, random
        ],
        sequence=0,
        unix_secs=T0 + 10,
    )
    flows = [
        _ipv4("10.1.0.9", "203.0.113.9", 7001, 80, octets=150, packets=3, at=10),
        _ipv4("10.1.0.10", "203.0.113.10", 7002, 80, octets=64, packets=1, at=11),
    ]
    data = builders.v9_packet(
        [builders.v9_template_flowset((256, builders.IPV4_FIELDS)), builders.data_set(256, flows)],
        sequence=1,
        unix_secs=T0 + 10,
    )
    _exchange(deployment, "v9-sampling", options, data)
    rows = _written(deployment, "v9-sampling", 400)
    assert _table(rows) == _both_directions(
        ("10.1.0.9", "203.0.113.9", 7001, 80, 6, 300, 15000),
        ("10.1.0.10", "203.0.113.10", 7002, 80, 6, 100, 6400),
    )


def test_ipfix_flows_are_scaled_by_the_rate_of_their_own_sampler(deployment: Deployment) -> None:
    """Two samplers announced in options data (1 in 10, 1 in 1000); a flow naming a sampler nobody
    described is not scaled."""
    options = builders.ipfix_message(
        [
            builders.ipfix_options_template_set(400, [(48, 1)], [(34, 4)]),
            builders.data_set(400, [struct.pack(">BI", 1, 10), struct.pack(">BI", 2, 1000)]),
        ],
        sequence=0,
        export_time=T0 + 10,
    )

    def flow(src: str, sport: int, octets: int, packets: int, sampler: int) -> bytes:
        tail = struct.pack(">HHBQQQQB", sport, 80, 6, octets, packets, _ms(12), _ms(13), sampler)
        return _v4(src) + _v4("203.0.113.11") + tail

    data = builders.ipfix_message(
        [
            builders.ipfix_template_set((300, SAMPLED_FIELDS)),
            builders.data_set(
                300,
                [
                    flow("10.1.0.11", 8001, 100, 1, sampler=1),
                    flow("10.1.0.12", 8002, 200, 2, sampler=2),
                    flow("10.1.0.13", 8003, 300, 3, sampler=7),
                ],
            ),
        ],
        sequence=2,
        export_time=T0 + 10,
    )
    _exchange(deployment, "ipfix-samplers", options, data)
    rows = _written(deployment, "ipfix-samplers", 2013)
    assert _table(rows) == _both_directions(
        ("10.1.0.11", "203.0.113.11", 8001, 80, 6, 10, 1000),
        ("10.1.0.12", "203.0.113.11", 8002, 80, 6, 2000, 200000),
        ("10.1.0.13", "203.0.113.11", 8003, 80, 6, 3, 300),
    )
