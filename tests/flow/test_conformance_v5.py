"""Field values of the NetFlow v5 vendor samples, as netflow-vendors/EXPECTED.md states them."""

from __future__ import annotations

import pytest

from tests.flow.conformance_support import assert_fields, decode_group, rfc3954_ms
from tests.flow.samples import ms, require_testdata


@pytest.fixture(autouse=True, scope="module")
def _testdata() -> None:
    require_testdata()


def test_softflowd_v5_records_and_wrapped_first_switched() -> None:
    d = decode_group("netflow5.dat")
    first, second = d.records[0], d.records[1]
    assert_fields(
        first,
        {
            "sourceIPv4Address": "10.0.2.2",
            "sourceTransportPort": 54435,
            "destinationIPv4Address": "10.0.2.15",
            "destinationTransportPort": 22,
            "tcpControlBits": 16,
            "protocolIdentifier": 6,
            "packetDeltaCount": 5,
            "octetDeltaCount": 230,
            "ipNextHopIPv4Address": "0.0.0.0",
            "ingressInterface": 0,
            "egressInterface": 0,
            "ipClassOfService": 0,
        },
    )
    assert_fields(
        second,
        {
            "sourceIPv4Address": "10.0.2.15",
            "destinationIPv4Address": "10.0.2.2",
            "tcpControlBits": 24,
            "packetDeltaCount": 4,
            "octetDeltaCount": 304,
        },
    )
    assert first["_export_ms"] == ms("2015-05-02T18:38:08.280Z")
    row = d.flow("10.0.2.2", "10.0.2.15", 54435, 22, export_ms=first["_export_ms"])  # in each datagram
    # First = 0xFFFFFFFF with sysUptime 3381: the wrap-aware result EXPECTED.md gives.
    assert row["start_ms"] == rfc3954_ms(first, "flowStartSysUpTime") == ms("2015-05-02T18:38:04.898Z")
    assert row["end_ms"] == rfc3954_ms(first, "flowEndSysUpTime") == ms("2015-05-02T18:38:07.476Z")
    assert (row["packets"], row["bytes"], row["tcp_flags"], row["version"]) == (5, 230, 16, 5)


def test_mikrotik_v5_record_fields_and_times() -> None:
    d = decode_group("netflow5_test_microtik.dat")
    assert_fields(
        d.records[29],
        {
            "sourceIPv4Address": "10.0.8.1",
            "destinationIPv4Address": "192.168.0.1",
            "destinationTransportPort": 51826,
            "ipClassOfService": 40,
            "sourceTransportPort": 80,
            "protocolIdentifier": 6,
            "tcpControlBits": 82,
            "packetDeltaCount": 13,
            "octetDeltaCount": 11442,
            "ipNextHopIPv4Address": "192.168.0.1",
            "ingressInterface": 13,
            "egressInterface": 46,
        },
    )
    row = d.flow("10.0.8.1", "192.168.0.1", 80, 51826)
    assert row["start_ms"] == row["end_ms"] == ms("2016-07-21T13:51:42.254Z")
    assert row["export_ms"] == ms("2016-07-21T13:51:57.514Z")
    assert (row["input_if"], row["output_if"], row["sampling_rate"]) == (13, 46, 1)


def test_juniper_mx80_v5_header_sampling_scales_counters() -> None:
    d = decode_group("netflow5_test_juniper_mx80.dat")
    assert_fields(
        d.records[28],
        {
            "sourceIPv4Address": "66.249.92.75",
            "destinationIPv4Address": "192.168.0.1",
            "destinationTransportPort": 80,
            "bgpSourceAsNumber": 15169,
            "bgpDestinationAsNumber": 64496,
            "sourceTransportPort": 37387,
            "packetDeltaCount": 2,
            "octetDeltaCount": 104,
            "ingressInterface": 542,
            "egressInterface": 536,
            "sourceIPv4PrefixLength": 19,
            "destinationIPv4PrefixLength": 24,
            "_sampling_interval": 1000,
        },
    )
    row = d.flow("66.249.92.75", "192.168.0.1", 37387, 80)
    # The header's sampling interval 1000 scales the counters.
    assert (row["packets"], row["bytes"], row["sampling_rate"]) == (2000, 104_000, 1000)
    assert row["start_ms"] == row["end_ms"] == ms("2016-07-21T13:52:33.936Z")
