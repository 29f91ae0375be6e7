"""Normalised columns: addresses, ICMP, counters, sampling and time fields."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from cenflow.flow import Datagram, FlowDecoder, address_text, address_value
from tests.flow.builders import (
    IPV6_FIELDS,
    Field,
    data_set,
    ipfix_message,
    ipfix_options_template_set,
    ipfix_template_set,
    ipv6_record,
    v5_datagram,
    v5_record,
    v9_options_template_flowset,
    v9_packet,
    v9_template_flowset,
    varlen,
)
from tests.flow.samples import require_testdata, vendor_datagrams

NOW = 1_800_000_000.0
EXPORT_S = 1_700_000_002


def decode(*payloads: bytes) -> list[dict[str, int | str]]:
    datagrams = [Datagram(p, "203.0.113.5", 9995) for p in payloads]
    return FlowDecoder().decode(datagrams, now=NOW).flows.to_dicts()


def ipfix(fields: Sequence[Field], *records: bytes) -> bytes:
    return ipfix_message([ipfix_template_set((400, fields)), data_set(400, list(records))], export_time=EXPORT_S)


def test_ipv6_addresses_are_kept_with_ip_version_6() -> None:
    record = ipv6_record("2001:db8::1", "2001:db8:0:1::2", 443, 51000, 6, 1500, 3)
    (row,) = decode(ipfix(IPV6_FIELDS, record))
    assert (row["src_addr"], row["dst_addr"], row["ip_version"]) == ("2001:db8::1", "2001:db8:0:1::2", 6)
    assert (row["src_port"], row["dst_port"], row["bytes"], row["packets"]) == (443, 51000, 1500, 3)


def test_ipv4_addresses_are_ipv4_mapped_16_byte_values() -> None:
    flows = FlowDecoder().decode([Datagram(v5_datagram([v5_record("192.0.2.1", "10.9.8.7", 1, 2)]), "::1", 1)]).flows
    assert flows.src_addr.dtype == np.dtype("V16")
    assert flows.src_addr[0].tobytes() == address_value("192.0.2.1") == bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1])
    assert address_text(flows.dst_addr[0]) == "10.9.8.7"
    assert address_text(flows.exporter[0]) == "::1"


def test_v5_icmp_type_code_moves_out_of_the_ports() -> None:
    echo = v5_record("10.0.0.1", "10.0.0.2", 0, 8 * 256, proto=1)
    (row,) = decode(v5_datagram([echo]))
    assert (row["src_port"], row["dst_port"], row["icmp_type_code"], row["protocol"]) == (0, 0, 2048, 1)


def test_icmpv6_type_code_element_and_zero_ports() -> None:
    fields = [(27, 16), (28, 16), (4, 1), (139, 2), (2, 4)]
    record = bytes(15) + b"\x01" + bytes(15) + b"\x02" + bytes([58]) + struct.pack(">HI", 128 << 8, 1)
    (row,) = decode(ipfix(fields, record))
    assert (row["protocol"], row["icmp_type_code"], row["src_port"], row["dst_port"]) == (58, 128 << 8, 0, 0)


def test_reduced_size_and_odd_width_integers() -> None:
    # octetDeltaCount in 3 bytes, packetDeltaCount in 2, ingressInterface in 2, tcpControlBits in 1.
    fields = [(8, 4), (12, 4), (1, 3), (2, 2), (10, 2), (6, 1)]
    record = bytes(8) + (0x012345).to_bytes(3, "big") + (513).to_bytes(2, "big") + (7).to_bytes(2, "big") + b"\x12"
    (row,) = decode(ipfix(fields, record))
    assert (row["bytes"], row["packets"], row["input_if"], row["tcp_flags"]) == (0x012345, 513, 7, 0x12)


def test_enterprise_fields_are_skipped_by_the_fast_path() -> None:
    fields: list[Field] = [(1, 4, 9999), (8, 4), (12, 4), (2, 4, 9999), (1, 4)]  # PEN fields that look like IE 1/2
    record = (111).to_bytes(4, "big") + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + (222).to_bytes(4, "big")
    (row,) = decode(ipfix(fields, record + (333).to_bytes(4, "big")))
    assert (row["src_addr"], row["bytes"], row["packets"]) == ("10.0.0.1", 333, 0)


def test_variable_length_fields_including_the_three_byte_length_form() -> None:
    fields: list[Field] = [(82, 65535), (8, 4), (83, 65535, 1234), (12, 4), (1, 4)]
    long_value = b"x" * 600
    record = (
        varlen(b"eth0") + bytes([10, 0, 0, 1]) + varlen(long_value) + bytes([10, 0, 0, 2]) + (77).to_bytes(4, "big")
    )
    second = varlen(b"") + bytes([10, 0, 0, 3]) + varlen(b"y" * 254) + bytes([10, 0, 0, 4]) + (88).to_bytes(4, "big")
    message = ipfix(fields, record, second)
    rows = decode(message)
    assert [(r["src_addr"], r["dst_addr"], r["bytes"]) for r in rows] == [
        ("10.0.0.1", "10.0.0.2", 77),
        ("10.0.0.3", "10.0.0.4", 88),
    ]
    slow = FlowDecoder().inspect([Datagram(message, "203.0.113.5", 9995)], now=NOW)
    assert (slow[0]["interfaceName"], slow[0]["ie1234.83"]) == ("eth0", long_value)


def test_time_fields_in_each_encoding() -> None:
    ms = 1_700_000_000_123
    ntp_seconds = ms // 1000 + 2_208_988_800
    ntp = (ntp_seconds << 32) | ((ms % 1000) * 2**32 // 1000 + 1)
    cases = {
        "milliseconds": ([(152, 8), (153, 8)], struct.pack(">QQ", ms, ms + 500), (ms, ms + 500)),
        "seconds": ([(150, 4), (151, 4)], struct.pack(">II", ms // 1000, ms // 1000 + 2), (ms - 123, ms + 1877)),
        "ntp microseconds": ([(154, 8), (155, 8)], struct.pack(">QQ", ntp, ntp), (ms, ms)),
        "delta microseconds": ([(158, 4), (159, 4)], struct.pack(">II", 3_000_000, 1_500), None),
        "end and duration": ([(153, 8), (161, 4)], struct.pack(">QI", ms, 250), (ms - 250, ms)),
    }
    export_ms = EXPORT_S * 1000
    for name, (fields, raw, expected) in cases.items():
        (row,) = decode(ipfix([(8, 4), *fields], bytes(4) + raw))
        if expected is None:
            expected = (export_ms - 3000, export_ms - 1)
        assert (row["start_ms"], row["end_ms"]) == expected, name


def test_ipfix_sysuptime_uses_system_init_time_from_options() -> None:
    options = ipfix_options_template_set(500, [(143, 4)], [(160, 8)])
    boot = 1_699_990_000_000
    message = ipfix_message(
        [
            options,
            data_set(500, [struct.pack(">IQ", 1, boot)]),
            ipfix_template_set((400, [(8, 4), (22, 4), (21, 4)])),
            data_set(400, [bytes(4) + struct.pack(">II", 1_000, 4_000)]),
        ],
        export_time=EXPORT_S,
    )
    (row,) = decode(message)
    assert (row["start_ms"], row["end_ms"]) == (boot + 1_000, boot + 4_000)


def test_v9_first_switched_just_after_the_header_uptime_stays_close() -> None:
    # FIRST a little *after* sysUptime (exporter clock jitter) must not become 49.7 days ago.
    template = v9_template_flowset((256, [(8, 4), (22, 4), (21, 4)]))
    record = bytes(4) + struct.pack(">II", 100_500, 100_900)
    (row,) = decode(v9_packet([template, data_set(256, [record])], uptime_ms=100_000, unix_secs=EXPORT_S))
    assert (row["start_ms"], row["end_ms"]) == (EXPORT_S * 1000 + 500, EXPORT_S * 1000 + 900)


def test_v9_sampler_table_from_options_scales_matching_records() -> None:
    options = v9_options_template_flowset(260, [(1, 4)], [(48, 1), (49, 1), (50, 4)])
    samplers = data_set(260, [struct.pack(">IBBI", 0, 7, 2, 100), struct.pack(">IBBI", 0, 8, 2, 10)])
    template = v9_template_flowset((256, [(8, 4), (48, 1), (1, 4), (2, 4)]))
    flows = [bytes(4) + struct.pack(">BII", sampler, 1000, 2) for sampler in (7, 8, 9)]
    rows = decode(v9_packet([options, samplers, template, data_set(256, flows)]))
    assert [(r["sampling_rate"], r["bytes"], r["packets"]) for r in rows] == [
        (100, 100_000, 200),
        (10, 10_000, 20),
        (1, 1000, 2),  # sampler 9 was never described
    ]


def test_a_decode_without_options_records_counts_them_and_applies_their_sampling() -> None:
    """What the collector asks for (``options=False``): the same flows, options only counted."""
    options = v9_options_template_flowset(260, [(1, 4)], [(48, 1), (49, 1), (50, 4)])
    samplers = data_set(260, [struct.pack(">IBBI", 0, 7, 2, 100), struct.pack(">IBBI", 0, 8, 2, 10)])
    template = v9_template_flowset((256, [(8, 4), (48, 1), (1, 4), (2, 4)]))
    flows = [bytes(4) + struct.pack(">BII", sampler, 1000, 2) for sampler in (7, 8)]
    datagrams = [Datagram(v9_packet([options, samplers, template, data_set(256, flows)]), "203.0.113.5", 9995)]
    keeping, counting = FlowDecoder(), FlowDecoder()

    kept = keeping.decode(datagrams, now=NOW)
    counted = counting.decode(datagrams, now=NOW, options=False)

    assert len(kept.options) == keeping.counters.options_records == 2
    assert counted.options == []
    assert counting.counters.options_records == 2
    assert counted.flows.to_dicts() == kept.flows.to_dicts()
    assert [r["sampling_rate"] for r in counted.flows.to_dicts()] == [100, 10]


def test_psamp_packet_interval_and_space_give_the_rate() -> None:
    options = ipfix_options_template_set(500, [(143, 4)], [(305, 4), (306, 4)])
    sampled = data_set(500, [struct.pack(">III", 1, 1, 99)])  # 1 selected, 99 skipped: 1 in 100
    message = ipfix_message([options, sampled, ipfix_template_set((400, [(8, 4), (2, 4)]))], export_time=EXPORT_S)
    data = ipfix_message([data_set(400, [bytes(4) + struct.pack(">I", 3)])], sequence=1, export_time=EXPORT_S)
    (row,) = decode(message, data)
    assert (row["sampling_rate"], row["packets"]) == (100, 300)


def test_juniper_mx240_sampling_interval_applies_to_later_data() -> None:
    require_testdata()
    decoder = FlowDecoder()
    options = vendor_datagrams("ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat")
    options += vendor_datagrams("ipfix_test_juniper_mx240_junos151r6s3_data512.dat")
    decoder.decode(options, now=NOW)
    exporter, port, domain = options[0].exporter, options[0].port, struct.unpack_from(">I", options[0].payload, 12)[0]
    follow_up = ipfix_message([ipfix_template_set((600, [(8, 4), (1, 4), (2, 4)]))], domain=domain)
    data = ipfix_message([data_set(600, [bytes(4) + struct.pack(">II", 64, 1)])], domain=domain)
    flows = decoder.decode([Datagram(follow_up, exporter, port), Datagram(data, exporter, port)], now=NOW).flows
    assert (flows.sampling_rate.tolist(), flows.bytes.tolist(), flows.packets.tolist()) == ([1000], [64_000], [1000])


def test_record_sampling_interval_field_overrides_the_stream_rate() -> None:
    template = v9_template_flowset((256, [(8, 4), (34, 4), (1, 4)]))
    records = [bytes(4) + struct.pack(">II", 0, 10), bytes(4) + struct.pack(">II", 50, 10)]
    rows = decode(v9_packet([template, data_set(256, records)]))
    assert [(r["sampling_rate"], r["bytes"]) for r in rows] == [(1, 10), (50, 500)]


def test_direction_is_unknown_when_not_exported() -> None:
    (row,) = decode(ipfix([(8, 4), (12, 4)], bytes(8)))
    assert row["direction"] == 255
    (row,) = decode(ipfix([(8, 4), (61, 1)], bytes(4) + b"\x01"))
    assert row["direction"] == 1
