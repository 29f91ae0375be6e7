"""FlowDecoder behaviour: templates (persistence, redefinition, withdrawal, expiry), data waiting
for its template, malformed input, bounded state."""

from __future__ import annotations

from pathlib import Path

import pytest

from cenflow.flow import (
    Datagram,
    DecoderConfig,
    FlowDecoder,
    JsonDirTemplateStore,
    MemoryTemplateStore,
    TemplateKind,
)
from tests.flow.builders import (
    IPV4_FIELDS,
    data_set,
    ipfix_message,
    ipfix_options_template_set,
    ipfix_template_set,
    ipfix_withdrawal,
    ipv4_record,
    v9_packet,
    v9_template_flowset,
)
from tests.flow.samples import require_testdata, vendor_datagrams

EXPORTER = ("198.51.100.7", 4739)
T0 = 1_800_000_000.0  # collector clock in these tests


def dg(payload: bytes, exporter: tuple[str, int] = EXPORTER) -> Datagram:
    return Datagram(payload, *exporter)


TEMPLATE = ipfix_message([ipfix_template_set((300, IPV4_FIELDS))], sequence=0)


def data_message(sequence: int, *records: bytes, template_id: int = 300) -> bytes:
    return ipfix_message([data_set(template_id, list(records))], sequence=sequence)


def one_flow(sport: int = 1000) -> bytes:
    return ipv4_record("10.0.0.1", "10.0.0.2", sport, 80, octets=500, packets=5)


def test_decode_emits_normalised_rows_for_a_fixed_template() -> None:
    decoder = FlowDecoder()
    flows = decoder.decode([dg(TEMPLATE), dg(data_message(0, one_flow(1000), one_flow(1001)))], now=T0).flows
    rows = flows.to_dicts()
    assert [r["src_port"] for r in rows] == [1000, 1001]
    assert {k: rows[0][k] for k in ("src_addr", "dst_addr", "bytes", "packets", "exporter", "exporter_port")} == {
        "src_addr": "10.0.0.1",
        "dst_addr": "10.0.0.2",
        "bytes": 500,
        "packets": 5,
        "exporter": "198.51.100.7",
        "exporter_port": 4739,
    }
    assert (rows[0]["version"], rows[0]["domain"], rows[0]["template_id"]) == (10, 1, 300)
    assert decoder.counters.flow_records == 2


@pytest.mark.parametrize("store_kind", ["memory", "json"])
def test_templates_persist_across_a_new_decoder_instance(store_kind: str, tmp_path: Path) -> None:
    require_testdata()
    store = MemoryTemplateStore() if store_kind == "memory" else JsonDirTemplateStore(tmp_path / "templates")
    first = FlowDecoder(store=store, clock=lambda: T0)
    first.decode(vendor_datagrams("ipfix_test_netscaler_tpl.dat"), now=T0)
    assert len(store.load()) == 7  # templates 256-262 of observation domain 0
    restarted = FlowDecoder(store=store, clock=lambda: T0 + 60)
    batch = restarted.decode(vendor_datagrams("ipfix_test_netscaler_data.dat"), now=T0 + 60)
    assert len(batch.flows) == 3
    assert restarted.counters.template_misses == 1  # only the set of template 280, never defined


def test_persisted_templates_older_than_the_lifetime_are_not_loaded(tmp_path: Path) -> None:
    store = JsonDirTemplateStore(tmp_path)
    FlowDecoder(store=store).decode([dg(TEMPLATE)], now=T0)
    config = DecoderConfig(template_lifetime=600)
    late = FlowDecoder(store=store, config=config, clock=lambda: T0 + 601)
    assert late.templates() == []
    assert store.load() == []  # and forgotten on disk too


def test_data_before_its_template_is_decoded_when_the_template_arrives() -> None:
    decoder = FlowDecoder()
    early = decoder.decode([dg(data_message(0, one_flow(1), one_flow(2)))], now=T0)
    assert len(early.flows) == 0
    assert (decoder.counters.template_misses, decoder.counters.pending_sets) == (1, 1)
    later = decoder.decode([dg(TEMPLATE)], now=T0 + 5)
    assert sorted(later.flows.src_port.tolist()) == [1, 2]
    assert (decoder.counters.pending_decoded, decoder.counters.pending_sets) == (1, 0)


def test_data_before_its_template_in_the_same_datagram_is_decoded() -> None:
    message = ipfix_message([data_set(300, [one_flow(7)]), ipfix_template_set((300, IPV4_FIELDS))])
    assert FlowDecoder().decode([dg(message)], now=T0).flows.src_port.tolist() == [7]


def test_pending_data_expires_after_its_maximum_age() -> None:
    decoder = FlowDecoder(config=DecoderConfig(pending_max_age=30))
    decoder.decode([dg(data_message(0, one_flow()))], now=T0)
    decoder.decode([], now=T0 + 31)
    assert (decoder.counters.pending_expired, decoder.counters.pending_sets) == (1, 0)
    assert len(decoder.decode([dg(TEMPLATE)], now=T0 + 32).flows) == 0


def test_pending_buffer_stays_under_its_byte_cap() -> None:
    decoder = FlowDecoder(config=DecoderConfig(pending_max_bytes=2000))
    messages = [dg(data_message(i, *[one_flow(i)] * 10)) for i in range(20)]  # ~650 bytes of set each
    decoder.decode(messages, now=T0)
    assert decoder.counters.pending_bytes <= 2000
    assert decoder.counters.pending_dropped == 20 - decoder.counters.pending_sets
    # The newest sets are the ones kept.
    flows = decoder.decode([dg(TEMPLATE)], now=T0 + 1).flows
    assert set(flows.src_port.tolist()) == {17, 18, 19}


def test_redefined_template_replaces_the_old_fields() -> None:
    decoder = FlowDecoder()
    decoder.decode([dg(TEMPLATE), dg(data_message(0, one_flow(5)))], now=T0)
    # Same id, now only addresses and counters: the old 52-byte layout must not be used.
    narrow = [(8, 4), (12, 4), (1, 4), (2, 4)]
    redefine = ipfix_message([ipfix_template_set((300, narrow))], sequence=1)
    record = bytes([10, 1, 1, 1, 10, 2, 2, 2]) + (999).to_bytes(4, "big") + (9).to_bytes(4, "big")
    flows = decoder.decode([dg(redefine), dg(data_message(1, record))], now=T0 + 1).flows
    assert (flows.bytes.tolist(), flows.packets.tolist()) == ([999], [9])
    assert decoder.counters.templates_redefined == 1
    assert [t.fields for t in decoder.templates()] == [tuple((e, n, 0) for e, n in narrow)]


def test_refreshed_template_is_not_counted_as_redefined() -> None:
    decoder = FlowDecoder()
    decoder.decode([dg(TEMPLATE), dg(TEMPLATE)], now=T0)
    assert (decoder.counters.templates_learned, decoder.counters.templates_redefined) == (1, 0)
    assert decoder.counters.template_records == 2


def test_ipfix_withdrawal_removes_the_template() -> None:
    decoder = FlowDecoder()
    decoder.decode([dg(TEMPLATE)], now=T0)
    decoder.decode([dg(ipfix_message([ipfix_withdrawal(300)], sequence=0))], now=T0)
    assert decoder.templates() == []
    assert decoder.counters.templates_withdrawn == 1
    assert len(decoder.decode([dg(data_message(0, one_flow()))], now=T0).flows) == 0


def test_ipfix_withdraw_all_removes_only_data_templates() -> None:
    decoder = FlowDecoder()
    options = ipfix_message([ipfix_options_template_set(301, [(144, 4)], [(34, 4)])])
    decoder.decode([dg(TEMPLATE), dg(options)], now=T0)
    assert {t.kind for t in decoder.templates()} == {TemplateKind.DATA, TemplateKind.OPTIONS}
    decoder.decode([dg(ipfix_message([ipfix_withdrawal(2)]))], now=T0)
    assert [t.kind for t in decoder.templates()] == [TemplateKind.OPTIONS]


def test_templates_expire_when_not_refreshed_within_their_lifetime() -> None:
    decoder = FlowDecoder(config=DecoderConfig(template_lifetime=100))
    decoder.decode([dg(TEMPLATE)], now=T0)
    assert len(decoder.decode([dg(data_message(0, one_flow()))], now=T0 + 99).flows) == 1
    assert len(decoder.decode([dg(data_message(1, one_flow()))], now=T0 + 201).flows) == 0
    assert decoder.counters.templates_expired == 1


def test_templates_are_scoped_by_exporter_port_and_domain() -> None:
    decoder = FlowDecoder()
    decoder.decode([dg(TEMPLATE)], now=T0)
    other_port = dg(data_message(0, one_flow()), ("198.51.100.7", 4740))
    other_exporter = dg(data_message(0, one_flow()), ("198.51.100.8", 4739))
    other_domain = dg(ipfix_message([data_set(300, [one_flow()])], domain=2))
    assert len(decoder.decode([other_port, other_exporter, other_domain], now=T0).flows) == 0
    assert decoder.counters.template_misses == 3


def test_truncated_datagram_is_dropped_whole_and_counted() -> None:
    decoder = FlowDecoder()
    decoder.decode([dg(TEMPLATE)], now=T0)
    good = data_message(0, one_flow(1), one_flow(2))
    truncated = good[:-30]  # the set header now overruns the message length
    patched = truncated[:2] + len(truncated).to_bytes(2, "big") + truncated[4:]
    assert len(decoder.decode([dg(patched)], now=T0).flows) == 0
    assert decoder.counters.decode_errors == 1


def test_unknown_version_and_empty_datagrams_are_counted_not_raised() -> None:
    decoder = FlowDecoder()
    batch = decoder.decode([dg(b""), dg(b"\x00"), dg(b"\x00\x07" + bytes(40))], now=T0)
    assert len(batch.flows) == 0
    assert decoder.counters.decode_errors == 3


def test_zero_padding_after_the_last_set_is_accepted() -> None:
    decoder = FlowDecoder()
    packet = v9_packet([v9_template_flowset((256, [(8, 4), (12, 4)])), data_set(256, [bytes(8)])]) + bytes(40)
    assert len(decoder.decode([dg(packet)], now=T0).flows) == 1
    assert decoder.counters.decode_errors == 0


def test_set_padding_does_not_produce_phantom_records() -> None:
    decoder = FlowDecoder()
    packet = v9_packet([v9_template_flowset((256, [(8, 4), (12, 4), (4, 1)])), data_set(256, [bytes(9)] * 3, 3)])
    assert len(decoder.decode([dg(packet)], now=T0).flows) == 3


def test_registry_refuses_templates_beyond_its_cap() -> None:
    decoder = FlowDecoder(config=DecoderConfig(max_templates=2))
    many = ipfix_template_set(*[(300 + i, IPV4_FIELDS) for i in range(5)])
    decoder.decode([dg(ipfix_message([many]))], now=T0)
    assert (decoder.counters.templates_active, decoder.counters.templates_rejected) == (2, 3)


def test_stream_table_evicts_the_least_recently_seen_stream() -> None:
    decoder = FlowDecoder(config=DecoderConfig(max_streams=3))
    for i in range(5):
        decoder.decode([dg(TEMPLATE, (f"198.51.100.{i}", 4739))], now=T0 + i)
    assert len(decoder.registry.streams) == 3
    assert decoder.counters.streams_evicted == 2
    assert decoder.stream("198.51.100.0", 4739, 10, 1) is None
    assert decoder.stream("198.51.100.4", 4739, 10, 1) is not None
    assert decoder.counters.templates_active == 3


def test_silent_streams_are_forgotten_after_the_template_lifetime() -> None:
    decoder = FlowDecoder(config=DecoderConfig(template_lifetime=100, sweep_interval=10))
    decoder.decode([dg(TEMPLATE)], now=T0)
    decoder.decode([dg(TEMPLATE, ("198.51.100.8", 4739))], now=T0 + 60)
    decoder.decode([], now=T0 + 150)
    assert decoder.stream("198.51.100.7", 4739, 10, 1) is None
    assert decoder.stream("198.51.100.8", 4739, 10, 1) is not None
    assert (decoder.counters.templates_expired, decoder.counters.templates_active) == (1, 1)
