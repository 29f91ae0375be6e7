"""Field values of the Cisco NetFlow v9 samples (ACI, ASA/NSEL, ASR 9000, NBAR, WLC), as
netflow-vendors/EXPECTED.md states them.

sysUptime-relative times are checked against our own RFC 3954 computation from the raw fields
and against EXPECTED.md's corrected values (the upstream v9 strings are 1 s late).
"""

from __future__ import annotations

import pytest

from tests.flow.conformance_support import assert_fields, decode_group, rfc3954_ms
from tests.flow.samples import ms, require_testdata


@pytest.fixture(autouse=True, scope="module")
def _testdata() -> None:
    require_testdata()


def test_cisco_aci_one_record_flowsets() -> None:
    d = decode_group("netflow9_test_cisco_aci_tpl256-258.dat", "netflow9_test_cisco_aci_data256.dat")
    rec = d.records[0]
    assert_fields(
        rec,
        {
            "sourceIPv4Address": "10.154.231.145",
            "sourceTransportPort": 179,
            "destinationIPv4Address": "10.154.231.146",
            "destinationTransportPort": 49411,
            "packetDeltaCount": 2,
            "octetDeltaCount": 99,
            "tcpControlBits": 24,
            "ingressInterface": 369139712,
            "vlanId": 0,
            "flowDirection": 0,
            "_template_id": 256,
        },
    )
    row = d.flow("10.154.231.145", "10.154.231.146", 179, 49411)
    assert row["start_ms"] == rfc3954_ms(rec, "flowStartSysUpTime") == ms("2018-10-15T11:28:04.019Z")
    assert row["end_ms"] == rfc3954_ms(rec, "flowEndSysUpTime") == ms("2018-10-15T11:28:23.066Z")
    assert (row["direction"], row["input_if"]) == (0, 369139712)


def test_cisco_asa_nsel_fields_and_icmp_ports() -> None:
    d = decode_group("netflow9_test_cisco_asa_1_tpl.dat", "netflow9_test_cisco_asa_1_data.dat")
    rec = d.records[1]
    assert_fields(
        rec,
        {
            "_template_id": 265,
            "flowId": 8501,
            "sourceIPv4Address": "192.168.23.22",
            "sourceTransportPort": 17549,
            "destinationIPv4Address": "164.164.37.11",
            "destinationTransportPort": 0,
            "protocolIdentifier": 1,
            "icmpTypeIPv4": 8,
            "icmpCodeIPv4": 0,
            "ingressInterface": 2,
            "egressInterface": 3,
            "xlateSrcAddrIPv4": "192.168.23.22",
            "xlateDstAddrIPv4": "164.164.37.11",
            "xlateSrcPort": 17549,
            "xlateDstPort": 0,
            "fwEvent": 2,
            "fwExtEvent": 2025,
            "observationTimeMilliseconds": 1444384070179,
            "flowStartMilliseconds": 1444384068169,
            "octetTotalCount": 56,
            "ingressAclId": bytes.fromhex("0f8e7ff3fc1a030f00000000"),
            "egressAclId": bytes(12),
            "aaaUsername": "",
        },
    )
    (row,) = [r for r in d.flows if r["start_ms"] == 1444384068169]
    assert (row["src_addr"], row["dst_addr"], row["protocol"]) == ("192.168.23.22", "164.164.37.11", 1)
    # ICMP: ports are 0 and the type/code (8/0) are kept in their own column.
    assert (row["src_port"], row["dst_port"], row["icmp_type_code"]) == (0, 0, 0x0800)
    assert (row["start_ms"], row["end_ms"], row["bytes"]) == (1444384068169, 1444384070179, 56)


def test_cisco_asa_initiator_octets_become_bytes() -> None:
    d = decode_group(
        "netflow9_test_cisco_asa_2_tpl_26x.dat",
        "netflow9_test_cisco_asa_2_tpl_27x.dat",
        "netflow9_test_cisco_asa_2_data.dat",
    )
    rec = d.records[18]
    assert_fields(
        rec,
        {
            "sourceIPv4Address": "192.168.0.1",
            "destinationIPv4Address": "192.168.0.18",
            "initiatorOctets": 69,
            "flowId": 742820223,
            "_template_id": 263,
            "sourceTransportPort": 56651,
            "destinationTransportPort": 80,
            "ingressInterface": 3,
            "egressInterface": 4,
            "firewallEvent": 2,
            "fwExtEvent": 2030,
            "observationTimeMilliseconds": 1469109036495,
            "flowStartMilliseconds": 1469109036395,
            "responderOctets": 14178,
        },
    )
    row = d.row(src_addr="192.168.0.1", dst_addr="192.168.0.18", src_port=56651, template_id=263)
    assert (row["bytes"], row["start_ms"], row["end_ms"]) == (69, 1469109036395, 1469109036495)


def test_asr9k_interface_table_options_records() -> None:
    d = decode_group("netflow9_test_cisco_asr9k_opttpl256.dat", "netflow9_test_cisco_asr9k_data256.dat")
    assert all(r["_kind"] == "options" for r in d.records)
    assert_fields(
        d.records[18],
        {
            "interfaceDescription": "TenGigE0_6_0_2",
            "scopeSystem": 3250896451,
            "ingressInterface": 104,
            "_template_id": 256,
        },
    )


def test_asr9k_vrf_and_bgp_fields() -> None:
    d = decode_group("netflow9_test_cisco_asr9k_tpl260.dat", "netflow9_test_cisco_asr9k_data260.dat")
    rec = d.records[20]
    assert_fields(
        rec,
        {
            "egressVRFID": 1610612736,
            "_template_id": 260,
            "sourceIPv4Address": "10.0.29.46",
            "sourceTransportPort": 443,
            "destinationIPv4Address": "10.0.15.38",
            "destinationTransportPort": 52364,
            "packetDeltaCount": 2,
            "octetDeltaCount": 112,
            "tcpControlBits": 18,
            "bgpSourceAsNumber": 15169,
            "bgpDestinationAsNumber": 64498,
            "bgpNextHopIPv4Address": "10.0.14.27",
            "ingressInterface": 75,
            "egressInterface": 158,
            "ingressVRFID": 1610612736,
            "samplerId": 1,
            "flowDirection": 1,
            "forwardingStatus": 64,
        },
    )
    row = d.flow("10.0.29.46", "10.0.15.38", 443, 52364)
    assert row["start_ms"] == rfc3954_ms(rec, "flowStartSysUpTime") == ms("2016-12-06T10:08:52.377Z")
    assert row["end_ms"] == rfc3954_ms(rec, "flowEndSysUpTime") == ms("2016-12-06T10:08:53.964Z")


def test_nbar_application_table_options_records() -> None:
    d = decode_group("netflow9_test_cisco_nbar_opttpl260.dat")
    assert all(r["_kind"] == "options" for r in d.records)
    assert_fields(
        d.records[14],
        {
            "applicationId": bytes([1, 0, 0, 13]),
            "applicationDescription": "ARGUS",
            "applicationName": "argus",
            "scopeSystem": 168755571,
        },
    )


def test_nbar_flows_with_application_id_and_macs() -> None:
    d = decode_group("netflow9_test_cisco_nbar_tpl262.dat", "netflow9_test_cisco_nbar_data262.dat")
    rec = d.records[4]
    assert_fields(
        rec,
        {
            "applicationId": bytes([5, 0, 0, 38]),
            "_template_id": 262,
            "sourceIPv4Address": "10.10.172.60",
            "sourceTransportPort": 45269,
            "destinationIPv4Address": "10.30.19.180",
            "destinationTransportPort": 161,
            "protocolIdentifier": 17,
            "packetDeltaCount": 36,
            "octetDeltaCount": 2794,
            "sourceMacAddress": "00:18:19:9e:6c:01",
            "destinationMacAddress": "1c:df:0f:7e:c3:58",
            "udpDestinationPort": 161,
            "tcpSourcePort": 0,
            "ingressInterface": 1,
        },
    )
    row = d.flow("10.10.172.60", "10.30.19.180", 45269, 161)
    assert row["start_ms"] == rfc3954_ms(rec, "flowStartSysUpTime") == ms("2017-02-14T11:10:19.936Z")
    assert row["end_ms"] == rfc3954_ms(rec, "flowEndSysUpTime") == ms("2017-02-14T11:10:20.008Z")


def test_cisco_wlc_records_beyond_header_count() -> None:
    d = decode_group("netflow9_test_cisco_wlc_tpl.dat", "netflow9_test_cisco_wlc_data261.dat")
    assert_fields(
        d.records[18],
        {
            "applicationId": bytes([13, 0, 1, 175]),
            "_template_id": 261,
            "staMacAddress": "34:02:86:75:c0:51",
            "wtpMacAddress": "00:f6:63:cc:80:60",
            "staIPv4Address": "192.168.20.121",
            "wlanSSID": "Test-env",
            "packetDeltaCount": 53362,
            "octetDeltaCount": 80973880,
            "flowDirection": 1,
        },
    )
    (row,) = [row for row in d.flows if row["bytes"] == 80973880]
    # A wireless record without IP address fields: counters and direction still come through.
    assert (row["packets"], row["direction"], row["ip_version"], row["template_id"]) == (53362, 1, 0, 261)
