"""The records a capture window writes besides traffic: NODATA for a silent attachment, SKIPDATA
when the collector lost data while the window was open (docs/dataplane.md).

Each test has its own server: the collector's watermark and its SKIPDATA marks span all of a
server's windows, so another test's traffic must not open or close these windows.
"""

from __future__ import annotations

from typing import Any

from tests.dataplane.conftest import DataplaneServer
from tests.dataplane.support import (
    apply_topology,
    flowlog,
    metric,
    records,
    router,
    send,
    vpc,
    wait_for_active_flowlogs,
    wait_for_datagrams,
    wait_for_metric,
    wait_for_records,
    wait_for_settled_windows,
)
from tests.flow import builders

T0 = 1_600_000_020  # the window [T0, T0 + 60)
PROJECT = "windows"


def _v9(flows: list[tuple[str, str, int, int]], sequence: int) -> bytes:
    """A v9 datagram (template included) of (src, dst, sport, packets) flows inside the window."""
    start, end = (T0 + 5) * 1000, (T0 + 6) * 1000
    records_ = [
        builders.ipv4_record(src, dst, sport, 443, packets=packets, octets=100 * packets, start_ms=start, end_ms=end)
        for src, dst, sport, packets in flows
    ]
    sets = [builders.v9_template_flowset((256, builders.IPV4_FIELDS)), builders.data_set(256, records_)]
    return builders.v9_packet(sets, sequence=sequence, unix_secs=T0 + 10)


def _by_status(rows: list[dict[str, Any]], names: dict[str, str]) -> list[tuple[str, str]]:
    return sorted((r["log-status"], names[r["attachment-id"]]) for r in rows)


def test_a_silent_attachment_gets_one_nodata_record_in_a_window_with_traffic(
    dataplane_server: DataplaneServer, tmp_path: Any
) -> None:
    """A whole-router flow log with a, b and c; traffic from a only.  (The NODATA records of live
    windows, the only ones an attachment flow log can get, are written a minute after they open:
    tests/collector covers them with a fake clock.)"""
    server = dataplane_server()
    topology = {
        "cens": [
            {
                "name": "nodata-router",
                "transit_routers": [
                    router(
                        "hz",
                        "127.0.0.31",
                        [
                            vpc("a", "vpc-na", cidr=["10.1.0.0/16"]),
                            vpc("b", "vpc-nb", cidr=["10.2.0.0/16"]),
                            vpc("c", "vpc-nc", cidr=["10.3.0.0/16"]),
                        ],
                        [flowlog("whole", PROJECT, "router-flows")],
                    )
                ],
            },
        ]
    }
    ids = apply_topology(server, topology, tmp_path)
    wait_for_active_flowlogs(server, 1)
    before = metric(server, "cenflow_flow_datagrams_total")
    traffic = _v9([("10.1.0.1", "198.51.100.1", 1000, 2), ("10.1.0.2", "198.51.100.2", 1001, 3)], 0)
    send([traffic], server.flow_port, "127.0.0.31")
    wait_for_datagrams(server, before + 1)
    wait_for_records(server, PROJECT, "router-flows", lambda rows: len(rows) >= 4, where=f'"window-start" = {T0}')
    wait_for_settled_windows(server)

    router_rows = records(server, PROJECT, "router-flows", from_ts=T0, to_ts=T0 + 60)
    names = {ids[f"nodata-router/hz/{n}"]: n for n in ("a", "b", "c")}
    assert _by_status(router_rows, names) == [("NODATA", "b"), ("NODATA", "c"), ("OK", "a"), ("OK", "a")]
    nodata = [r for r in router_rows if r["log-status"] == "NODATA"]
    for row in nodata:
        # A NODATA record names its attachment and window, and carries no traffic fields.
        assert (row["start"], row["end"]) == (T0, T0 + 60)
        assert row["tr-id"] == ids["nodata-router/hz"]
        assert not {"srcaddr", "dstaddr", "packets", "bytes", "direction"} & set(row)


def test_a_sequence_gap_writes_one_skipdata_record_per_attachment_of_the_window(
    dataplane_server: DataplaneServer, tmp_path: Any
) -> None:
    """Export packets 0 and 2 arrive, 1 was lost: the window they fall in gets a SKIPDATA record
    for each attachment of the flow log, besides its traffic."""
    server = dataplane_server()
    topology = {
        "cens": [
            {
                "name": "gaps",
                "transit_routers": [
                    router(
                        "hz",
                        "127.0.0.33",
                        [vpc("a", "vpc-ga", cidr=["10.1.0.0/16"]), vpc("b", "vpc-gb", cidr=["10.2.0.0/16"])],
                        [flowlog("whole", PROJECT, "gap-flows")],
                    )
                ],
            }
        ]
    }
    ids = apply_topology(server, topology, tmp_path)
    wait_for_active_flowlogs(server, 1)
    before = metric(server, "cenflow_flow_datagrams_total")
    datagrams = [
        _v9([("10.1.0.1", "10.2.0.1", 2000, 1)], sequence=0),
        _v9([("10.1.0.2", "10.2.0.2", 2001, 2)], sequence=2),  # packet 1 never arrives
    ]
    send(datagrams, server.flow_port, "127.0.0.33")
    wait_for_datagrams(server, before + 2)
    wait_for_metric(server, "cenflow_flow_sequence_gaps_total", lambda v: v == 1)
    wait_for_records(server, PROJECT, "gap-flows", lambda rows: len(rows) >= 4, where=f'"window-start" = {T0}')
    wait_for_settled_windows(server)
    rows = records(server, PROJECT, "gap-flows", from_ts=T0, to_ts=T0 + 60)
    names = {ids[f"gaps/hz/{n}"]: n for n in ("a", "b")}
    assert _by_status(rows, names) == [
        ("OK", "a"),
        ("OK", "a"),
        ("OK", "b"),
        ("OK", "b"),
        ("SKIPDATA", "a"),
        ("SKIPDATA", "b"),
    ]
