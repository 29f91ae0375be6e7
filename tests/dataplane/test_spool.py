"""The receive spool: what is appended reads back the same, in order, at increasing positions;
a record torn by a crash is cut when the spool is opened again."""

from __future__ import annotations

from pathlib import Path

from cenflow.collector.spool import Spool

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
