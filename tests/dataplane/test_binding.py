"""Which flow log a flow lands in, on which attachment and in which direction (docs/topology.md).

One server, one topology applied with ``cenflow topology apply``: a CEN per scenario, each router
bound to its own loopback exporter address.  A capture generated here (``pcapgen``) with flows
between the attachments, to and from the internet and across a peer connection is exported by
softflowd (v9) through a UDP tee that sends from the scenario's exporter address.  What the
records must be is computed from the capture's truth by ``expected_records``, an independent
statement of the binding rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.dataplane import pcapgen
from tests.dataplane.pcapgen import ICMP, ICMPV6, TCP, UDP
from tests.dataplane.support import (
    FAST,
    Binding,
    apply_topology,
    expected_records,
    export_capture,
    flowlog,
    metric,
    recorded,
    records,
    router,
    send,
    set_flowlog_active,
    vpc,
    wait_for_active_flowlogs,
    wait_for_datagrams,
    wait_for_metric,
    wait_for_records,
    wait_for_settled_windows,
)
from tests.flow import builders
from tests.harness import CenflowServer

T0 = 1_600_000_020  # a 60 s window starts here
WINDOW = (T0, T0 + 60)
PROJECT = "binding"
FORMAT = "${srcaddr}${dstaddr}${bytes}${packets}${direction}"

ROUTER_EXPORTER = "127.0.0.11"  # a whole-router flow log
ATTACH_EXPORTER = "127.0.0.12"  # attachment flow logs (one with a LogFormatString), one attachment without
INACTIVE_EXPORTER = "127.0.0.13"  # a flow log that was deactivated
IFINDEX_EXPORTER = "127.0.0.14"  # attachments bound by interface index
UNKNOWN_EXPORTER = "127.0.0.19"  # no router claims it

NETWORKS: dict[str, Binding] = {
    "a": (("10.1.0.0/16", "2001:db8:a::/48"), "cn-hangzhou", "vpc"),
    "b": (("10.2.0.0/16", "2001:db8:b::/48"), "cn-hangzhou", "vbr"),
    "c": (("10.3.0.0/16",), "cn-hangzhou", "vpc"),
    "to-sh": (("10.9.0.0/16",), "cn-shanghai", "peer"),
}


def _packets() -> list[pcapgen.Packet]:
    flows = [
        ("10.1.0.10", "10.2.0.20", 40001, 443, TCP, 4, 500),  # a -> b
        ("10.2.0.20", "10.1.0.10", 443, 40001, TCP, 3, 1400),  # b -> a
        ("10.1.0.11", "10.3.0.30", 5000, 53, UDP, 2, 80),  # a -> c
        ("10.3.0.31", "10.2.0.21", 0, 0, ICMP, 3, 84),  # c -> b
        ("10.2.0.22", "203.0.113.5", 123, 123, UDP, 1, 76),  # b -> internet
        ("198.51.100.7", "10.1.0.12", 51000, 22, TCP, 5, 60),  # internet -> a
        ("10.2.0.23", "10.2.1.24", 1234, 5432, TCP, 2, 200),  # b -> b (two interfaces of b)
        ("2001:db8:a::1", "2001:db8:b::2", 4000, 53, UDP, 3, 120),  # a -> b, IPv6
        ("2001:db8:b::2", "2001:db8:a::1", 0, 0, ICMPV6, 2, 104),  # b -> a, ICMPv6
        ("10.1.0.13", "10.9.0.9", 40002, 80, TCP, 3, 300),  # a -> the peer's side
        ("10.9.0.9", "10.2.0.25", 80, 40003, TCP, 2, 1500),  # the peer's side -> b
        ("192.0.2.1", "192.0.2.2", 9, 9, UDP, 1, 64),  # matches no attachment
    ]
    packets: list[pcapgen.Packet] = []
    for i, (src, dst, sport, dport, protocol, count, size) in enumerate(flows):
        packets += pcapgen.flow(src, dst, sport, dport, protocol, packets=count, size=size, start=T0 + 1 + i * 0.5)
    return packets


PACKETS = _packets()
TRUTH = pcapgen.truth(PACKETS)
EXPECTED = expected_records(TRUTH, NETWORKS)
# The CEN of the attachment flow logs has no peer connection: 10.9/16 is nobody's there.
EXPECTED_NO_PEER = expected_records(TRUTH, {name: NETWORKS[name] for name in ("a", "b", "c")})


def _attachments(prefix: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for name in names:
        cidrs, _region, kind = NETWORKS[name]
        if kind == "peer":
            result.append({"type": "peer", "name": name, "peer": "sh", "cidr": list(cidrs)})
        elif kind == "vbr":
            result.append({"type": "vbr", "name": name, "vbr_id": f"vbr-{prefix}{name}", "cidr": list(cidrs)})
        else:
            result.append(vpc(name, f"vpc-{prefix}{name}", cidr=cidrs))
    return result


def _topology() -> dict[str, Any]:
    shanghai = {"region": "cn-shanghai", "name": "sh"}
    return {
        "cens": [
            {
                "name": "bind-router",
                "transit_routers": [
                    router(
                        "hz",
                        ROUTER_EXPORTER,
                        _attachments("r", ("a", "b", "c", "to-sh")),
                        [flowlog("router-all", PROJECT, "router-flows")],
                    ),
                    shanghai,
                ],
            },
            {
                "name": "bind-attachment",
                "transit_routers": [
                    router(
                        "hz",
                        ATTACH_EXPORTER,
                        _attachments("s", ("a", "b", "c")),
                        [
                            flowlog("only-b", PROJECT, "b-flows", attachment="b"),
                            flowlog("only-a", PROJECT, "a-flows", attachment="a", fmt=FORMAT),
                        ],
                    )
                ],
            },
            {
                "name": "bind-inactive",
                "transit_routers": [
                    router(
                        "hz",
                        INACTIVE_EXPORTER,
                        _attachments("i", ("a", "b")),
                        [flowlog("deactivated", PROJECT, "inactive-flows")],
                    )
                ],
            },
            {
                "name": "bind-ifindex",
                "transit_routers": [
                    router(
                        "hz",
                        IFINDEX_EXPORTER,
                        [
                            vpc("x", "vpc-fx", ifindex=[1]),
                            vpc("y", "vpc-fy", ifindex=[2, 3]),
                            vpc("z", "vpc-fz", ifindex=[4], cidr=["10.4.0.0/16"]),
                        ],
                        [flowlog("by-ifindex", PROJECT, "ifindex-flows")],
                    )
                ],
            },
        ]
    }


@dataclass
class Deployment:
    server: CenflowServer
    ids: dict[str, str]
    capture: Path

    def names(self, cen: str) -> dict[str, str]:
        """attachment id -> its name in the topology file, for one CEN."""
        prefix = f"{cen}/hz/"
        return {v: k.removeprefix(prefix) for k, v in self.ids.items() if k.startswith(prefix)}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("binding")
    capture = pcapgen.write_pcap(base / "binding.pcap", PACKETS)
    with CenflowServer.in_directory(base, args=FAST) as server:
        ids = apply_topology(server, _topology(), base)
        wait_for_active_flowlogs(server, 5)
        yield Deployment(server, ids, capture)
    server.assert_no_errors()


@pytest.fixture(scope="module")
def attachment_export(deployment: Deployment) -> dict[str, float]:
    """The capture exported once from the exporter of the attachment flow logs; the counters'
    increments it caused."""
    server = deployment.server
    names = ("cenflow_flow_inactive_records_total", "cenflow_flow_unattributed_records_total")
    before = {name: metric(server, name) for name in names}
    export_capture(server, deployment.capture, ATTACH_EXPORTER)
    _wait_for_packets(server, "b-flows", _only("b"))
    _wait_for_packets(server, "a-flows", _only("a"))
    wait_for_settled_windows(server)
    return {name: metric(server, name) - before[name] for name in names}


_OK = "\"log-status\" = 'OK'"


def _only(attachment: str) -> dict[tuple[str, str, str], tuple[int, int, str, str]]:
    """What the attachment flow log of ``attachment`` must hold."""
    return {k: v for k, v in EXPECTED_NO_PEER.items() if k[0] == attachment}


def _wait_for_packets(
    server: CenflowServer, logstore: str, expected: dict[tuple[str, str, str], tuple[int, int, str, str]]
) -> None:
    """Until the window's records hold as many packets as ``expected`` (then the caller compares)."""
    total = sum(v[0] for v in expected.values())
    where = f'"window-start" = {T0}'
    wait_for_records(
        server, PROJECT, logstore, lambda rows: sum(r.get("packets", 0) for r in rows) >= total, where=where
    )


def test_a_router_flow_log_records_each_flow_in_from_its_ingress_and_out_into_its_egress(
    deployment: Deployment,
) -> None:
    """a -> b gives `in` on a and `out` on b; b -> b both on b; the peer connection only `out`,
    with the peer router's region on its side; flows to or from nowhere only on the side that
    is an attachment."""
    server = deployment.server
    unattributed = metric(server, "cenflow_flow_unattributed_records_total")
    export_capture(server, deployment.capture, ROUTER_EXPORTER)
    _wait_for_packets(server, "router-flows", EXPECTED)
    wait_for_settled_windows(server)
    rows = records(server, PROJECT, "router-flows", from_ts=WINDOW[0], to_ts=WINDOW[1])
    assert recorded(rows, deployment.names("bind-router")) == EXPECTED
    assert ("to-sh", "in", "10.9.0.9|10.2.0.25|80|40003|6") not in EXPECTED  # the rule under test
    assert EXPECTED[("to-sh", "out", "10.1.0.13|10.9.0.9|40002|80|6")][2:] == ("cn-hangzhou", "cn-shanghai")
    assert EXPECTED[("b", "out", "10.9.0.9|10.2.0.25|80|40003|6")][2:] == ("cn-shanghai", "cn-hangzhou")
    # One flow crossed between two networks no attachment claims.
    assert metric(server, "cenflow_flow_unattributed_records_total") - unattributed == 1
    for row in rows:
        assert (row["start"], row["end"], row["window-start"]) == (T0, T0 + 60, T0)
        assert row["tr-id"] == deployment.ids["bind-router/hz"]
        assert row["cen-id"] == deployment.ids["bind-router"]


def test_an_attachment_flow_log_writes_only_its_attachments_flows_with_their_direction(
    deployment: Deployment, attachment_export: dict[str, float]
) -> None:
    rows = records(deployment.server, PROJECT, "b-flows", from_ts=WINDOW[0], to_ts=WINDOW[1])
    assert recorded(rows, deployment.names("bind-attachment")) == _only("b")
    b_id = deployment.ids["bind-attachment/hz/b"]
    assert {row["attachment-id"] for row in rows} == {b_id}
    assert not [row for row in rows if row["log-status"] != "OK"]  # b was not silent


def test_flows_of_an_attachment_without_a_flow_log_are_counted_inactive(
    attachment_export: dict[str, float],
) -> None:
    assert attachment_export["cenflow_flow_inactive_records_total"] == len(_only("c"))
    assert attachment_export["cenflow_flow_unattributed_records_total"] == 1


def test_log_format_string_selects_and_orders_the_fields(
    deployment: Deployment, attachment_export: dict[str, float]
) -> None:
    server = deployment.server
    rows = records(server, PROJECT, "a-flows", from_ts=WINDOW[0], to_ts=WINDOW[1])
    assert rows
    fields = ["srcaddr", "dstaddr", "bytes", "packets", "direction"]
    for row in rows:
        assert sorted(row) == sorted([*fields, "flow-log-id", "window-start"])
    totals: dict[tuple[str, str, str], tuple[int, int]] = {}
    for row in rows:
        key = (row["direction"], row["srcaddr"], row["dstaddr"])
        packets, octets = totals.get(key, (0, 0))
        totals[key] = (packets + row["packets"], octets + row["bytes"])
    wanted: dict[tuple[str, str, str], tuple[int, int]] = {}
    for (_attachment, direction, flow), (packets, octets, _s, _d) in _only("a").items():
        src, dst = flow.split("|")[:2]
        before = wanted.get((direction, src, dst), (0, 0))
        wanted[(direction, src, dst)] = (before[0] + packets, before[1] + octets)
    assert totals == wanted
    # The stored files hold the selected fields in the format's order, then the bookkeeping.
    store = server.data_dir / "logstore" / PROJECT / "a-flows"
    files = [p for p in store.rglob("*.parquet") if ".cenflow" not in p.parts]
    assert files
    for path in files:
        names = pq.read_schema(path).names
        assert names[: len(fields)] == fields
        assert set(names) - set(fields) <= {"flow-log-id", "window-start", "writer-id"}


def test_a_deactivated_flow_log_writes_nothing(deployment: Deployment) -> None:
    server, ids = deployment.server, deployment.ids
    set_flowlog_active(server, ids["flowlog:deactivated"], False, ids["bind-inactive"])
    wait_for_active_flowlogs(server, 4)
    inactive = metric(server, "cenflow_flow_inactive_records_total")
    export_capture(server, deployment.capture, INACTIVE_EXPORTER)
    # Every attributed row of the capture reached the collector, which had no window for it.
    bound = expected_records(TRUTH, {n: NETWORKS[n] for n in ("a", "b")})
    wait_for_metric(server, "cenflow_flow_inactive_records_total", lambda v: v - inactive == len(bound))
    wait_for_settled_windows(server)
    assert records(server, PROJECT, "inactive-flows", from_ts=WINDOW[0], to_ts=WINDOW[1]) == []
    assert records(server, PROJECT, "inactive-flows", where=_OK) == []


def test_interface_indexes_decide_the_direction_before_the_cidr(deployment: Deployment) -> None:
    """x faces ifindex 1, y 2 and 3, z 4 (and has a cidr, which must not decide)."""
    server = deployment.server
    start = (T0 + 5) * 1000
    flows = [
        ("10.7.0.1", "10.8.0.1", 1001, 1, 2, 2, 200),  # x -> y
        ("10.8.0.2", "10.7.0.2", 1002, 3, 1, 3, 300),  # y -> x
        ("10.4.0.9", "10.8.0.3", 1003, 1, 3, 4, 400),  # from z's cidr but in on x's interface
        ("10.5.0.1", "10.4.0.1", 1004, 4, 9, 5, 500),  # in on z, out on an interface nobody faces
        ("10.6.0.1", "10.6.0.2", 1005, 9, 9, 6, 600),  # nobody's interfaces
    ]
    records_ = [
        builders.ipv4_record(
            src,
            dst,
            sport,
            80,
            octets=octets,
            packets=packets,
            start_ms=start,
            end_ms=start + 500,
            input_if=input_if,
            output_if=output_if,
        )
        for src, dst, sport, input_if, output_if, packets, octets in flows
    ]
    datagram = builders.v9_packet(
        [builders.v9_template_flowset((256, builders.IPV4_FIELDS)), builders.data_set(256, records_)],
        unix_secs=T0 + 10,
    )
    before = metric(server, "cenflow_flow_datagrams_total")
    unattributed = metric(server, "cenflow_flow_unattributed_records_total")
    send([datagram], server.flow_port, source=IFINDEX_EXPORTER)
    wait_for_datagrams(server, before + 1)
    wait_for_records(server, PROJECT, "ifindex-flows", lambda rows: len(rows) >= 7, where=_OK)
    wait_for_settled_windows(server)
    rows = records(server, PROJECT, "ifindex-flows", from_ts=WINDOW[0], to_ts=WINDOW[1], where=_OK)
    names = deployment.names("bind-ifindex")
    got = sorted((names[r["attachment-id"]], r["direction"], r["srcport"], r["packets"]) for r in rows)
    assert got == [
        ("x", "in", 1001, 2),
        ("x", "in", 1003, 4),
        ("x", "out", 1002, 3),
        ("y", "in", 1002, 3),
        ("y", "out", 1001, 2),
        ("y", "out", 1003, 4),
        ("z", "in", 1004, 5),
    ]
    assert metric(server, "cenflow_flow_unattributed_records_total") - unattributed == 1


def test_datagrams_from_an_exporter_no_router_claims_are_counted_and_dropped(deployment: Deployment) -> None:
    server = deployment.server
    logstores = ("router-flows", "b-flows", "a-flows", "inactive-flows", "ifindex-flows")

    def stored() -> dict[str, list[dict[str, Any]]]:
        return {name: records(server, PROJECT, name, from_ts=WINDOW[0], to_ts=WINDOW[1]) for name in logstores}

    before = stored()
    unknown = metric(server, "cenflow_flow_unknown_exporter_records_total")
    export_capture(server, deployment.capture, UNKNOWN_EXPORTER)
    wait_for_metric(server, "cenflow_flow_unknown_exporter_records_total", lambda v: v - unknown == len(TRUTH))
    wait_for_settled_windows(server)
    assert stored() == before
