"""Fuzzing: random and mutated datagrams never raise out of the decoder, and its buffers stay
within their caps while it keeps the state of earlier (valid or mangled) datagrams."""

from __future__ import annotations

import struct
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cenflow.flow import COLUMNS, Datagram, DecoderConfig, FlowDecoder
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
