"""Declarative parameter tables: one per operation, driving parsing and validation.

A table lists each parameter with its wire name, type, whether it is required and its limits.
:func:`OperationSpec.parse` turns the flat wire parameters (``Tag.1.Key``, ``Filter.2.Value.3``)
into typed Python values or raises the documented error.  Handlers read the result through
:class:`Args`, whose getters are typed for mypy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cenflow.errors import ApiError, ErrorSpec
from cenflow.wire.errors import INVALID_PARAMETER, MISSING_OPERATION_PARAMETER

# ASCII digits only: ``\d`` and ``str.isdigit`` also take other scripts' digits (and "²").
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_INDEX = re.compile(r"[1-9][0-9]{0,4}")  # 1-based, no leading zero: "Tag.01" must not alias "Tag.1"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # the wire type of integer parameters
MAX_INDEX = 10_000
MAX_VALUE_LENGTH = 65_536


@dataclass(frozen=True)
class Param:
    """A scalar parameter.  ``kind`` is one of ``string``, ``integer``, ``boolean``, ``json``."""

    name: str
    kind: str = "string"
    required: bool = False
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Any, ...] | None = None
    pattern: str | None = None
    ascii_only: bool = False
    invalid: ErrorSpec | None = None
    missing: ErrorSpec | None = None

    def fail(self, detail: str) -> ApiError:
        spec = self.invalid or INVALID_PARAMETER
        return spec(detail, name=self.name)

    def convert(self, raw: str) -> Any:
        if len(raw) > MAX_VALUE_LENGTH:
            raise self.fail(f"The value is longer than {MAX_VALUE_LENGTH} characters.")
        value: Any
        if self.kind == "string":
            value = raw
            if self.ascii_only and not raw.isascii():
                raise self.fail("The value must be ASCII.")
            if self.min_length is not None and len(raw) < self.min_length:
                raise self.fail(f"The value must be at least {self.min_length} characters long.")
            if self.max_length is not None and len(raw) > self.max_length:
                raise self.fail(f"The value must be at most {self.max_length} characters long.")
            if self.pattern is not None and not re.fullmatch(self.pattern, raw):
                raise self.fail("The value does not have the required format.")
        elif self.kind == "integer":
            text = raw.strip()
            if not _INTEGER.fullmatch(text):
                raise self.fail(f'The value "{_clip(raw)}" is not an integer.')
            value = int(text)
            if not INT64_MIN <= value <= INT64_MAX:
                raise self.fail(f'The value "{_clip(raw)}" is out of the 64-bit integer range.')
            if self.minimum is not None and value < self.minimum:
                raise self.fail(f"The value must be at least {self.minimum}.")
            if self.maximum is not None and value > self.maximum:
                raise self.fail(f"The value must be at most {self.maximum}.")
        elif self.kind == "boolean":
            lowered = raw.strip().lower()
            if lowered not in ("true", "false"):
                raise self.fail(f'The value "{_clip(raw)}" is not a boolean (true or false).')
            value = lowered == "true"
        elif self.kind == "json":
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                raise self.fail("The value is not valid JSON.") from exc
        else:  # pragma: no cover - a table bug, caught by the spec tests
            raise AssertionError(f"unknown parameter kind {self.kind!r}")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise self.fail(f"Allowed values: {allowed}.")
        return value

    def extract(self, flat: Mapping[str, str]) -> Any:
        raw = flat.get(self.name)
        if raw is None:
            if self.required:
                raise (self.missing or MISSING_OPERATION_PARAMETER)(name=self.name)
            return self.default
        if raw == "" and self.required and self.kind == "string":
            raise (self.missing or MISSING_OPERATION_PARAMETER)(name=self.name)
        if raw == "" and self.kind != "string":
            # Empty numbers and flags are what some SDKs send for "unset".
            return self.default
        return self.convert(raw)


@dataclass(frozen=True)
class ListParam:
    """``Name.N`` (``item`` is a :class:`Param`) or ``Name.N.Field`` (``fields`` given).

    Indices are 1-based and may be sparse; items come back ordered by index.
    """

    name: str
    item: Param | None = None
    fields: tuple[Param | ListParam, ...] = ()
    required: bool = False
    max_items: int | None = None
    too_many: ErrorSpec | None = None
    missing: ErrorSpec | None = None

    def extract(self, flat: Mapping[str, str]) -> Any:
        prefix = f"{self.name}."
        grouped: dict[int, dict[str, str]] = {}
        for key, value in flat.items():
            if not key.startswith(prefix):
                continue
            index_text, _, rest = key[len(prefix) :].partition(".")
            if not _INDEX.fullmatch(index_text) or int(index_text) > MAX_INDEX:
                raise INVALID_PARAMETER(
                    f'"{_clip(key)}" does not have a list index between 1 and {MAX_INDEX}.', name=self.name
                )
            index = int(index_text)
            if self.fields and not rest:
                raise INVALID_PARAMETER(f'"{key}" must name a field, as {self.name}.N.Field.', name=self.name)
            if not self.fields and rest:
                raise INVALID_PARAMETER(f'"{_clip(key)}" is not of the form {self.name}.N.', name=self.name)
            grouped.setdefault(index, {})[rest] = value
        if self.name in flat and flat[self.name] != "":
            raise INVALID_PARAMETER(
                f"{self.name} is a list: send it as {self.name}.1, {self.name}.2, ...", name=self.name
            )
        if not grouped:
            if self.required:
                raise (self.missing or MISSING_OPERATION_PARAMETER)(name=self.name)
            return []
        if self.max_items is not None and len(grouped) > self.max_items:
            raise (self.too_many or INVALID_PARAMETER)(f"At most {self.max_items} items are allowed.", name=self.name)
        items: list[Any] = []
        for index in sorted(grouped):
            entry = grouped[index]
            if self.item is not None:
                items.append(self.item.convert(entry[""]))
            else:
                items.append({f.name: f.extract(entry) for f in self.fields})
        return items


def tag_list(
    name: str = "Tag",
    *,
    max_items: int = 20,
    key_required: bool = False,
    value_required: bool = False,
    too_many: ErrorSpec | None = None,
    required: bool = False,
) -> ListParam:
    """The ubiquitous ``Tag.N.Key`` / ``Tag.N.Value`` list."""
    return ListParam(
        name,
        fields=(Param("Key", required=key_required), Param("Value", required=value_required)),
        max_items=max_items,
        too_many=too_many,
        required=required,
    )


@dataclass(frozen=True)
class OperationSpec:
    """The parameter table of one operation."""

    params: tuple[Param | ListParam, ...] = ()
    checks: tuple[Callable[[dict[str, Any]], None], ...] = field(default=())

    def parse(self, flat: Mapping[str, str]) -> Args:
        values = {p.name: p.extract(flat) for p in self.params}
        for check in self.checks:
            check(values)
        return Args(values)

    def names(self) -> Iterable[str]:
        return (p.name for p in self.params)


class Args:
    """Validated parameters with typed getters (the table already checked the types)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __contains__(self, name: str) -> bool:
        return self._values.get(name) not in (None, "", [])

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def text(self, name: str) -> str:
        value = self._values[name]
        assert isinstance(value, str), name
        return value

    def opt_text(self, name: str) -> str | None:
        value = self._values.get(name)
        return value if isinstance(value, str) and value != "" else None

    def number(self, name: str) -> int:
        value = self._values[name]
        assert isinstance(value, int), name
        return value

    def opt_number(self, name: str) -> int | None:
        value = self._values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        return value if isinstance(value, bool) else default

    def items(self, name: str) -> list[Any]:
        value = self._values.get(name)
        return list(value) if isinstance(value, list) else []

    def value(self, name: str) -> Any:
        return self._values.get(name)


def _clip(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
