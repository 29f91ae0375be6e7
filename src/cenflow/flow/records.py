"""The slow per-record path: records as dicts keyed by element name, and options semantics.

Options data is always decoded here (it is rare and small), and so is every record when the
decoder is asked to `inspect` datagrams.  `OptionsEffects` is what the decoder keeps from an
options record: a sampling rate (for one sampler or the whole stream) and the IPFIX exporter boot
time needed to turn flowStart/EndSysUpTime into absolute times.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import NamedTuple

from cenflow.flow.elements import VARIABLE_LENGTH, Kind, Value, element_kind, element_name, render_value
from cenflow.flow.templates import Template

MAX_TIME_MS = 1 << 53
MAX_RATE = 0xFFFFFFFF

# NetFlow v9 options scope field types (RFC 3954 §6.1); not information elements.
V9_SCOPE_NAMES = {1: "scopeSystem", 2: "scopeInterface", 3: "scopeLineCard", 4: "scopeCache", 5: "scopeTemplate"}


@lru_cache(maxsize=1024)
def field_names(template: Template) -> list[tuple[str, Kind | None]]:
    version = template.key.version
    seen: dict[str, int] = {}
    out: list[tuple[str, Kind | None]] = []
    for index, field in enumerate(template.fields):
        kind: Kind | None
        if version == 9 and index < template.scope_field_count:
            name = V9_SCOPE_NAMES.get(field.element_id, f"scope{field.element_id}")
            kind = Kind.UNSIGNED
        else:
            name = element_name(field.element_id, field.enterprise, version)
            kind = element_kind(field.element_id, field.enterprise, version)
            if kind is None and field.length == VARIABLE_LENGTH:
                kind = Kind.OCTETS  # an unknown variable-length element is a string or blob, not a number
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}#{seen[name]}"  # a repeated element keeps every occurrence
        out.append((name, kind))
    return out


def render_record(template: Template, raw: list[bytes]) -> dict[str, Value]:
    return {name: render_value(value, kind) for (name, kind), value in zip(field_names(template), raw, strict=True)}


class OptionsEffects(NamedTuple):
    sampler_id: int | None  # samplerId (48) / selectorId (302), None: applies to the stream
    rate: int | None  # 1-in-N sampling rate
    boot_ms: int | None  # systemInitTimeMilliseconds (160)


def _names_an_element(template: Template, index: int) -> bool:
    """Whether field `index` carries an IANA element id (v9 scope types are not element ids)."""
    field = template.fields[index]
    return not (field.enterprise or (template.key.version == 9 and index < template.scope_field_count))


def _values_by_element(template: Template, raw: list[bytes]) -> dict[int, int]:
    values: dict[int, int] = {}
    for index, (field, value) in enumerate(zip(template.fields, raw, strict=True)):
        if not _names_an_element(template, index):
            continue
        if 0 < len(value) <= 8 and field.element_id not in values:
            values[field.element_id] = int.from_bytes(value, "big")
    return values


def options_effects(template: Template, raw: list[bytes]) -> OptionsEffects:
    values = _values_by_element(template, raw)
    sampler_id = values.get(48, values.get(302))
    rate: int | None = None
    if values.get(34):
        rate = values[34]  # samplingInterval
    elif values.get(50):
        rate = values[50]  # samplerRandomInterval
    elif values.get(305):
        # PSAMP systematic count-based: select `interval` packets, then skip `space`.
        interval = values[305]
        rate = max(1, (interval + values.get(306, 0)) // interval)
    boot_ms = values.get(160) or None
    if boot_ms is not None and boot_ms >= MAX_TIME_MS:
        boot_ms = None  # not a plausible Unix time in ms: ignore rather than overflow later
    if rate is not None:
        rate = min(rate, MAX_RATE)
    return OptionsEffects(sampler_id, rate, boot_ms)


# The elements `options_effects` reads, in the order of `effects_plan`'s slots.
EFFECT_ELEMENTS = (48, 302, 34, 50, 305, 306, 160)
# Record length, then (offset, length) of each element in EFFECT_ELEMENTS (length 0: absent).
EFFECTS_PLAN = struct.Struct(f"={1 + 2 * len(EFFECT_ELEMENTS)}q")


def effects_plan(template: Template) -> bytes | None:
    """Where in a record of a fixed-length options template `options_effects` finds each value
    it uses, packed for the C decoder (`_speedups.decode_run`), which computes the effects of
    such records itself; None for a template with variable-length fields (left to Python).

    The slot of an element is the field `_values_by_element` would take: its first occurrence
    of 1-8 bytes that is neither an enterprise element nor a v9 scope field."""
    if template.variable_length:
        return None
    found: dict[int, tuple[int, int]] = {}
    offset = 0
    for index, field in enumerate(template.fields):
        if _names_an_element(template, index) and 0 < field.length <= 8 and field.element_id not in found:
            found[field.element_id] = (offset, field.length)
        offset += field.length
    slots = [found.get(element, (0, 0)) for element in EFFECT_ELEMENTS]
    return EFFECTS_PLAN.pack(offset, *(value for slot in slots for value in slot))
