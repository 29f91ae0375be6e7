"""Field values of the IPFIX vendor samples, as netflow-vendors/EXPECTED.md states them.

Unnamed enterprise elements appear as ``ie<PEN>.<id>``; their values are found by content.
"""

from __future__ import annotations

import pytest

from tests.flow.conformance_support import assert_fields, decode_group
from tests.flow.samples import ms, require_testdata


@pytest.fixture(autouse=True, scope="module")
def _testdata() -> None:
    require_testdata()


IPFIX_DAT_FLOWS = [
    ("192.168.253.1", 60560, "192.168.253.128", 22, 6, 16, 260, 5, 0, 12726),
    ("192.168.253.128", 22, "192.168.253.1", 60560, 6, 24, 1000, 6, 0, 12726),
    ("192.168.253.2", 53, "192.168.253.132", 35262, 17, 0, 601, 2, 1104, 1142),
    ("192.168.253.132", 35262, "192.168.253.2", 53, 17, 0, 148, 2, 1104, 1142),
    ("54.214.9.161", 443, "192.168.253.132", 49935, 6, 26, 5946, 14, 1142, 2392),
    ("192.168.253.132", 49935, "54.214.9.161", 443, 6, 26, 2608, 13, 1142, 2392),
]


def test_softflowd_ipfix_uptimes_use_system_init_time() -> None:
    d = decode_group("ipfix.dat")
    boot = 1431516013506
    assert_fields(
        d.records[0],
        {
            "_kind": "options",
            "systemInitTimeMilliseconds": boot,
            "meteringProcessId": 2679,
            "selectorAlgorithm": 1,
            "samplingPacketInterval": 1,
            "samplingPacketSpace": 0,
        },
    )
    for rec, (src, sport, dst, dport, proto, flags, octets, packets, up_start, up_end) in zip(
        d.records[1:7], IPFIX_DAT_FLOWS, strict=True
    ):
        assert_fields(
            rec,
            {
                "sourceIPv4Address": src,
                "sourceTransportPort": sport,
                "destinationIPv4Address": dst,
                "destinationTransportPort": dport,
                "protocolIdentifier": proto,
                "tcpControlBits": flags,
                "octetDeltaCount": octets,
                "packetDeltaCount": packets,
                "flowStartSysUpTime": up_start,
                "flowEndSysUpTime": up_end,
                "_export_ms": ms("2015-05-13T11:20:26Z"),
            },
        )
        row = d.flow(src, dst, sport, dport, export_ms=rec["_export_ms"])
        # IPFIX uptimes are relative to systemInitTimeMilliseconds from the options record.
        assert (row["start_ms"], row["end_ms"]) == (boot + up_start, boot + up_end)
        assert (row["bytes"], row["packets"], row["tcp_flags"]) == (octets, packets, flags)


def test_openbsd_pflow_millisecond_times() -> None:
    d = decode_group("ipfix_test_openbsd_pflow_tpl.dat", "ipfix_test_openbsd_pflow_data.dat")
    assert_fields(
        d.records[25],
        {
            "sourceIPv4Address": "192.168.0.1",
            "destinationIPv4Address": "192.168.0.17",
            "octetDeltaCount": 6425,
            "destinationTransportPort": 64026,
            "sourceTransportPort": 80,
            "packetDeltaCount": 8,
            "ingressInterface": 1,
            "egressInterface": 1,
        },
    )
    row = d.row(src_addr="192.168.0.1", dst_addr="192.168.0.17", src_port=80, dst_port=64026, input_if=1)
    assert (row["start_ms"], row["end_ms"]) == (ms("2016-07-21T13:29:59Z"), ms("2016-07-21T13:30:01Z"))


def test_ixia_enterprise_and_reverse_elements() -> None:
    d = decode_group("ipfix_test_ixia_tpldata256.dat")
    rec = d.records[0]
    assert b"UNISAINS-AS-AP Universiti Sains Malaysia (USM), MY" in rec.values()  # enterprise string, PEN 3054
    assert_fields(
        rec,
        {
            "sourceIPv4Address": "119.103.128.175",
            "sourceTransportPort": 51695,
            "destinationIPv4Address": "202.170.60.247",
            "destinationTransportPort": 36197,
            "protocolIdentifier": 17,
            "packetDeltaCount": 4,
            "octetDeltaCount": 360,
            "bgpSourceAsNumber": 4134,
            "bgpDestinationAsNumber": 24090,
            "reverseIcmpTypeCodeIPv4": 0,
            "flowEndReason": 1,
        },
    )
    row = d.flow("119.103.128.175", "202.170.60.247", 51695, 36197)
    assert (row["start_ms"], row["end_ms"]) == (ms("2018-10-25T12:24:19.882Z"), ms("2018-10-25T12:24:32.022Z"))


def test_juniper_mx240_sampling_options_record() -> None:
    d = decode_group(
        "ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat", "ipfix_test_juniper_mx240_junos151r6s3_data512.dat"
    )
    assert_fields(
        d.records[0],
        {
            "_kind": "options",
            "exporterIPv4Address": "10.0.0.1",
            "exporterIPv6Address": "::",
            "exportProtocolVersion": 10,
            "exportTransportProtocol": 17,
            "exportingProcessId": 2,
            "flowActiveTimeout": 60,
            "flowIdleTimeout": 60,
            "exportedFlowRecordTotalCount": 76,
            "exportedMessageTotalCount": 76,
            "samplingInterval": 1000,
            "systemInitTimeMilliseconds": 1262761598000,
        },
    )
    assert d.options[0].values["samplingInterval"] == 1000


def test_nokia_nat_enterprise_string() -> None:
    d = decode_group("ipfix_test_nokia_bras_tpl.dat", "ipfix_test_nokia_bras_data256.dat")
    rec = d.records[0]
    # natSubString: enterprise (PEN 637) variable-length string, NUL-padded by the exporter
    assert b"USER1@10.10.0.123" in [v.rstrip(b"\0") for v in rec.values() if isinstance(v, bytes)]
    assert_fields(
        rec,
        {
            "sourceIPv4Address": "10.0.1.228",
            "sourceTransportPort": 5878,
            "destinationIPv4Address": "10.0.0.34",
            "destinationTransportPort": 80,
            "protocolIdentifier": 6,
            "flowId": 3389049088,
        },
    )
    assert d.flows[0]["start_ms"] == ms("2017-12-14T07:23:45.148Z")


def test_procera_template_with_both_address_families() -> None:
    d = decode_group("ipfix_test_procera_tpl52935.dat", "ipfix_test_procera_data52935.dat")
    rec = d.records[7]
    # Unnamed enterprise (PEN 15397) variable-length strings.
    assert {b"BGP-4", b"INTERACTIVE,CLIENT_IS_LOCAL,INBOUND,ESTABLISHED,ACTIVE"} <= set(rec.values())
    assert_fields(
        rec,
        {
            "sourceIPv4Address": "138.44.161.14",
            "sourceTransportPort": 33689,
            "destinationIPv4Address": "138.44.161.13",
            "destinationTransportPort": 179,
            "protocolIdentifier": 6,
            "sourceIPv6Address": "::",
            "destinationIPv6Address": "::",
            "bgpSourceAsNumber": 7575,
            "bgpDestinationAsNumber": 7575,
        },
    )
    # Both address families in one template: the non-zero IPv4 pair is the flow's.
    row = d.flow("138.44.161.14", "138.44.161.13", 33689, 179)
    assert row["ip_version"] == 4
    assert (row["start_ms"], row["end_ms"]) == (ms("2018-04-15T03:25:00Z"), ms("2018-04-15T03:30:00Z"))


def test_barracuda_extended_uniflow_enterprise_fields() -> None:
    d = decode_group(
        "ipfix_test_barracuda_extended_uniflow_tpl256.dat", "ipfix_test_barracuda_extended_uniflow_data256.dat"
    )
    rec = d.records[1]
    # Unnamed enterprise (PEN 10704) variable-length strings.
    assert {b"MTH:MTH-MC-to-Inet", b"Normal Operation", b"https"} <= set(rec.values())
    assert_fields(
        rec,
        {
            "sourceIPv4Address": "64.235.151.76",
            "sourceTransportPort": 443,
            "destinationIPv4Address": "10.236.5.4",
            "destinationTransportPort": 51917,
            "protocolIdentifier": 6,
            "firewallEvent": 1,
            "ingressInterface": 3689,
            "egressInterface": 35233,
            "flowStartSysUpTime": 1957197969,
            "flowEndSysUpTime": 1957197969,
            "flowDurationMilliseconds": 0,
            "octetDeltaCount": 0,
            "packetDeltaCount": 0,
            "octetTotalCount": 0,
            "packetTotalCount": 0,
            "sourceMacAddress": "00:00:00:00:00:00",
        },
    )
    assert d.flow("64.235.151.76", "10.236.5.4", 443, 51917)["input_if"] == 3689


def test_mikrotik_ipfix_ipv4_and_ipv6_records() -> None:
    d = decode_group(
        "ipfix_test_mikrotik_tpl.dat", "ipfix_test_mikrotik_data258.dat", "ipfix_test_mikrotik_data259.dat"
    )
    first, last = d.records[0], d.records[45]
    assert_fields(
        first,
        {
            "postNATDestinationIPv4Address": "192.168.128.17",
            "sourceIPv4Address": "10.10.8.197",
            "sourceTransportPort": 123,
            "destinationIPv4Address": "192.168.128.17",
            "protocolIdentifier": 17,
            "postNATSourceIPv4Address": "192.168.230.216",
            "ipNextHopIPv4Address": "192.168.224.1",
            "ingressInterface": 13,
            "egressInterface": 7,
            "packetDeltaCount": 2,
            "octetDeltaCount": 152,
            "tcpControlBits": 0,
            "ipVersion": 4,
            "flowStartSysUpTime": 2666794170,
            "flowEndSysUpTime": 2666794170,
        },
    )
    assert_fields(
        last,
        {
            "ipNextHopIPv6Address": "ff02::1",
            "sourceIPv6Address": "fe80::ff:fe00:1201",
            "destinationIPv6Address": "fe80::ff:fe00:1201",
            "sourceTransportPort": 5678,
            "destinationTransportPort": 5678,
            "ingressInterface": 17,
            "egressInterface": 0,
            "packetDeltaCount": 2,
            "octetDeltaCount": 370,
            "ipVersion": 6,
        },
    )
    six = d.row(ip_version=6, bytes=370, input_if=17)
    assert six["src_addr"] == six["dst_addr"] == "fe80::ff:fe00:1201"
    # No systemInitTimeMilliseconds from this exporter: times fall back to the export time.
    assert six["start_ms"] == six["end_ms"] == ms("2017-07-19T16:18:08Z")


NETSCALER_COOKIE = (
    "beer=123456789abcdefghijklmnopqrstuvw; AnotherCookie=1234567890abcdefghijklmnopqr; "
    "Shameless.Plug=Thankyou.Rakuten.Kobo.Inc.For.Allowing.me.time.to.work.on.this.and.contribute.back.to.the"
    ".community; Padding=aaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbccccccccccccccddddddddddddddddddddddeeeeeeeeee"
    "eeeeeeeeeeeffffffffffffffffffffffgggggggggggggggggggggggghhhhhhhhhhhhhhhhhiiiiiiiiiiiiiiiiiiiiiijjjjjjjjjjjjjjj"
    "jjjjjjjjjkkkkkkkkkkkkkkkkkklllllllllllllllmmmmmmmmmm; more=less; GJquote=There.is.no.spoon; GarrySays=Nice!!; "
    "LastPadding=aaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbcccccccccccccccccccdddddddddddeeeeeeee"
)


def test_netscaler_long_variable_length_values() -> None:
    d = decode_group("ipfix_test_netscaler_tpl.dat", "ipfix_test_netscaler_data.dat")
    assert [r["_template_id"] for r in d.records] == [258, 257, 258]
    first, second, third = d.records
    assert 14460661 in first.values()  # netscalerConnectionId
    assert bytes.fromhex("00e0ed1c9ca80300efb4255884850600") in first.values()  # netscalerConnectionChainID
    assert (first["sourceIPv4Address"], first["destinationIPv4Address"]) == ("192.168.0.1", "10.0.0.1")
    assert {14460662, 167954698, 1157636096, 83} <= set(second.values())
    assert len(NETSCALER_COOKIE) == 601
    # A 602-byte value sent with the 255 + 2-byte length prefix, NUL-terminated on the wire.
    assert NETSCALER_COOKIE.encode() + b"\0" in third.values()
    assert {b"www.kobo.com\0", b"GET\0", b"11.222.33.255\0"} <= {v for v in third.values() if isinstance(v, bytes)}
    row = d.row(src_addr="192.168.0.1", dst_addr="10.0.0.1", src_port=51053, bytes=1541)
    assert (row["bytes"], row["packets"], row["tcp_flags"]) == (1541, 2, 24)
    assert (row["input_if"], row["output_if"], row["template_id"]) == (8, 2147483651, 258)
    assert row["start_ms"] == row["end_ms"] == ms("2016-11-11T12:09:19.000Z")  # NTP-format microseconds


def test_netscaler_data_without_templates_is_held() -> None:
    d = decode_group("ipfix_test_netscaler_data.dat")
    assert d.counters.template_misses == 4
    assert d.counters.pending_sets == 4  # held for when the templates arrive


def test_vmware_vds_ipv4_and_ipv6_records() -> None:
    d = decode_group(
        "ipfix_test_vmware_vds_tpl.dat",
        "ipfix_test_vmware_vds_data264.dat",
        "ipfix_test_vmware_vds_data266.dat",
        "ipfix_test_vmware_vds_data266_267.dat",
    )
    assert_fields(
        d.records[0],
        {
            "sourceIPv4Address": "172.18.65.21",
            "sourceTransportPort": 61209,
            "destinationIPv4Address": "172.18.65.211",
            "destinationTransportPort": 5985,
            "protocolIdentifier": 6,
            "tcpControlBits": 2,
            "packetDeltaCount": 2,
            "octetDeltaCount": 100,
            "ingressInterface": 3,
            "egressInterface": 11,
            "flowDirection": 1,
            "flowEndReason": 1,
            "maximumTTL": 128,
            "ipClassOfService": 0,
            "layer2SegmentId": 0,
        },
    )
    assert_fields(
        d.records[4],
        {
            "sourceIPv6Address": "fe80::5187:5cd8:d750:cdc9",
            "destinationIPv6Address": "ff02::1:3",
            "octetDeltaCount": 144,
            "destinationTransportPort": 5355,
        },
    )
    row = d.flow("172.18.65.21", "172.18.65.211", 61209, 5985)
    assert row["start_ms"] == row["end_ms"] == ms("2016-12-22T12:17:37Z")
    assert row["direction"] == 1
    six = d.flow("fe80::5187:5cd8:d750:cdc9", "ff02::1:3")
    assert (six["ip_version"], six["dst_port"], six["bytes"]) == (6, 5355, 144)


def test_viptela_enterprise_vpn_id() -> None:
    d = decode_group("ipfix_test_viptela_tpl257.dat", "ipfix_test_viptela_data257.dat")
    rec = d.records[0]
    assert rec["ie41916.4321"] == 100  # viptelaVPNId
    assert_fields(
        rec,
        {
            "sourceIPv4Address": "10.113.7.54",
            "sourceTransportPort": 41717,
            "destinationIPv4Address": "172.16.21.27",
            "destinationTransportPort": 443,
            "tcpControlBits": 16,
            "octetDeltaCount": 775,
            "octetTotalCount": 775,
            "packetDeltaCount": 8,
            "packetTotalCount": 8,
            "ingressInterface": 11,
            "egressInterface": 3,
            "ipNextHopIPv4Address": "10.0.0.1",
            "ipClassOfService": 48,
            "minimumIpTotalLength": 70,
            "maximumIpTotalLength": 277,
            "flowEndReason": 3,
            "icmpTypeCodeIPv4": 0,
        },
    )
    row = d.flow("10.113.7.54", "172.16.21.27", 41717, 443)
    assert row["start_ms"] == row["end_ms"] == ms("2017-11-21T14:32:15Z")


def test_barracuda_sysuptime_and_duration_fields() -> None:
    d = decode_group("ipfix_test_barracuda_tpl.dat", "ipfix_test_barracuda_data256.dat")
    assert_fields(
        d.records[7],
        {
            "firewallEvent": 2,
            "sourceIPv4Address": "10.98.243.20",
            "sourceTransportPort": 53,
            "destinationIPv4Address": "10.99.168.140",
            "destinationTransportPort": 50294,
            "protocolIdentifier": 17,
            "octetDeltaCount": 113,
            "octetTotalCount": 113,
            "packetDeltaCount": 1,
            "packetTotalCount": 1,
            "ingressInterface": 41874,
            "egressInterface": 48660,
            "flowStartSysUpTime": 2395374954,
            "flowEndSysUpTime": 2395395322,
            "flowDurationMilliseconds": 20368,
        },
    )


def test_yaf_biflow_total_counters_and_options() -> None:
    d = decode_group(
        "ipfix_test_yaf_tpls_option_tpl.dat",
        "ipfix_test_yaf_tpl45841.dat",
        "ipfix_test_yaf_data45841.dat",
        "ipfix_test_yaf_data45873.dat",
        "ipfix_test_yaf_data53248.dat",
    )
    assert [r["_kind"] for r in d.records] == ["flow", "flow", "options"]
    assert_fields(
        d.records[0],
        {
            "sourceIPv4Address": "172.16.32.201",
            "sourceTransportPort": 46086,
            "destinationIPv4Address": "172.16.32.100",
            "destinationTransportPort": 53,
            "protocolIdentifier": 17,
            "octetTotalCount": 132,
            "packetTotalCount": 2,
            "reverseOctetTotalCount": 200,
            "reversePacketTotalCount": 2,
            "flowEndReason": 1,
            "vlanId": 0,
            "reverseVlanId": 0,
            "flowStartMilliseconds": ms("2016-12-25T12:58:35.818Z"),
            "flowEndMilliseconds": ms("2016-12-25T12:58:35.819Z"),
        },
    )
    assert_fields(
        d.records[1],
        {
            "sourceIPv4Address": "172.16.32.100",
            "sourceTransportPort": 63499,
            "destinationTransportPort": 9997,
            "protocolIdentifier": 6,
            "tcpSequenceNumber": 340533701,
            "reverseTcpSequenceNumber": 3788795034,
            "octetTotalCount": 172,
            "packetTotalCount": 4,
        },
    )
    assert_fields(
        d.records[2],
        {
            "exporterIPv4Address": "172.16.32.201",
            "exportingProcessId": 0,
            "exportedFlowRecordTotalCount": 31,
            "packetTotalCount": 1960,
            "droppedPacketTotalCount": 0,
            "ignoredPacketTotalCount": 58,
            "notSentPacketTotalCount": 0,
            "systemInitTimeMilliseconds": 1482670712000,
        },
    )
    row = d.flow("172.16.32.100", "172.16.32.215", 63499, 9997)
    # YAF sends only total counters, one record per flow: they are that flow's counts.
    assert (row["bytes"], row["packets"]) == (172, 4)
    assert (row["start_ms"], row["end_ms"]) == (ms("2016-12-25T12:58:33.345Z"), ms("2016-12-25T12:58:34.347Z"))
