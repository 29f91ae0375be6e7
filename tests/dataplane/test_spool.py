"""The receive spool: what is appended reads back the same, in order, at increasing positions;
a record torn by a crash is cut when the spool is opened again."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

import pytest

from cenflow.collector import spool as spool_module
from cenflow.collector.spool import Spool
from cenflow.collector.topology import exporter_address
from cenflow.flow.speedups import NATIVE

EXPORTER = bytes(10) + b"\xff\xff" + bytes([127, 0, 0, 1])


def _items(count: int, size: int) -> list[tuple[bytes, bytes, int, float]]:
    return [(bytes([i % 251]) * (size + i), EXPORTER, 2055 + i, 1_700_000_000.25 + i) for i in range(count)]


def test_appended_datagrams_read_back_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = spool.append(_items(3, 10))
    second = spool.append(_items(2, 100))

    read = list(spool.read_from(first))

    assert [(r.payload, r.exporter, r.port, r.received) for r in read] == _items(3, 10) + _items(2, 100)
    assert read[0].position == first
    assert read[3].position == second
    assert [r.position for r in spool.read_from(second)] == [second, read[4].position]
    assert read[-1].position < spool.end


def test_a_torn_last_record_is_cut_at_the_next_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(_items(2, 10))
    spool.close()
    (segment,) = tmp_path.glob("*.spool")
    with segment.open("ab") as handle:
        handle.write(b"\x40\x00\x00\x00partial")

    reopened = Spool(tmp_path)

    assert [r.payload for r in reopened.read_from(0)] == [item[0] for item in _items(2, 10)]
    assert reopened.end == segment.stat().st_size


def _received(hosts: list[str]) -> list[tuple[bytes, str, int, float]]:
    return [
        (bytes([i % 251]) * (i * 37 % 1500), host, i * 997 % 65536, 1_700_000_000.125 + i)
        for i, host in enumerate(hosts)
    ]


HOSTS = ["127.0.0.1", "127.0.0.1", "2001:db8::7", "192.0.2.1", "192.0.2.1", "127.0.0.1"]


@pytest.mark.parametrize("native", [True, False])
def test_received_datagrams_are_spooled_as_append_spools_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: bool
) -> None:
    """`append_received` (in C, or in Python without the extension) writes exactly the records
    `append` writes, exporter addresses as `exporter_address` gives them, whichever host comes
    when."""
    if not native:
        monkeypatch.setattr(spool_module, "NATIVE", None)
    received = _received(HOSTS * 20)
    by_items, by_received = Spool(tmp_path / "items"), Spool(tmp_path / "received")

    by_items.append([(payload, exporter_address(host), port, when) for payload, host, port, when in received])
    by_received.append_received(received, exporter_address)

    (expected,), (written,) = (tmp_path / "items").glob("*.spool"), (tmp_path / "received").glob("*.spool")
    assert written.read_bytes() == expected.read_bytes()
    read = list(by_received.read_from(0))
    assert [(r.payload, r.port, r.received) for r in read] == [(p, port, when) for p, _, port, when in received]
    assert read[2].exporter == ipaddress.ip_address("2001:db8::7").packed


def test_the_c_records_match_the_python_header() -> None:
    assert NATIVE is not None
    received = _received(HOSTS)
    expected = b"".join(
        struct.pack("<IdH16s", len(payload), when, port, exporter_address(host)) + payload
        for payload, host, port, when in received
    )
    assert NATIVE.spool_records(received, exporter_address) == expected
    assert NATIVE.spool_records([], exporter_address) == b""


@pytest.mark.parametrize(
    ("received", "address16", "error"),
    [
        ([(b"x", "127.0.0.1", 70_000, 1.0)], exporter_address, OverflowError),
        ([(b"x", "127.0.0.1", -1, 1.0)], exporter_address, OverflowError),
        ([(b"x", "127.0.0.1", 1, "soon")], exporter_address, TypeError),
        ([(b"x", "127.0.0.1", 1)], exporter_address, TypeError),
        ([("x", "127.0.0.1", 1, 1.0)], exporter_address, TypeError),
        ([(b"x", "127.0.0.1", 1, 1.0)], lambda host: b"short", ValueError),
        ([(b"x", "not an address", 1, 1.0)], exporter_address, ValueError),
    ],
)
def test_the_c_records_refuse_bad_items(received: list[Any], address16: Any, error: type[Exception]) -> None:
    assert NATIVE is not None
    with pytest.raises(error):
        NATIVE.spool_records(received, address16)
