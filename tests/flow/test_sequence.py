"""Sequence gaps (v5 flows, v9 packets, IPFIX records), softflowd's IPFIX numbering, restarts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cenflow.flow import Datagram, FlowDecoder
from cenflow.flow.sequence import WRAP, Profile, SequenceState
from tests.flow.builders import (
    IPV4_FIELDS,
    data_set,
    ipfix_message,
    ipfix_template_set,
    ipv4_record,
    v5_datagram,
    v5_record,
    v9_packet,
    v9_template_flowset,
)
from tests.flow.samples import require_testdata, softflowd_datagrams

NOW = 1_800_000_000.0


def records_in(datagrams: list[Datagram], index: int) -> int:
    """Flow and options records in datagrams[index], decoded with the templates before it."""
    decoder = FlowDecoder()
    decoder.inspect(datagrams[:index], now=NOW)
    return len(decoder.inspect(datagrams[index : index + 1], now=NOW))


@pytest.mark.parametrize("version", ["v5", "v9", "ipfix"])
def test_softflowd_streams_show_no_gaps_or_restarts(version: str) -> None:
    require_testdata()
    decoder = FlowDecoder()
    decoder.decode(softflowd_datagrams(version), now=NOW)
    counters = decoder.counters
    assert (counters.sequence_gaps, counters.sequence_lost, counters.exporter_restarts) == (0, 0, 0)
    assert counters.sequence_late == 0


def test_softflowd_ipfix_stream_is_recognised_as_inclusive_numbering() -> None:
    require_testdata()
    decoder = FlowDecoder()
    datagrams = softflowd_datagrams("ipfix")
    decoder.decode(datagrams, now=NOW)
    stream = decoder.stream(datagrams[0].exporter, datagrams[0].port, 10, 0)
    assert stream is not None
    assert stream.sequence.profile is Profile.INCLUSIVE


@pytest.mark.parametrize(("version", "unit"), [("v5", "records"), ("v9", "packets"), ("ipfix", "records")])
def test_a_lost_datagram_is_counted_in_the_version_units(version: str, unit: str) -> None:
    require_testdata()
    datagrams = list(softflowd_datagrams(version))
    expected_lost = 1 if unit == "packets" else records_in(datagrams, 10)
    assert expected_lost > 0
    del datagrams[10]
    decoder = FlowDecoder()
    decoder.decode(datagrams, now=NOW)
    assert (decoder.counters.sequence_gaps, decoder.counters.sequence_lost) == (1, expected_lost)


def test_a_reordered_datagram_is_late_not_a_gap_twice() -> None:
    require_testdata()
    datagrams = list(softflowd_datagrams("v9"))
    datagrams[10], datagrams[11] = datagrams[11], datagrams[10]
    decoder = FlowDecoder()
    flows = decoder.decode(datagrams, now=NOW).flows
    assert len(flows) == 2000  # nothing is dropped for being late
    assert (decoder.counters.sequence_gaps, decoder.counters.sequence_lost) == (1, 1)
    assert decoder.counters.sequence_late == 1


def _ipfix_rfc_stream(counts: list[int]) -> list[Datagram]:
    template = ipfix_template_set((300, IPV4_FIELDS))
    out, sequence = [], 0
    for i, count in enumerate(counts):
        records = [ipv4_record("10.0.0.1", "10.0.0.2", 1000 + j, 80) for j in range(count)]
        sets = ([template] if i == 0 else []) + [data_set(300, records)]
        out.append(Datagram(ipfix_message(sets, sequence=sequence), "198.51.100.1", 4739))
        sequence += count
    return out


def test_rfc_numbered_ipfix_stream_counts_lost_records() -> None:
    stream = _ipfix_rfc_stream([3, 5, 2, 4, 6])
    del stream[2]  # 2 records lost
    decoder = FlowDecoder()
    decoder.decode(stream, now=NOW)
    assert (decoder.counters.sequence_gaps, decoder.counters.sequence_lost) == (1, 2)
    profile = decoder.stream("198.51.100.1", 4739, 10, 1)
    assert profile is not None
    assert profile.sequence.profile is Profile.RFC


def test_inclusive_profile_still_detects_loss() -> None:
    state = SequenceState(10)
    # softflowd-style: each number includes the message's own records.
    state.account(5, 5, 0, -1)
    assert state.account(12, 7, 0, -1) == 0
    assert state.profile is Profile.INCLUSIVE
    # A message of 4 records lost, then one of 3 records: 12 + 4 + 3 = 19.
    assert state.account(19, 3, 0, -1) == 4


def test_equal_record_counts_do_not_decide_the_profile() -> None:
    state = SequenceState(10)
    state.account(0, 4, 0, -1)
    assert state.account(4, 4, 0, -1) == 0  # matches both rules
    assert state.profile is Profile.UNKNOWN


def test_ipfix_message_with_unknown_templates_leaves_the_next_check_open() -> None:
    state = SequenceState(10)
    state.account(0, None, 0, -1)  # records unknown: sets waited for their template
    assert state.account(40, 3, 0, -1) == 0


# -- restarts ------------------------------------------------------------------------------

V9_TEMPLATE = v9_template_flowset((256, [(8, 4), (12, 4), (2, 4), (1, 4), (22, 4), (21, 4)]))


def v9_record() -> bytes:
    return bytes([10, 0, 0, 1, 10, 0, 0, 2]) + (1).to_bytes(4, "big") + (60).to_bytes(4, "big") + bytes(8)


def v9(sequence: int, uptime_ms: int, unix_secs: int, with_template: bool = False) -> Datagram:
    sets = ([V9_TEMPLATE] if with_template else []) + [data_set(256, [v9_record()])]
    return Datagram(v9_packet(sets, sequence, 0, uptime_ms, unix_secs), "198.51.100.9", 2055)


def test_v9_uptime_going_back_with_a_later_boot_time_is_a_restart() -> None:
    decoder = FlowDecoder()
    decoder.decode([v9(100, 5_000_000, 1_700_000_000, with_template=True)], now=NOW)
    # Rebooted 10 s ago: sysUptime small, wall clock later, sequence starting over.
    batch = decoder.decode([v9(0, 10_000, 1_700_000_100)], now=NOW)
    assert decoder.counters.exporter_restarts == 1
    assert len(batch.flows) == 0  # the old template died with the old exporter process
    assert decoder.counters.template_misses == 1
    assert decoder.templates() == []


def test_v9_late_datagram_is_not_a_restart() -> None:
    decoder = FlowDecoder()
    decoder.decode([v9(100, 5_000_000, 1_700_000_000, with_template=True)], now=NOW)
    # Sent 100 s earlier than the first one (same boot time), arriving late.
    batch = decoder.decode([v9(90, 4_900_000, 1_699_999_900)], now=NOW)
    assert decoder.counters.exporter_restarts == 0
    assert decoder.counters.sequence_late == 1
    assert len(batch.flows) == 1


def test_v9_uptime_wrap_is_not_a_restart() -> None:
    decoder = FlowDecoder()
    decoder.decode([v9(100, 2**32 - 1_000, 1_700_000_000, with_template=True)], now=NOW)
    batch = decoder.decode([v9(101, 4_000, 1_700_000_005)], now=NOW)  # 5 s later, past the wrap
    assert decoder.counters.exporter_restarts == 0
    assert decoder.counters.sequence_gaps == 0
    assert len(batch.flows) == 1


def test_v9_sequence_reset_with_the_clock_moving_on_is_a_restart() -> None:
    decoder = FlowDecoder()
    decoder.decode([v9(50_000, 5_000_000, 1_700_000_000, with_template=True)], now=NOW)
    decoder.decode([v9(1, 5_030_000, 1_700_000_030)], now=NOW)  # host uptime continues, process restarted
    assert decoder.counters.exporter_restarts == 1


def test_ipfix_sequence_reset_is_a_restart_unless_the_message_is_older() -> None:
    decoder = FlowDecoder()
    template = ipfix_template_set((300, IPV4_FIELDS))
    record = ipv4_record("10.0.0.1", "10.0.0.2", 1, 2)

    def message(sequence: int, export_time: int) -> Datagram:
        sets = [template, data_set(300, [record])]
        return Datagram(ipfix_message(sets, sequence, export_time=export_time), "198.51.100.3", 4739)

    decoder.decode([message(1_000_000, 1_700_000_000)], now=NOW)
    decoder.decode([message(10, 1_699_999_000)], now=NOW)  # older export time: a stale message
    assert (decoder.counters.exporter_restarts, decoder.counters.sequence_late) == (0, 1)
    decoder.decode([message(0, 1_700_000_100)], now=NOW)  # newer export time: numbering restarted
    assert decoder.counters.exporter_restarts == 1


def test_v5_restart_resets_gap_accounting() -> None:
    decoder = FlowDecoder()
    record = v5_record("10.0.0.1", "10.0.0.2", 1, 2)
    decoder.decode([Datagram(v5_datagram([record] * 3, 100_000, 5_000_000, 1_700_000_000), "198.51.100.5", 2055)])
    decoder.decode([Datagram(v5_datagram([record] * 3, 0, 20_000, 1_700_000_100), "198.51.100.5", 2055)])
    assert decoder.counters.exporter_restarts == 1
    assert decoder.counters.sequence_gaps == 0


@given(
    version=st.sampled_from([5, 9]),
    last=st.integers(0, WRAP - 1),
    last_units=st.none() | st.integers(0, 1 << 20),
    seq=st.integers(0, WRAP - 1),
)
def test_v5_v9_accounting_counts_what_the_reference_rule_does(
    version: int, last: int, last_units: int | None, seq: int
) -> None:
    """`account` inlines the RFC rule for v5/v9; `_lost` stays the reference (wraps included)."""
    state = SequenceState(version, last_seq=last, last_units=last_units)
    reference = SequenceState(version, last_seq=last, last_units=last_units)
    assert state.account(seq, 1, 0, -1) == reference._lost(seq, 1)
