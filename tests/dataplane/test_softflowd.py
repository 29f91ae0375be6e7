"""A real exporter in the loop: softflowd reads traffic_small.pcap and exports NetFlow v5, v9 and
IPFIX over UDP to a running cenflow and, through a UDP tee, the very same datagrams to nfcapd.

The topology (applied with ``cenflow topology apply``) gives each export its own CEN, transit
router and logstore, bound by the exporter address the tee sends from: 127.0.0.1 for v9, other
loopback addresses for the others.  Each router has two attachments bound by cidr: ``src`` (the
capture's sources, 10/8 and 2001:db8:00xx::) and ``dst`` (192.168/16 and 2001:db8:ffxx::), so
every flow is recorded twice: ``in`` on ``src`` and ``out`` on ``dst``.  The per-5-tuple packet and
byte sums of either direction must equal the ground truth and what nfdump decodes.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.dataplane.support import (
    DST_CIDR,
    FAST,
    SRC_CIDR,
    TRAFFIC,
    TRAFFIC_WINDOWS,
    Nfcapd,
    Sums,
    UdpTee,
    apply_topology,
    flowlog,
    metric,
    normalised,
    records,
    router,
    scaled,
    softflowd,
    sums,
    vpc,
    wait_for_active_flowlogs,
    wait_for_datagrams,
    wait_for_records,
    wait_for_settled_windows,
    wait_until,
)
from tests.flow.samples import truth
from tests.harness import CenflowServer

PROJECT = "softflowd-exports"


@dataclass(frozen=True)
class Case:
    name: str  # CEN, router and logstore name
    version: str  # softflowd's export protocol
    exporter: str  # the address the tee sends from
    sampling: int | None = None


CASES = {
    case.name: case
    for case in (
        Case("v9", "v9", "127.0.0.1"),
        Case("ipfix", "ipfix", "127.0.0.2"),
        Case("v5", "v5", "127.0.0.3"),
        Case("v9-sampled", "v9", "127.0.0.4", sampling=4),
        Case("ipfix-sampled", "ipfix", "127.0.0.5", sampling=4),
    )
}


@dataclass
class Export:
    case: Case
    datagrams: int  # what softflowd sent
    nfdump: Sums  # what nfdump decoded from the same datagrams
    nfdump_records: int  # how many flow records nfdump read
    rows: list[dict[str, Any]]  # every record cenflow wrote for it
    ids: dict[str, str]

    def ok(self, direction: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("log-status") == "OK" and r["direction"] == direction]


def _topology() -> dict[str, Any]:
    cens = []
    for case in CASES.values():
        attachments = [
            vpc("src", f"vpc-{case.name.replace('-', '')}src", cidr=SRC_CIDR),
            vpc("dst", f"vpc-{case.name.replace('-', '')}dst", cidr=DST_CIDR),
        ]
        flowlogs = [flowlog(f"{case.name}-all", PROJECT, f"{case.name}-flows")]
        cens.append({"name": case.name, "transit_routers": [router(case.name, case.exporter, attachments, flowlogs)]})
    return {"cens": cens}


@pytest.fixture(scope="module")
def exporters_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CenflowServer, dict[str, str]]]:
    base = tmp_path_factory.mktemp("softflowd")
    with CenflowServer.in_directory(base, args=FAST) as server:
        ids = apply_topology(server, _topology(), base)
        wait_for_active_flowlogs(server, len(CASES))
        yield server, ids
    server.assert_no_errors()


@pytest.fixture(scope="module")
def exports(
    exporters_server: tuple[CenflowServer, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Export]:
    """Every case exported once, in order, each waited for until its records are all written."""
    server, ids = exporters_server
    base = tmp_path_factory.mktemp("nfcapd")
    results: dict[str, Export] = {}
    datagrams_before = 0.0
    for case in CASES.values():
        with Nfcapd(base / case.name) as nfcapd:
            with UdpTee([("127.0.0.1", server.flow_port), ("127.0.0.1", nfcapd.port)], source=case.exporter) as tee:
                sent = softflowd(TRAFFIC, tee.port, case.version, sampling=case.sampling)
                tee.wait_forwarded(sent)
            nfcapd.finish()
        datagrams_before = wait_for_datagrams(server, datagrams_before + sent)
        expected_raw = normalised(nfcapd.sums())
        expected = scaled(expected_raw, case.sampling or 1)
        total = sum(p for p, _ in expected.values())
        wait_for_records(
            server,
            PROJECT,
            f"{case.name}-flows",
            lambda rows: sum(r["packets"] for r in rows if r.get("direction") == "in") >= total,  # noqa: B023
            where="\"log-status\" = 'OK'",
        )
        wait_for_settled_windows(server)
        rows = records(server, PROJECT, f"{case.name}-flows", from_ts=TRAFFIC_WINDOWS[0], to_ts=TRAFFIC_WINDOWS[1] + 60)
        results[case.name] = Export(case, sent, expected_raw, nfcapd.records, rows, ids)
    return results


def _truth_for(version: str) -> Sums:
    everything = normalised(truth())
    if version == "v5":  # v5 cannot carry IPv6
        return {k: v for k, v in everything.items() if ipaddress.ip_address(k.split("|")[0]).version == 4}
    return everything


@pytest.mark.parametrize("name", ["v9", "ipfix", "v5"])
def test_records_per_5_tuple_equal_the_ground_truth_and_nfdump(exports: dict[str, Export], name: str) -> None:
    export = exports[name]
    expected = _truth_for(export.case.version)
    assert export.nfdump == expected  # the reference collector agrees with the generator
    assert sums(export.ok("in")) == expected
    assert sums(export.ok("out")) == expected


@pytest.mark.parametrize("name", ["v9-sampled", "ipfix-sampled"])
def test_a_sampled_export_is_scaled_by_the_sampling_interval_it_announces(
    exports: dict[str, Export], name: str
) -> None:
    """softflowd -s 4 exports one packet in four and says so in options data (v9 samplingInterval,
    IPFIX samplingPacketInterval/Space); nfdump 1.7 reports the raw counts, cenflow scales them."""
    export = exports[name]
    assert export.nfdump, "softflowd exported nothing"
    assert sums(export.ok("in")) == scaled(export.nfdump, 4)
    assert sums(export.ok("out")) == scaled(export.nfdump, 4)


@pytest.mark.parametrize("name", ["v9", "ipfix", "v5"])
def test_each_flow_enters_from_its_source_attachment_and_leaves_into_its_destination(
    exports: dict[str, Export], name: str
) -> None:
    export = exports[name]
    src, dst = export.ids[f"{name}/{name}/src"], export.ids[f"{name}/{name}/dst"]
    tr_id, cen_id = export.ids[f"{name}/{name}"], export.ids[name]
    seen: Counter[str] = Counter()
    for row in export.rows:
        if row["log-status"] != "OK":
            continue
        source, destination = ipaddress.ip_address(row["srcaddr"]), ipaddress.ip_address(row["dstaddr"])
        assert any(source in ipaddress.ip_network(c) for c in SRC_CIDR)
        assert any(destination in ipaddress.ip_network(c) for c in DST_CIDR)
        assert row["attachment-id"] == (src if row["direction"] == "in" else dst)
        assert (row["tr-id"], row["cen-id"]) == (tr_id, cen_id)
        assert row["src-region-id"] == row["dst-region-id"] == "cn-hangzhou"
        assert row["type"] == f"IPv{source.version}"
        assert row["start"] in TRAFFIC_WINDOWS
        assert row["end"] == row["start"] + 60
        if row["protocol"] in (1, 58):
            assert row["srcport"] == row["dstport"] == 0
        if row["protocol"] != 6:
            assert row["tcp-flags"] == 0
        seen[row["direction"]] += 1
    assert seen["in"] == seen["out"] > 0


def test_softflowd_exports_reveal_no_loss(
    exports: dict[str, Export], exporters_server: tuple[CenflowServer, dict[str, str]]
) -> None:
    """softflowd numbers IPFIX messages its own way; a strict detector would see 64 false gaps."""
    server, _ids = exporters_server
    assert metric(server, "cenflow_flow_sequence_gaps_total") == 0
    assert metric(server, "cenflow_flow_socket_drops_total") == 0
    assert metric(server, "cenflow_flow_decode_errors_total") == 0
    for export in exports.values():
        assert not [r for r in export.rows if r["log-status"] == "SKIPDATA"]


def test_metrics_count_what_the_exporters_sent(
    exports: dict[str, Export], exporters_server: tuple[CenflowServer, dict[str, str]]
) -> None:
    server, ids = exporters_server
    assert metric(server, "cenflow_flow_datagrams_total") == sum(e.datagrams for e in exports.values())
    assert metric(server, "cenflow_flow_records_decoded_total") == sum(e.nfdump_records for e in exports.values())
    assert metric(server, "cenflow_flow_unknown_exporter_records_total") == 0
    assert metric(server, "cenflow_flow_unattributed_records_total") == 0
    assert metric(server, "cenflow_flow_inactive_records_total") == 0
    assert metric(server, "cenflow_flow_active_flowlogs") == len(CASES)
    assert metric(server, "cenflow_flow_windows_written_total") >= 2 * len(CASES)
    for name in CASES:
        flow_log_id = ids[f"flowlog:{name}-all"]

        def consistent(flow_log_id: str = flow_log_id, name: str = name) -> bool:
            written = metric(server, "cenflow_flowlog_records_written_total", flow_log_id=flow_log_id)
            return written == len(records(server, PROJECT, f"{name}-flows")) > 0

        wait_until(consistent, 10.0, f"records_written of {flow_log_id} to match the store")
