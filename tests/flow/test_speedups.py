"""The C fast path (`cenflow.flow._speedups`) against the Python reference.

A decoder with ``native=True`` must give exactly what one with ``native=False`` gives (every
column of every batch, every counter, every options record, and the state it keeps: templates
with their refresh times, sampling rates, boot times, sequence state) on real-device samples,
softflowd exports and mangled datagrams, in batches of any size, with options records kept
(options data left to Python) or not (options data decoded in C); and the C functions must
reject bad arguments instead of reading outside their buffers.  The template re-announcements
that C refreshes itself are covered in tests/flow/test_speedups_templates.py.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cenflow.flow import COLUMNS, Datagram, DecodedBatch, DecoderConfig, FlowDecoder, address_text
from cenflow.flow.sequence import SequenceState
from cenflow.flow.speedups import NATIVE
from cenflow.flow.template_store import TemplateStore
from tests.flow.samples import VENDORS, require_testdata, softflowd_datagrams, split_messages
from tests.flow.test_fuzz import corpus, mutated

NOW = 1_800_000_000.0
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_extension_is_built() -> None:
    """CI builds the extension (`pip install -e .`); a silent fallback would hide a broken build."""
    assert NATIVE is not None


def _pair(
    config: DecoderConfig | None = None, stores: tuple[TemplateStore, TemplateStore] | None = None
) -> tuple[FlowDecoder, FlowDecoder]:
    base = config or DecoderConfig()
    native_store, python_store = stores or (None, None)
    return (
        FlowDecoder(native_store, DecoderConfig(**{**_fields(base), "native": True})),
        FlowDecoder(python_store, DecoderConfig(**{**_fields(base), "native": False})),
    )


def _fields(config: DecoderConfig) -> dict[str, Any]:
    return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}


def _assert_same(native: DecodedBatch, python: DecodedBatch) -> None:
    assert len(native.flows) == len(python.flows)
    for name in COLUMNS:
        left, right = native.flows.column(name), python.flows.column(name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name
    assert native.options == python.options


def decoder_state(decoder: FlowDecoder) -> list[tuple[Any, ...]]:
    """Everything a decoder remembers between datagrams, comparable with ==: per stream (in LRU
    order) its templates (definition, last_seen, persisted_at, the wire bytes kept for C), sampling
    rates, boot time, last_seen and sequence state."""
    return [
        (
            key,
            [(tid, a.template, a.last_seen, a.persisted_at, a.wire) for tid, a in stream.templates.items()],
            stream.default_rate,
            list(stream.sampler_rates.items()),
            stream.boot_ms,
            stream.last_seen,
            stream.sequence,
        )
        for key, stream in decoder.registry.streams.items()
    ]


def assert_same_decoders(native: FlowDecoder, python: FlowDecoder) -> None:
    assert native.counters == python.counters
    assert decoder_state(native) == decoder_state(python)


def run_both(
    datagrams: list[Datagram],
    batch: int,
    config: DecoderConfig | None = None,
    *,
    options: bool = True,
    step: float = 1.0,
    stores: tuple[TemplateStore, TemplateStore] | None = None,
) -> int:
    """Decode in batches with both paths, comparing every batch, the counters and the decoders'
    state; returns records.  The clock moves on `step` seconds per datagram, so expiry, store
    refreshes and pending ages are exercised alike."""
    native, python = _pair(config, stores)
    records = 0
    for i in range(0, len(datagrams), batch):
        chunk = datagrams[i : i + batch]
        now = NOW + i * step
        left, right = native.decode(chunk, now=now, options=options), python.decode(chunk, now=now, options=options)
        _assert_same(left, right)
        records += len(left.flows)
        assert_same_decoders(native, python)
    assert native.templates() == python.templates()
    return records


_run_both = run_both


def _vendor_stream() -> list[Datagram]:
    require_testdata()
    return [
        Datagram(message, "192.0.2.1", 2055)
        for path in sorted(VENDORS.glob("*.dat"))
        for message in split_messages(path.read_bytes())
    ]


@pytest.mark.parametrize("options", [True, False])
@pytest.mark.parametrize("batch", [1, 5, 512])
def test_vendor_samples_decode_identically(batch: int, options: bool) -> None:
    assert _run_both(_vendor_stream(), batch, options=options) > 0


@pytest.mark.parametrize("options", [True, False])
@pytest.mark.parametrize("version", ["v5", "v9", "ipfix"])
@pytest.mark.parametrize("batch", [1, 16, 512])
def test_softflowd_exports_decode_identically(version: str, batch: int, options: bool) -> None:
    datagrams = list(softflowd_datagrams(version)) * 3  # repeated: late datagrams and refreshes
    assert _run_both(datagrams, batch, options=options) > 0


def _restarted_v9(datagrams: list[Datagram]) -> list[Datagram]:
    """The same v9 export again from an exporter that rebooted an hour later: sysUptime and the
    sequence start over (a restart: templates dropped, data waits for the re-sent templates)."""
    out = []
    for number, datagram in enumerate(datagrams):
        header = bytearray(datagram.payload[:20])
        unix_secs = struct.unpack_from(">I", header, 8)[0]
        struct.pack_into(">III", header, 4, 1000 + 10 * number, unix_secs + 3600, number)
        out.append(Datagram(bytes(header) + datagram.payload[20:], datagram.exporter, datagram.port))
    return out


@pytest.mark.parametrize("options", [True, False])
@pytest.mark.parametrize("batch", [1, 7, 512])
def test_exporter_restarts_decode_identically(batch: int, options: bool) -> None:
    datagrams = list(softflowd_datagrams("v9"))
    native, _ = _pair()
    stream = datagrams + _restarted_v9(datagrams)
    assert _run_both(stream, batch, options=options) > 0
    native.decode(stream, now=NOW)
    assert native.counters.exporter_restarts == 1


@pytest.mark.parametrize("options", [True, False])
@pytest.mark.parametrize("batch", [1, 9, 512])
def test_interleaved_exporters_decode_identically(batch: int, options: bool) -> None:
    """Several streams in one batch: the C loop switches streams (and sink slots) per datagram."""
    sources = [
        [Datagram(d.payload, exporter, port) for d in softflowd_datagrams(version)]
        for version, exporter, port in [
            ("v9", "192.0.2.1", 2055),
            ("ipfix", "192.0.2.1", 2056),
            ("v9", "2001:db8::7", 9),
        ]
    ]
    interleaved = [d for group in zip(*sources, strict=False) for d in group]
    assert _run_both(interleaved + [d for source in sources for d in source], batch, options=options) > 0


def _disordered(datagrams: list[Datagram]) -> list[Datagram]:
    """``datagrams`` with every 11th lost, each 5th swapped with the next and every 13th repeated:
    sequence gaps, late and duplicated messages."""
    kept = [d for number, d in enumerate(datagrams) if number % 11 != 10]
    for number in range(0, len(kept) - 1, 5):
        kept[number], kept[number + 1] = kept[number + 1], kept[number]
    return [copy for number, d in enumerate(kept) for copy in ([d, d] if number % 13 == 12 else [d])]


@pytest.mark.parametrize("version", ["v9", "ipfix"])
@pytest.mark.parametrize("batch", [1, 7, 512])
def test_sequence_gaps_and_late_messages_account_identically(version: str, batch: int) -> None:
    """C repeats SequenceState.check/account on a copy of the state; the states, the gap, loss and
    late counts must be Python's, whether a batch holds one datagram or hundreds."""
    datagrams = list(softflowd_datagrams(version))
    assert _run_both(_disordered(datagrams * 3), batch) > 0
    native, _ = _pair()
    native.decode(_disordered(datagrams * 3), now=NOW)
    assert native.counters.sequence_gaps > 0
    assert native.counters.sequence_late > 0


@pytest.mark.parametrize("version", ["v9", "ipfix"])
def test_the_c_path_accounts_the_sequence_of_a_steady_stream(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a stream has a previous message (and, for IPFIX, a numbering profile), C checks and
    accounts its sequence numbers without calling Python."""
    calls = {"check": 0, "account": 0}
    for name in calls:
        original = getattr(SequenceState, name)

        def counted(self: SequenceState, *args: Any, _name: str = name, _original: Any = original) -> Any:
            calls[_name] += 1
            return _original(self, *args)

        monkeypatch.setattr(SequenceState, name, counted)
    datagrams = list(softflowd_datagrams(version))
    native, _ = _pair()
    native.decode(datagrams, now=NOW)
    assert native.counters.datagrams == len(datagrams)
    assert 0 < calls["check"] < len(datagrams) // 10
    assert 0 < calls["account"] < len(datagrams) // 10


@pytest.mark.parametrize("native", [True, False])
def test_the_receivers_tuples_decode_as_datagrams(native: bool) -> None:
    """The collector hands its (payload, exporter, port, received) tuples as they are; the ones
    left to Python (templates, the first messages) become Datagrams there."""
    datagrams = list(softflowd_datagrams("ipfix")) + list(softflowd_datagrams("v9"))
    received = [(d.payload, d.exporter, d.port, NOW) for d in datagrams]
    config = DecoderConfig(native=native)
    by_datagram, by_tuple = FlowDecoder(None, config), FlowDecoder(None, config)

    for i in range(0, len(datagrams), 64):
        _assert_same(by_tuple.decode(received[i : i + 64], now=NOW), by_datagram.decode(datagrams[i : i + 64], now=NOW))

    assert_same_decoders(by_tuple, by_datagram)
    assert by_tuple.counters.flow_records > 0
    assert by_tuple.counters.template_records > 0


def test_decode_accepts_any_iterable() -> None:
    datagrams = list(softflowd_datagrams("ipfix"))
    native, python = _pair()
    _assert_same(native.decode(iter(datagrams), now=NOW), python.decode(tuple(datagrams), now=NOW))
    assert native.counters == python.counters


@pytest.mark.parametrize("options", [True, False])
def test_expired_templates_are_left_to_the_registry(options: bool) -> None:
    """Data arriving after its template's lifetime is a miss in both paths, counted alike."""
    datagrams = list(softflowd_datagrams("v9"))
    config = DecoderConfig(template_lifetime=3.0)
    native, python = _pair(config)
    for step, datagram in enumerate(datagrams):
        now = NOW + 2.0 * step  # every other datagram finds its template expired
        left = native.decode([datagram], now=now, options=options)
        _assert_same(left, python.decode([datagram], now=now, options=options))
    assert_same_decoders(native, python)
    assert native.counters.templates_expired > 0


def test_the_c_path_takes_the_common_datagram() -> None:
    """Steady-state softflowd data (known fixed-length templates) is gathered in C."""
    assert NATIVE is not None
    datagrams = list(softflowd_datagrams("ipfix"))
    decoder = FlowDecoder()
    decoder.decode(datagrams, now=NOW)  # templates learned
    taken = 0
    for datagram in datagrams:
        sink_groups = {layout: _Recorder() for layout in _layouts(decoder)}
        stream = decoder.stream(datagram.exporter, datagram.port, 10, struct.unpack_from(">I", datagram.payload, 12)[0])
        assert stream is not None
        length = struct.unpack_from(">H", datagram.payload, 2)[0]
        got = NATIVE.gather(datagram.payload, 16, length, 10, stream.templates, NOW, 7200.0, sink_groups, 0)
        if got > 0:
            taken += 1
            gathered = sum(len(g.records) for g in sink_groups.values())
            counts = sum(int(np.frombuffer(g.sets, np.int64).reshape(-1, 3)[:, 0].sum()) for g in sink_groups.values())
            assert counts == got
            assert gathered == sum(
                len(g.records) // layout.record_length * layout.record_length for layout, g in sink_groups.items()
            )
    assert taken > len(datagrams) // 2


class _Recorder:
    def __init__(self) -> None:
        self.records = bytearray()
        self.sets = bytearray()


def _layouts(decoder: FlowDecoder) -> list[Any]:
    return [
        active.layout
        for stream in decoder.registry.streams.values()
        for active in stream.templates.values()
        if active.layout is not None
    ]


@FUZZ
@given(
    real=st.lists(st.sampled_from(corpus()), max_size=6),
    payloads=st.lists(mutated(), min_size=1, max_size=8),
    batch=st.sampled_from([1, 3, 64]),
    options=st.booleans(),
)
def test_mutated_datagrams_decode_identically(
    real: list[bytes], payloads: list[bytes], batch: int, options: bool
) -> None:
    _run_both([Datagram(p, "192.0.2.97", 9995) for p in real + payloads], batch, options=options)


@pytest.mark.parametrize("options", [True, False])
def test_many_mangled_softflowd_datagrams_decode_identically(options: bool) -> None:
    """Thousands of mangled datagrams after valid templates: the C path meets damaged sets of
    known templates, damaged re-announcements and damaged options data far more often than
    random input does."""
    rng = random.Random(5)
    base = list(softflowd_datagrams("ipfix")) + list(softflowd_datagrams("v9"))
    datagrams = list(base)
    for _ in range(3000):
        payload = bytearray(rng.choice(base).payload)
        for _ in range(rng.randint(1, 3)):
            if not payload:
                break
            at = rng.randrange(len(payload))
            if rng.random() < 0.5:
                payload[at] ^= 1 << rng.randrange(8)
            else:
                del payload[at:]
        datagrams.append(Datagram(bytes(payload), base[0].exporter, base[0].port))
    assert _run_both(datagrams, 64, options=options) > 0


@pytest.mark.parametrize(("start", "end"), [(-1, 10), (10, 5), (0, 10_000)])
def test_gather_and_framing_refuse_ranges_outside_the_payload(start: int, end: int) -> None:
    assert NATIVE is not None
    payload = bytes(100)
    with pytest.raises(ValueError, match="outside"):
        NATIVE.framing_ok(payload, start, end)
    with pytest.raises(ValueError, match="outside"):
        NATIVE.gather(payload, start, end, 10, {}, NOW, 1.0, {}, 0)


def test_gather_declines_unknown_templates_and_template_sets() -> None:
    assert NATIVE is not None
    data_set = struct.pack(">HH", 300, 8) + bytes(4)
    template_set = struct.pack(">HH", 2, 8) + struct.pack(">HH", 300, 1)
    assert NATIVE.gather(data_set, 0, len(data_set), 10, {}, NOW, 1.0, {}, 0) == -1
    assert NATIVE.gather(template_set, 0, len(template_set), 10, {}, NOW, 1.0, {}, 0) == -1
    # Reserved set ids are skipped, zero fill ends the sets, anything else malformed declines.
    reserved = struct.pack(">HH", 7, 8) + bytes(4) + bytes(6)
    assert NATIVE.gather(reserved, 0, len(reserved), 10, {}, NOW, 1.0, {}, 0) == 0
    assert NATIVE.framing_ok(reserved, 0, len(reserved))
    broken = struct.pack(">HH", 7, 2) + b"\x01"
    assert NATIVE.gather(broken, 0, len(broken), 10, {}, NOW, 1.0, {}, 0) == -1
    assert not NATIVE.framing_ok(broken, 0, len(broken))


def _address_cases() -> list[bytes]:
    rng = random.Random(11)
    cases = [bytes(16), bytes(15) + b"\x01", b"\x00" * 10 + b"\xff\xff" + bytes(4), b"\xff" * 16]
    cases += [b"\x00" * 10 + b"\xff\xff" + bytes([a, b, c, d]) for a, b, c, d in [(1, 2, 3, 4), (255, 0, 10, 99)]]
    for _ in range(3000):
        hextets = [rng.choice([0, 0, 0, 1, 0xFFFF, rng.randrange(65536)]) for _ in range(8)]
        cases.append(struct.pack(">8H", *hextets))
    cases += [ipaddress.ip_address(t).packed for t in ("::1", "1::", "1:0:0:2:0:0:0:3", "fe80::1:0:0:1", "::ffff:0:1")]
    return cases


def test_address_texts_match_address_text() -> None:
    assert NATIVE is not None
    cases = _address_cases()
    offsets_raw, data = NATIVE.address_texts(b"".join(cases))
    offsets = np.frombuffer(offsets_raw, dtype=np.int32)
    texts = [data[offsets[i] : offsets[i + 1]].decode() for i in range(len(cases))]
    assert texts == [address_text(c) for c in cases]


def test_address_texts_refuse_a_partial_address() -> None:
    assert NATIVE is not None
    with pytest.raises(ValueError, match="16 bytes"):
        NATIVE.address_texts(bytes(17))
    offsets, data = NATIVE.address_texts(b"")
    assert np.frombuffer(offsets, np.int32).tolist() == [0]
    assert data == b""
