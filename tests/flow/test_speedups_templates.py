"""Template re-announcements and options data in the C fast path, against the Python reference.

`_speedups.decode_run` refreshes a byte-identical (options) template re-announcement itself and,
when the sink keeps no options records, applies options data (sampling rates, boot time) too;
anything else (a new or changed definition, a withdrawal, a store write due, a malformed record)
goes to Python.  Each test runs a native and a pure-Python decoder side by side and compares
every batch, every counter and all kept state (see `test_speedups.decoder_state`), and checks
which datagrams C took, so a test cannot pass by C declining everything.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cenflow.flow import Datagram, DecoderConfig, FlowDecoder
from cenflow.flow.decoder import MAX_SAMPLERS
from cenflow.flow.speedups import NATIVE
from cenflow.flow.template_store import MemoryTemplateStore
from tests.flow.builders import (
    IPV4_FIELDS,
    Field,
    data_set,
    ipfix_message,
    ipfix_options_template_set,
    ipfix_template_set,
    ipfix_withdrawal,
    ipv4_record,
    v9_options_template_flowset,
    v9_packet,
    v9_template_flowset,
)
from tests.flow.test_speedups import NOW, _assert_same, _pair, assert_same_decoders, run_both

pytestmark = pytest.mark.skipif(NATIVE is None, reason="the C extension is not built")

DATA_ID, OPTIONS_ID, OTHER_ID = 300, 301, 302
V9_SCOPE: list[Field] = [(2, 4)]  # scopeInterface
V9_OPTIONS: list[Field] = [(34, 4), (35, 1), (82, 16)]  # samplingInterval, algorithm, interface name
IPFIX_SCOPE: list[Field] = [(143, 4)]  # meteringProcessId
IPFIX_OPTIONS: list[Field] = [(160, 8), (305, 4), (306, 4), (304, 2), (82, 16)]  # as softflowd sends


class Exporter:
    """Hand-built v9 or IPFIX messages of one exporter, numbered in order."""

    def __init__(self, version: str, exporter: str = "192.0.2.40", port: int = 2055) -> None:
        self.version = version
        self.exporter, self.port = exporter, port
        self.sequence = 0

    def message(self, *sets: bytes) -> Datagram:
        if self.version == "v9":
            payload = v9_packet(list(sets), sequence=self.sequence, source_id=7)
        else:
            payload = ipfix_message(list(sets), sequence=self.sequence, domain=7)
        self.sequence += 1
        return Datagram(payload, self.exporter, self.port)

    def template(self, template_id: int = DATA_ID, fields: Sequence[Field] = IPV4_FIELDS) -> bytes:
        if self.version == "v9":
            return v9_template_flowset((template_id, fields))
        return ipfix_template_set((template_id, fields))

    def options_template(
        self, template_id: int = OPTIONS_ID, scope: Sequence[Field] | None = None, fields: Sequence[Field] | None = None
    ) -> bytes:
        if self.version == "v9":
            return v9_options_template_flowset(template_id, scope or V9_SCOPE, fields or V9_OPTIONS)
        return ipfix_options_template_set(template_id, scope or IPFIX_SCOPE, fields or IPFIX_OPTIONS)

    def options_data(self, rate: int = 100, boot_ms: int = 1_699_999_000_000) -> bytes:
        if self.version == "v9":
            record = struct.pack(">IIB16s", 3, rate, 2, b"eth0")
        else:
            record = struct.pack(">IQIIH16s", 1, boot_ms, 1, rate - 1, 2, b"eth0")
        return data_set(OPTIONS_ID, [record])

    def data(self, count: int = 2, template_id: int = DATA_ID) -> bytes:
        records = [ipv4_record("10.0.0.1", "192.168.0.1", 1000 + n, 80, octets=100 + n) for n in range(count)]
        return data_set(template_id, records)

    def primer(self, *template_ids: int) -> Datagram:
        """A record of each template (default: the IPv4 one), to set up a batch's buffers."""
        return self.message(*(self.data(1, template_id) for template_id in template_ids or (DATA_ID,)))

    def announcement(self, *extra: bytes) -> Datagram:
        """softflowd's shape: templates, options template, options data, then data."""
        return self.message(self.template(), self.options_template(), self.options_data(), self.data(), *extra)


def count_fallbacks(decoder: FlowDecoder) -> list[Datagram]:
    """Record the datagrams the C path hands to Python (wholly or in part) from now on."""
    handed: list[Datagram] = []

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(datagram: Datagram, *args: Any) -> Any:
            handed.append(datagram)
            return method(datagram, *args)

        return recorded

    decoder._resume = wrap(decoder._resume)  # type: ignore[method-assign]
    decoder._datagram = wrap(decoder._datagram)  # type: ignore[method-assign]
    return handed


class Pair:
    """A native and a Python decoder fed the same datagrams, compared after every call."""

    def __init__(self, config: DecoderConfig | None = None, *, stores: bool = False) -> None:
        self.stores = (MemoryTemplateStore(), MemoryTemplateStore()) if stores else None
        self.native, self.python = _pair(config, self.stores)
        self.fallbacks = count_fallbacks(self.native)

    def decode(self, datagrams: list[Datagram], now: float, *, options: bool = False) -> int:
        """Returns the flow records decoded."""
        left = self.native.decode(datagrams, now=now, options=options)
        _assert_same(left, self.python.decode(datagrams, now=now, options=options))
        assert_same_decoders(self.native, self.python)
        if self.stores is not None:
            assert self.stores[0].templates == self.stores[1].templates
        return len(left.flows)

    def taken_in_c(
        self, primer: Datagram | None, datagrams: list[Datagram], now: float, *, options: bool = False
    ) -> int:
        """Decode datagrams that C must take whole; returns the flow records.  A batch's first
        data set of each layout goes to Python (which sets up the layout's buffers): `primer`, a
        datagram with such sets, goes first and may fall back."""
        first = [] if primer is None else [primer]
        before = len(self.fallbacks)
        records = self.decode(first + datagrams, now, options=options)
        assert self.fallbacks[before:] in ([], first)
        return records

    def stream(self) -> Any:
        (stream,) = self.native.registry.streams.values()
        return stream


@pytest.fixture(params=["v9", "ipfix"])
def exporter(request: pytest.FixtureRequest) -> Exporter:
    return Exporter(request.param)


def test_identical_reannouncements_are_refreshed_in_c(exporter: Exporter) -> None:
    pair = Pair()
    pair.decode([exporter.announcement()], NOW)  # learned in Python
    counters = pair.native.counters
    assert counters.templates_learned == 2
    for step in range(1, 4):
        assert pair.taken_in_c(exporter.primer(), [exporter.announcement()], NOW + 10 * step) == 3
        assert {a.last_seen for a in pair.stream().templates.values()} == {NOW + 10 * step}
    assert counters.templates_learned == 2
    assert counters.templates_redefined == 0
    assert counters.template_records == 8
    assert counters.options_records == 4
    stream = pair.stream()
    assert stream.default_rate == 100
    assert stream.boot_ms == (-1 if exporter.version == "v9" else 1_699_999_000_000)


def test_keeping_options_records_leaves_options_data_to_python(exporter: Exporter) -> None:
    """Options records rendered for the caller are Python's job; the templates alone are C's."""
    pair = Pair()
    pair.decode([exporter.announcement()], NOW, options=True)
    before = len(pair.fallbacks)
    pair.decode([exporter.announcement()], NOW + 1, options=True)
    assert len(pair.fallbacks) == before + 1
    datagram = exporter.message(exporter.template(), exporter.options_template(), exporter.data())
    pair.taken_in_c(exporter.primer(), [datagram], NOW + 2)


def test_changed_definitions_go_to_python(exporter: Exporter) -> None:
    pair = Pair()
    pair.decode([exporter.announcement()], NOW)
    changed = [
        exporter.message(exporter.template(fields=IPV4_FIELDS[:-1]), exporter.data(template_id=DATA_ID, count=0)),
        exporter.message(exporter.options_template(fields=[(34, 4)])),
        exporter.message(exporter.template(DATA_ID), exporter.template(OTHER_ID)),  # one new among known
        # the data template's bytes announced as an options template: a different kind
        exporter.message(exporter.options_template(DATA_ID, scope=IPV4_FIELDS[:1], fields=IPV4_FIELDS[1:])),
        exporter.announcement(),
    ]
    for step, datagram in enumerate(changed):
        before = len(pair.fallbacks)
        pair.decode([datagram], NOW + step + 1)
        assert len(pair.fallbacks) == before + 1
    assert pair.native.counters.templates_redefined == 6  # the last one changes two back
    pair.taken_in_c(exporter.primer(), [exporter.announcement()], NOW + 10)


def test_template_sets_between_data_sets(exporter: Exporter) -> None:
    pair = Pair()
    pair.decode([exporter.announcement(), exporter.message(exporter.template(OTHER_ID))], NOW)
    mixed = exporter.message(
        exporter.data(3),
        exporter.template(OTHER_ID),
        exporter.data(1, OTHER_ID),
        exporter.options_data(rate=7),
        exporter.template(),
        exporter.options_template(),
        exporter.data(2),
        exporter.options_data(rate=9),  # the last one wins, as in Python
        struct.pack(">HH", 77, 8) + bytes(4),  # a reserved set id: skipped
    )
    assert pair.taken_in_c(exporter.primer(), [mixed, exporter.message(exporter.data(1))], NOW + 5) == 8
    assert pair.stream().default_rate == 9


def test_several_records_and_repeats_in_one_template_set(exporter: Exporter) -> None:
    both = (DATA_ID, IPV4_FIELDS), (OTHER_ID, IPV4_FIELDS[:5])
    if exporter.version == "v9":
        template_set = v9_template_flowset(*both, both[0])
    else:
        template_set = ipfix_template_set(*both, both[0])
    pair = Pair()
    pair.decode([exporter.message(template_set)], NOW)
    assert pair.native.counters.template_records == 3
    pair.taken_in_c(exporter.primer(), [exporter.message(template_set, exporter.data())], NOW + 1)
    assert pair.native.counters.template_records == 6
    padded = template_set[:2] + struct.pack(">H", len(template_set) + 4) + template_set[4:] + bytes(4)
    pair.taken_in_c(exporter.primer(), [exporter.message(padded, exporter.data())], NOW + 2)
    assert pair.native.counters.template_records == 9


def test_truncated_template_sets_are_dropped_by_python(exporter: Exporter) -> None:
    """A record cut short inside an intact set: Python keeps what the complete sets before it
    announced and drops the datagram; C must hand it over untouched."""
    pair = Pair()
    pair.decode([exporter.announcement()], NOW)
    good = exporter.template()
    cut = good[:-2]
    cut = cut[:2] + struct.pack(">H", len(cut)) + cut[4:]
    cut_options = exporter.options_template()[:-3]
    cut_options = cut_options[:2] + struct.pack(">H", len(cut_options)) + cut_options[4:]
    damaged = [
        exporter.message(exporter.template(OTHER_ID), cut),  # the new template is kept
        exporter.message(good, cut_options, exporter.data()),
        exporter.message(good, good[:-1]),  # the set overruns the message: framing
    ]
    for step, datagram in enumerate(damaged):
        pair.decode([datagram], NOW + step + 1)
    assert pair.native.counters.decode_errors == 3
    assert len(pair.fallbacks) == 4
    assert OTHER_ID in pair.stream().templates


def test_a_refresh_extends_the_lifetime(exporter: Exporter) -> None:
    pair = Pair(DecoderConfig(template_lifetime=10.0, sweep_interval=1.0))
    pair.decode([exporter.announcement()], NOW)
    # Within lifetime / 4 of the last store write (at learning), so C refreshes.
    pair.taken_in_c(None, [exporter.message(exporter.template(), exporter.options_template())], NOW + 2)
    assert pair.taken_in_c(exporter.primer(), [exporter.message(exporter.data())], NOW + 11) == 3
    assert pair.native.counters.templates_expired == 0
    pair.decode([exporter.message(exporter.data())], NOW + 13)  # 11 s after the refresh: gone
    assert pair.native.counters.templates_expired == 2


def test_a_refresh_revives_an_expired_template_for_later_sets(exporter: Exporter) -> None:
    """Python refreshes a template when it reads its set, so data *after* the re-announcement in
    the same datagram finds it alive, and data *before* it finds it expired."""
    config = DecoderConfig(template_lifetime=10.0, sweep_interval=3600.0)
    pair = Pair(config)
    pair.decode([exporter.announcement()], NOW)
    # An expired template is always due a store write too (lifetime / 4), so Python has these.
    assert pair.decode([exporter.message(exporter.template(), exporter.data())], NOW + 20) == 2
    assert pair.native.counters.templates_expired == 0
    pair.decode([exporter.message(exporter.data(), exporter.template())], NOW + 40)
    assert pair.native.counters.templates_expired == 1
    assert pair.native.counters.pending_decoded == 1


def test_store_writes_are_left_to_python(exporter: Exporter) -> None:
    """A refresh is written to the store every lifetime / 4; the C path refreshes in between."""
    pair = Pair(DecoderConfig(template_lifetime=40.0), stores=True)
    for step in range(30):
        pair.decode([exporter.message(exporter.template(), exporter.options_template())], NOW + 3 * step)
    assert 4 <= len(pair.fallbacks) <= 12  # the first, then ~one per 10 s for both templates
    assert pair.stores is not None
    assert {t.last_seen for t in pair.stores[0].templates.values()} == {NOW + 3 * 28}


def test_templates_loaded_from_the_store_are_refreshed_in_c_after_one_python_refresh(exporter: Exporter) -> None:
    store = MemoryTemplateStore()
    FlowDecoder(store).decode([exporter.announcement()], now=NOW)
    pair = Pair()
    for decoder in (pair.native, pair.python):
        decoder.registry.store = store
        decoder.registry.load(NOW)
        decoder.registry.store = None
    pair.decode([exporter.announcement()], NOW + 1)
    assert len(pair.fallbacks) == 1  # no wire bytes yet: Python compares the fields
    pair.taken_in_c(exporter.primer(), [exporter.announcement()], NOW + 2)


def test_withdrawals_and_unusual_records_go_to_python() -> None:
    ipfix, v9 = Exporter("ipfix"), Exporter("v9", port=2056)
    v9_empty_options = struct.pack(">HHHHH", 1, 10, OPTIONS_ID, 0, 0)
    unusual = [
        (ipfix, ipfix.message(ipfix.template(), ipfix_withdrawal(OTHER_ID))),
        (ipfix, ipfix.message(ipfix_withdrawal(3, set_id=3))),
        (ipfix, ipfix.message(ipfix_withdrawal(2))),
        (ipfix, ipfix.message(struct.pack(">HHHHH", 3, 10, OPTIONS_ID, 2, 0))),  # scope count 0
        (v9, v9.message(v9.template(), struct.pack(">HHHH", 0, 8, OTHER_ID, 0))),  # no fields
        (v9, v9.message(v9_empty_options)),  # zero-length options template: Python withdraws
        (v9, v9.message(struct.pack(">HHHHH", 1, 12, OPTIONS_ID, 3, 4) + bytes(2))),  # lengths not x4
    ]
    pair = Pair()
    pair.decode([ipfix.announcement(), v9.announcement(), ipfix.message(ipfix.template(OTHER_ID))], NOW)
    for step, (_, datagram) in enumerate(unusual):
        before = len(pair.fallbacks)
        pair.decode([datagram], NOW + step + 1)
        assert len(pair.fallbacks) == before + 1
    assert pair.native.counters.templates_withdrawn >= 3


def test_more_refreshes_than_c_plans_go_to_python(exporter: Exporter) -> None:
    ids = [(256 + n, IPV4_FIELDS[: 1 + n % 5]) for n in range(70)]
    sets = v9_template_flowset(*ids) if exporter.version == "v9" else ipfix_template_set(*ids)
    pair = Pair()
    pair.decode([exporter.message(sets)], NOW)
    before = len(pair.fallbacks)
    pair.decode([exporter.message(sets)], NOW + 1)
    assert len(pair.fallbacks) == before + 1
    fewer = sets[:2] + struct.pack(">H", 4 + 10 * 16) + sets[4 : 4 + 10 * 16]  # the first 10 templates (16 bytes)
    pair.taken_in_c(None, [exporter.message(fewer)], NOW + 2)


def test_the_sampler_table_cap_is_the_decoder_s() -> None:
    assert NATIVE is not None
    assert NATIVE.MAX_SAMPLERS == MAX_SAMPLERS


def test_sampler_rates_stay_under_the_cap_in_c() -> None:
    exporter = Exporter("ipfix")
    template = ipfix_options_template_set(OPTIONS_ID, [(302, 4)], [(305, 4), (306, 4)])
    pair = Pair()
    pair.decode([exporter.message(template)], NOW)
    for first in range(0, MAX_SAMPLERS + 100, 50):  # 50 effects per datagram: within C's plan
        records = [struct.pack(">III", sampler, 1, sampler % 7) for sampler in range(first, first + 50)]
        pair.taken_in_c(None, [exporter.message(data_set(OPTIONS_ID, records))], NOW + 1)
    rates = pair.stream().sampler_rates
    assert len(rates) == MAX_SAMPLERS
    pair.taken_in_c(None, [exporter.message(data_set(OPTIONS_ID, [struct.pack(">III", 0, 1, 99)]))], NOW + 2)
    assert rates[0] == 100


# -- options data: random templates and records ---------------------------------------------

EFFECT_FIELDS = [48, 302, 34, 50, 305, 306, 160, 82, 1]
_LENGTHS = [0, 1, 2, 4, 8, 9, 16]


@st.composite
def options_fields(draw: st.DrawFn) -> tuple[list[Field], int]:
    count = draw(st.integers(1, 7))
    fields: list[Field] = []
    for _ in range(count):
        element = draw(st.sampled_from(EFFECT_FIELDS))
        length = draw(st.sampled_from(_LENGTHS))
        enterprise = draw(st.sampled_from([0, 0, 0, 9]))
        fields.append((element, length, enterprise) if enterprise else (element, length))
    return fields, draw(st.integers(1, count))


_VALUE = st.sampled_from(
    [b"\x00" * 8, b"\x00" * 7 + b"\x01", b"\xff" * 8, b"\x00\x00\x00\x00\xff\xff\xff\xff", b"\x00\x20" + b"\x00" * 6]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    version=st.sampled_from(["v9", "ipfix"]),
    template=options_fields(),
    values=st.lists(st.one_of(_VALUE, st.binary(min_size=8, max_size=8)), min_size=1, max_size=12),
    per_set=st.integers(1, 4),
    data=st.randoms(use_true_random=False),
)
def test_options_data_effects_match_python(
    version: str, template: tuple[list[Field], int], values: list[bytes], per_set: int, data: random.Random
) -> None:
    """Sampling rates, sampler ids and boot times from options templates of any shape: first
    occurrences, enterprise elements, v9 scope fields, zero and huge values, odd lengths."""
    fields, scope = template
    exporter = Exporter(version)
    template_set = (
        v9_options_template_flowset(OPTIONS_ID, fields[:scope], fields[scope:])
        if version == "v9"
        else ipfix_options_template_set(OPTIONS_ID, fields[:scope], fields[scope:])
    )
    size = sum(field[1] for field in fields)
    records = [
        b"".join((values[(n + i) % len(values)] * 3)[: field[1]] for i, field in enumerate(fields))
        for n in range(len(values))
    ]
    datagrams = [exporter.message(template_set)]
    for first in range(0, len(records), per_set):
        chunk = records[first : first + per_set]
        datagrams.append(exporter.message(data_set(OPTIONS_ID, chunk, padding=data.randrange(max(1, size)))))
    pair = Pair()
    pair.decode(datagrams[:1], NOW)
    pair.taken_in_c(None, datagrams[1:], NOW + 1)


@pytest.mark.parametrize("options", [True, False])
@pytest.mark.parametrize("version", ["v9", "ipfix"])
def test_softflowd_shaped_streams_with_mangled_reannouncements(version: str, options: bool) -> None:
    """Announcements with one byte changed or cut, among intact ones, at a clock that lets
    templates expire and come back."""
    rng = random.Random(17)
    exporter = Exporter(version)
    datagrams = [exporter.announcement()]
    for _ in range(1500):
        datagram = exporter.announcement() if rng.random() < 0.5 else exporter.message(exporter.data())
        payload = bytearray(datagram.payload)
        if rng.random() < 0.3:
            at = rng.randrange(16, len(payload))
            if rng.random() < 0.7:
                payload[at] ^= 1 << rng.randrange(8)
            else:
                del payload[at:]
        datagrams.append(Datagram(bytes(payload), datagram.exporter, datagram.port))
    config = DecoderConfig(template_lifetime=30.0, sweep_interval=5.0)
    assert run_both(datagrams, 7, config, options=options, step=0.5) > 0


def test_the_kept_wire_bytes_decide(exporter: Exporter) -> None:
    """C refreshes only on the exact bytes kept, set id included (it tells the template kind)."""
    pair = Pair()
    pair.decode([exporter.message(exporter.template())], NOW)
    active = pair.stream().templates[DATA_ID]
    wire = active.wire
    assert wire is not None
    other_kind = struct.pack(">H", struct.unpack_from(">H", wire)[0] + 1)
    for kept in (other_kind + wire[2:], wire[:-1] + bytes([wire[-1] ^ 1]), wire[:-4], None):
        active.wire = kept
        before = len(pair.fallbacks)
        pair.native.decode([exporter.message(exporter.template())], now=NOW + 1, options=False)
        assert len(pair.fallbacks) == before + 1
        assert active.wire == wire  # Python's refresh keeps the announced bytes again
