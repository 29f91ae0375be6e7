"""Template compilation: numpy layouts for fixed templates, the var-len compaction plan."""

from __future__ import annotations

import numpy as np

from cenflow.flow.layout import compile_layout, compile_varlen_plan
from cenflow.flow.templates import FieldSpec


def specs(*fields: tuple[int, int] | tuple[int, int, int]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(*field) for field in fields)


def test_fixed_layout_names_roles_at_their_offsets_and_spans_the_record() -> None:
    layout = compile_layout(specs((210, 2), (8, 4), (12, 4), (1, 8), (5, 1), (7, 2)))
    assert layout.record_length == 21
    assert layout.dtype.itemsize == 21
    assert layout.dtype.fields is not None
    assert {name: layout.dtype.fields[name][1] for name in ("src4", "dst4", "bytes", "src_port")} == {
        "src4": 2,
        "dst4": 6,
        "bytes": 10,
        "src_port": 19,
    }
    record = bytes(2) + bytes([10, 0, 0, 1]) + bytes(4) + (5).to_bytes(8, "big") + b"\x00" + (80).to_bytes(2, "big")
    view = np.frombuffer(record * 3, dtype=layout.dtype)
    assert view["src_port"].tolist() == [80, 80, 80]
    assert view["bytes"].tolist() == [5, 5, 5]


def test_preferred_candidate_wins_over_template_order() -> None:
    layout = compile_layout(specs((85, 8), (1, 4)))  # total counter first, delta second
    assert layout.dtype.fields is not None
    assert layout.dtype.fields["bytes"][1] == 8  # the delta counter's offset


def test_mis_sized_addresses_and_enterprise_fields_get_no_role() -> None:
    layout = compile_layout(specs((8, 16), (12, 4, 9), (27, 4)))
    assert set(layout.widths) == set()


def test_identical_field_lists_share_one_layout() -> None:
    assert compile_layout(specs((8, 4), (12, 4))) is compile_layout(specs((8, 4), (12, 4)))


def test_varlen_plan_copies_fixed_runs_and_skips_variable_fields() -> None:
    plan = compile_varlen_plan(specs((8, 4), (82, 65535), (12, 4), (2, 4)))
    assert plan.steps == (4, -1, 8)
    assert plan.min_record_length == 13
    record_a = b"AAAA" + b"\x03abc" + b"BBBBCCCC"
    record_b = b"DDDD" + b"\xff\x01\x00" + b"z" * 256 + b"EEEEFFFF"
    compacted, count = plan.compact(record_a + record_b + b"\x00\x00\x00")  # 3 bytes of padding
    assert (compacted, count) == (b"AAAABBBBCCCCDDDDEEEEFFFF", 2)
    assert plan.layout.record_length == 12


def test_varlen_plan_drops_a_record_cut_short() -> None:
    plan = compile_varlen_plan(specs((8, 4), (82, 65535), (12, 4)))
    whole = b"AAAA" + b"\x02xy" + b"BBBB"
    cut = b"CCCC" + b"\x10" + b"only-a-few" + b"DD"
    assert plan.compact(whole + cut) == (b"AAAABBBB", 1)
