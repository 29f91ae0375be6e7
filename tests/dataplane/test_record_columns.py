"""Columns rendered for stored records: addresses (the C path and the numpy path both write what
`cenflow.flow.address_text` writes for one address: dotted quads for IPv4-mapped, RFC 5952)."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from cenflow.collector import records
from cenflow.flow import address_text
from cenflow.flow.speedups import NATIVE


def _cases() -> list[bytes]:
    rng = random.Random(3)
    cases = [bytes(16), bytes(15) + b"\x01", b"\x00" * 10 + b"\xff\xff" + bytes([10, 0, 255, 7])]
    for _ in range(2000):
        if rng.random() < 0.5:
            cases.append(b"\x00" * 10 + b"\xff\xff" + rng.randbytes(4))
        else:
            cases.append(struct.pack(">8H", *(rng.choice([0, 0, 1, 0xFFFF, rng.randrange(65536)]) for _ in range(8))))
    return cases


@pytest.mark.parametrize("path", ["native", "numpy"])
def test_address_texts_match_address_text(path: str) -> None:
    cases = _cases()
    values = np.frombuffer(b"".join(cases), dtype="V16")
    if path == "native":
        assert NATIVE is not None
        rendered = records.address_texts(values)
    else:
        rendered = records.address_texts_numpy(values)
    assert rendered.to_pylist() == [address_text(c) for c in cases]


def test_address_texts_of_a_strided_column() -> None:
    """Key columns are fields of a structured array, not contiguous: both paths copy them first."""
    keys = np.zeros(3, dtype=[("a", "u1"), ("src", "V16")])
    keys["src"] = np.frombuffer(b"\x00" * 10 + b"\xff\xff\x01\x02\x03\x04", dtype="V16")[0]
    assert records.address_texts(keys["src"]).to_pylist() == ["1.2.3.4"] * 3
    assert records.address_texts_numpy(keys["src"]).to_pylist() == ["1.2.3.4"] * 3
