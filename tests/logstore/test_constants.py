"""Constant columns handed out as slices of kept arrays equal what `pa.repeat` builds."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cenflow.logstore import constants
from cenflow.logstore.constants import constant_array, constant_dictionary


@pytest.mark.parametrize(
    ("value", "kind"),
    [("acc-1", pa.string()), ("", pa.string()), ("é中", pa.string()), (-3, pa.int64()), (7, pa.int64())],
)
def test_constant_arrays_equal_pa_repeat_whatever_was_asked_before(value: str | int, kind: pa.DataType) -> None:
    for count in (5, 0, 1000, 3, 1000, 2500):  # shorter after longer: slices of a kept array
        built = constant_array(value, kind, count)
        built.validate(full=True)
        assert built.type == kind
        assert built.equals(pa.repeat(pa.scalar(value, kind), count))


def test_distinct_values_do_not_share_arrays() -> None:
    assert constant_array("a", pa.string(), 10).to_pylist() == ["a"] * 10
    assert constant_array("b", pa.string(), 10).to_pylist() == ["b"] * 10


def test_kept_arrays_stay_within_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "KEEP_BYTES", 64 << 10)
    for number in range(200):
        assert constant_array(f"value-{number}", pa.string(), 500).to_pylist()[-1] == f"value-{number}"
    kept = sum(array.nbytes for array in constants._kept.values())
    assert kept == constants._kept_bytes
    assert kept <= 64 << 10


@pytest.mark.parametrize("count", [0, 1, 5000, 3])  # shorter after longer: slices of kept indices
def test_constant_dictionaries_decode_to_the_value(count: int) -> None:
    built = constant_dictionary("acc-1", count)
    built.validate(full=True)
    assert built.type == pa.dictionary(pa.int32(), pa.string())
    assert built.cast(pa.string()).equals(pa.repeat(pa.scalar("acc-1", pa.string()), count))
