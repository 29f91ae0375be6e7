"""Fuzzing: random and mutated datagrams never raise out of the decoder, and its buffers stay
within their caps while it keeps the state of earlier (valid or mangled) datagrams."""

from __future__ import annotations

import random
import struct
import tracemalloc
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cenflow.flow import COLUMNS, Datagram, DecoderConfig, FlowDecoder, layout, wire
from tests.flow.samples import VENDORS, require_testdata, softflowd_datagrams, split_messages

CONFIG = DecoderConfig(pending_max_bytes=64 << 10, max_templates=500, max_streams=50)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def corpus() -> tuple[bytes, ...]:
    require_testdata()
    samples = [m for path in sorted(VENDORS.glob("*.dat")) for m in split_messages(path.read_bytes())]
    for version in ("v5", "v9", "ipfix"):
        samples += [d.payload for d in softflowd_datagrams(version)[:6]]
    return tuple(samples)


def check_decoder(decoder: FlowDecoder, datagrams: list[Datagram]) -> None:
    batch = decoder.decode(datagrams, now=1_800_000_000.0)
    decoder.inspect(datagrams, now=1_800_000_000.0)
    lengths = {name: len(batch.flows.column(name)) for name in COLUMNS}
    assert len(set(lengths.values())) == 1, lengths
    counters = decoder.counters
    assert counters.pending_bytes <= CONFIG.pending_max_bytes
    assert counters.templates_active <= CONFIG.max_templates
    assert len(decoder.registry.streams) <= CONFIG.max_streams
    assert all(len(s.sampler_rates) <= 1024 for s in decoder.registry.streams.values())


versions = st.sampled_from([b"\x00\x05", b"\x00\x09", b"\x00\x0a", b""])


@FUZZ
@given(prefix=versions, bodies=st.lists(st.binary(max_size=1500), min_size=1, max_size=4), port=st.integers(0, 3))
def test_random_datagrams_never_raise(prefix: bytes, bodies: list[bytes], port: int) -> None:
    check_decoder(FlowDecoder(config=CONFIG), [Datagram(prefix + body, "192.0.2.99", port) for body in bodies])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(corpus())))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "u16", "truncate", "extend", "splice"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "u16" and len(data) >= 2:
            value = draw(st.sampled_from([0, 1, 3, 4, 255, 256, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF]))
            at = min(at, len(data) - 2)
            data[at : at + 2] = struct.pack(">H", value)
        elif kind == "truncate":
            del data[at:]
        elif kind == "extend":
            data += draw(st.binary(max_size=64))
        else:
            data[at:at] = draw(st.sampled_from(corpus()))[: draw(st.integers(0, 200))]
    return bytes(data)


# Real datagrams first (templates, options), then mangled ones that meet that state.
@FUZZ
@given(
    real=st.lists(st.sampled_from(corpus()), max_size=4),
    payloads=st.lists(mutated(), min_size=1, max_size=6),
    port=st.integers(0, 2),
)
def test_mutated_real_datagrams_never_raise_and_state_stays_bounded(
    real: list[bytes], payloads: list[bytes], port: int
) -> None:
    check_decoder(FlowDecoder(config=CONFIG), [Datagram(p, "192.0.2.98", port) for p in real + payloads])


def _mangle(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(max(1, len(out)))
        kind = rng.choice(("flip", "u16", "truncate", "extend"))
        if kind == "flip" and out:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == "u16" and len(out) >= 2:
            at = min(at, len(out) - 2)
            out[at : at + 2] = struct.pack(">H", rng.choice((0, 1, 4, 256, 0x7FFF, 0xFFFF)))
        elif kind == "truncate":
            del out[at:]
        else:
            out += rng.randbytes(rng.randint(1, 64))
    return bytes(out)


def test_a_long_lived_decoder_fed_mangled_datagrams_from_many_exporters_stays_bounded() -> None:
    """One decoder, as a collector keeps it, meets thousands of valid and mangled datagrams from
    four times more exporters than it may track.  Once its tables are full, feeding as many again
    must not grow its memory: nothing is kept per datagram.  The module-level caches of parsed
    template sets and compiled layouts are bounded LRUs (512/4,096/1,024 entries) that mangled
    templates fill slowly; they are emptied at both measurements so that what is measured is the
    decoder's own state."""
    rng = random.Random(20261204)
    samples = corpus()
    decoder = FlowDecoder(config=CONFIG)

    def feed(rounds: int) -> None:
        for _ in range(rounds):
            datagrams = []
            for _ in range(16):
                exporter = f"192.0.2.{rng.randrange(200)}"
                payload = rng.choice(samples)
                datagrams.append(Datagram(payload if rng.random() < 0.3 else _mangle(rng, payload), exporter, 2055))
            check_decoder(decoder, datagrams)

    def clear_caches() -> None:
        for cached in (wire._parse_definitions, layout.compile_layout, layout.compile_varlen_plan):
            cached.cache_clear()

    def traced() -> int:
        clear_caches()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        feed(250)  # fill the stream, template and pending tables
        full = traced()
        feed(250)
        steady = traced()
        feed(250)
        grown = traced() - steady
    finally:
        tracemalloc.stop()
    assert decoder.counters.datagrams == 750 * 16 * 2  # decode and inspect both count
    assert decoder.counters.decode_errors > 0  # the mangling did reach the parsers
    assert full < 8 << 20, f"the decoder's full tables hold {full:,} bytes"
    assert grown < 512 << 10, f"the decoder grew by {grown:,} bytes over 4,000 more datagrams"
