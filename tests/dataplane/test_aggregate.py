"""Window aggregation: the C hash pass (`_speedups.aggregate`) and the numpy sort
(`windows.aggregate_sorted`) give the same rows (one per distinct key, packets and bytes summed
modulo 2**64, TCP flags OR'd); only their order differs, and it carries no meaning."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cenflow.collector import windows
from cenflow.collector.windows import KEY, KEY_BYTES, Aggregate
from cenflow.flow.speedups import NATIVE


def _rows(result: Aggregate) -> list[tuple[bytes, int, int, int]]:
    keys = result.keys.view(KEY_BYTES)
    return sorted(
        (keys[i].tobytes(), int(result.packets[i]), int(result.bytes[i]), int(result.tcp_flags[i]))
        for i in range(len(result))
    )


def _expected(
    keys: npt.NDArray[np.void], packets: list[int], octets: list[int], flags: list[int]
) -> list[tuple[bytes, int, int, int]]:
    sums: dict[bytes, list[int]] = {}
    for i, key in enumerate(keys.view(KEY_BYTES)):
        entry = sums.setdefault(key.tobytes(), [0, 0, 0])
        entry[0] = (entry[0] + packets[i]) % 2**64
        entry[1] = (entry[1] + octets[i]) % 2**64
        entry[2] |= flags[i]
    return sorted((key, p, o, f) for key, (p, o, f) in sums.items())


def _parts(seed: int, rows: int, distinct: int, pieces: int) -> list[Aggregate]:
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, size=(distinct, KEY.itemsize), dtype=np.uint8).view(KEY).reshape(distinct)
    keys = pool[rng.integers(0, distinct, rows)]
    packets = rng.integers(0, 2**64, rows, dtype=np.uint64, endpoint=False)
    octets = rng.integers(0, 2**64, rows, dtype=np.uint64, endpoint=False)
    flags = rng.integers(0, 2**16, rows, dtype=np.uint16, endpoint=False)
    cuts = np.linspace(0, rows, pieces + 1).astype(int)
    return [Aggregate(keys[a:b], packets[a:b], octets[a:b], flags[a:b]) for a, b in itertools.pairwise(cuts)]


def _concatenated(parts: list[Aggregate]) -> tuple[npt.NDArray[np.void], list[int], list[int], list[int]]:
    keys = np.concatenate([p.keys for p in parts])
    return (
        keys,
        np.concatenate([p.packets for p in parts]).tolist(),
        np.concatenate([p.bytes for p in parts]).tolist(),
        np.concatenate([p.tcp_flags for p in parts]).tolist(),
    )


@pytest.mark.parametrize(("rows", "distinct", "pieces"), [(0, 1, 1), (1, 1, 1), (5000, 50, 7), (20000, 20000, 3)])
def test_both_paths_sum_every_distinct_key(rows: int, distinct: int, pieces: int) -> None:
    assert NATIVE is not None
    parts = _parts(rows, rows, distinct, pieces)
    expected = _expected(*_concatenated(parts))
    native = windows.aggregate(parts)
    assert native.keys.dtype == KEY
    assert _rows(native) == expected
    keys, packets, octets, flags = _concatenated(parts)
    reference = windows.aggregate_sorted(
        keys, np.array(packets, np.uint64), np.array(octets, np.uint64), np.array(flags, np.uint16)
    )
    assert _rows(reference) == expected


def test_the_sorted_path_survives_digest_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = _parts(1, 3000, 40, 2)
    monkeypatch.setattr(windows, "_digests", lambda keys: np.zeros(keys.shape[0], dtype=np.uint64))
    keys, packets, octets, flags = _concatenated(parts)
    reference = windows.aggregate_sorted(
        keys, np.array(packets, np.uint64), np.array(octets, np.uint64), np.array(flags, np.uint16)
    )
    assert _rows(reference) == _expected(keys, packets, octets, flags)


def test_the_native_path_keeps_first_appearance_order() -> None:
    parts = _parts(2, 1000, 30, 1)
    result = windows.aggregate(parts)
    keys = parts[0].keys.view(KEY_BYTES)
    firsts = sorted({k.tobytes(): i for i, k in reversed(list(enumerate(keys)))}.items(), key=lambda item: item[1])
    assert [k.tobytes() for k in result.keys.view(KEY_BYTES)] == [k for k, _ in firsts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2**64 - 1), st.integers(0, 0xFFFF)), max_size=60))
def test_small_inputs_match_a_dict(rows: list[tuple[int, int, int]]) -> None:
    keys = np.zeros(len(rows), dtype=KEY)
    keys["src_port"] = [r[0] for r in rows]
    packets = [r[1] for r in rows]
    flags = [r[2] for r in rows]
    part = Aggregate(keys, np.array(packets, np.uint64), np.array(packets[::-1], np.uint64), np.array(flags, np.uint16))
    assert _rows(windows.aggregate([part])) == _expected(keys, packets, packets[::-1], flags)


def test_aggregate_refuses_mismatched_columns() -> None:
    assert NATIVE is not None
    good = (bytes(KEY.itemsize * 2), bytes(16), bytes(16), bytes(4))
    with pytest.raises(ValueError, match="same rows"):
        NATIVE.aggregate([good, (bytes(KEY.itemsize * 2), bytes(8), bytes(16), bytes(4))], KEY.itemsize)
    with pytest.raises(ValueError, match="positive"):
        NATIVE.aggregate([(b"", b"", b"", b"")], 0)
    with pytest.raises(TypeError, match="tuple"):
        NATIVE.aggregate([good[:3]], KEY.itemsize)  # type: ignore[list-item]


def test_aggregate_reads_the_parts_in_place_and_keeps_first_appearance_order() -> None:
    assert NATIVE is not None
    a, b = bytes([1]) * KEY.itemsize, bytes([2]) * KEY.itemsize
    parts = [
        (a + b, np.array([1, 2], np.uint64), np.array([10, 20], np.uint64), np.array([1, 2], np.uint16)),
        (b"", np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.uint16)),
        (b + a, np.array([3, 4], np.uint64), np.array([30, 40], np.uint64), np.array([4, 8], np.uint16)),
    ]
    keys, packets, octets, flags = NATIVE.aggregate(parts, KEY.itemsize)
    assert bytes(keys) == a + b
    assert np.frombuffer(packets, np.uint64).tolist() == [5, 5]
    assert np.frombuffer(octets, np.uint64).tolist() == [50, 50]
    assert np.frombuffer(flags, np.uint16).tolist() == [9, 6]


def test_a_window_larger_than_the_kept_scratch_memory() -> None:
    """Past 2**20 rows the C pass allocates its own table instead of the scratch it keeps."""
    parts = _parts(3, (1 << 20) + 5, 1000, 2)
    keys, packets, octets, flags = (
        np.concatenate([getattr(p, name) for p in parts]) for name in ("keys", "packets", "bytes", "tcp_flags")
    )
    native = windows.aggregate(parts)
    reference = windows.aggregate_sorted(keys, packets, octets, flags)
    assert len(native) == len(reference) == 1000
    assert _rows(native) == _rows(reference)
