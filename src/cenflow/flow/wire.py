"""Wire formats of NetFlow v9 (RFC 3954) and IPFIX (RFC 7011): headers, sets, template records.

Pure functions over bytes.  Anything that does not fit raises `MalformedError`; the decoder
counts and drops the datagram.  Tolerated on purpose, because real exporters do it:

* zero bytes after the last set (Palo Alto pads a 1,400-byte datagram; Cisco pads templates);
* a v9 header `count` that disagrees with the records present (Cisco WLC): it is ignored;
* set padding: a data set holds `(length - 4) // record_length` records and the rest is ignored;
* template ids below 256 inside a template set are taken as the start of padding.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import NamedTuple

from cenflow.flow.elements import VARIABLE_LENGTH
from cenflow.flow.templates import FieldSpec

V9_HEADER = struct.Struct(">HHIIII")  # version, count, sysUptime, unix_secs, sequence, source_id
IPFIX_HEADER = struct.Struct(">HHIII")  # version, length, exportTime, sequence, domain
SET_HEADER = struct.Struct(">HH")
FIELD = struct.Struct(">HH")
U16 = struct.Struct(">H")
U32 = struct.Struct(">I")

V9_TEMPLATE_SET, V9_OPTIONS_SET = 0, 1
IPFIX_TEMPLATE_SET, IPFIX_OPTIONS_SET = 2, 3
MIN_DATA_SET_ID = 256


class MalformedError(ValueError):
    """The datagram cannot be parsed; it is dropped and counted."""


class TemplateDefinition(NamedTuple):
    template_id: int
    fields: tuple[FieldSpec, ...]  # empty for an IPFIX withdrawal
    scope_field_count: int
    # The set id (2 bytes, big-endian) then the record's bytes as sent: equal `wire` bytes parse
    # to an equal definition, which lets the C decoder recognise a re-announcement by comparing
    # bytes (see `ActiveTemplate.wire`).  Empty for a withdrawal.
    wire: bytes = b""


def split_sets(buf: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(set id, body start, body end) of every set between `start` and `end`."""
    sets: list[tuple[int, int, int]] = []
    offset = start
    while end - offset >= 4:
        set_id, length = SET_HEADER.unpack_from(buf, offset)
        if length < 4:
            if not any(buf[offset:end]):
                break  # zero fill after the last set
            raise MalformedError(f"set length {length} at offset {offset}")
        if offset + length > end:
            raise MalformedError(f"set {set_id} of {length} bytes overruns the message")
        sets.append((set_id, offset + 4, offset + length))
        offset += length
    return sets


def _field_list(buf: bytes, offset: int, end: int, count: int, enterprise_bit: bool) -> tuple[list[FieldSpec], int]:
    fields: list[FieldSpec] = []
    for _ in range(count):
        if offset + 4 > end:
            raise MalformedError("template record truncated")
        element_id, length = FIELD.unpack_from(buf, offset)
        offset += 4
        enterprise = 0
        if enterprise_bit and element_id & 0x8000:
            if offset + 4 > end:
                raise MalformedError("enterprise number truncated")
            (enterprise,) = U32.unpack_from(buf, offset)
            offset += 4
            element_id &= 0x7FFF
        fields.append(FieldSpec(element_id, length, enterprise))
    return fields, offset


def parse_template_set(buf: bytes, start: int, end: int, version: int) -> list[TemplateDefinition]:
    """Template records of a v9 FlowSet 0 or IPFIX Set 2."""
    out: list[TemplateDefinition] = []
    offset = start
    ipfix = version == 10
    prefix = U16.pack(IPFIX_TEMPLATE_SET if ipfix else V9_TEMPLATE_SET)
    while end - offset >= 4:
        record = offset
        template_id, count = FIELD.unpack_from(buf, offset)
        offset += 4
        if ipfix and count == 0 and (template_id == IPFIX_TEMPLATE_SET or template_id >= MIN_DATA_SET_ID):
            out.append(TemplateDefinition(template_id, (), 0))  # withdrawal (RFC 7011 §8.1)
            continue
        if template_id < MIN_DATA_SET_ID:
            break  # padding
        fields, offset = _field_list(buf, offset, end, count, ipfix)
        if count:
            out.append(TemplateDefinition(template_id, tuple(fields), 0, prefix + bytes(buf[record:offset])))
    return out


def parse_options_template_set(buf: bytes, start: int, end: int, version: int) -> list[TemplateDefinition]:
    """Options template records of a v9 FlowSet 1 or IPFIX Set 3."""
    out: list[TemplateDefinition] = []
    offset = start
    if version == 9:
        prefix = U16.pack(V9_OPTIONS_SET)
        while end - offset >= 6:
            record = offset
            template_id, scope_bytes, option_bytes = struct.unpack_from(">HHH", buf, offset)
            offset += 6
            if template_id < MIN_DATA_SET_ID:
                break
            if scope_bytes % 4 or option_bytes % 4:
                raise MalformedError("v9 options template lengths not multiples of 4")
            scope_count = scope_bytes // 4
            fields, offset = _field_list(buf, offset, end, scope_count + option_bytes // 4, False)
            out.append(TemplateDefinition(template_id, tuple(fields), scope_count, prefix + bytes(buf[record:offset])))
        return out
    prefix = U16.pack(IPFIX_OPTIONS_SET)
    while end - offset >= 4:
        record = offset
        template_id, count = FIELD.unpack_from(buf, offset)
        offset += 4
        if count == 0 and (template_id == IPFIX_OPTIONS_SET or template_id >= MIN_DATA_SET_ID):
            out.append(TemplateDefinition(template_id, (), 0))
            continue
        if template_id < MIN_DATA_SET_ID or end - offset < 2:
            break
        (scope_count,) = U16.unpack_from(buf, offset)
        offset += 2
        if scope_count == 0 or scope_count > count:
            raise MalformedError(f"options template {template_id}: scope count {scope_count} of {count}")
        fields, offset = _field_list(buf, offset, end, count, True)
        out.append(TemplateDefinition(template_id, tuple(fields), scope_count, prefix + bytes(buf[record:offset])))
    return out


@lru_cache(maxsize=512)
def _parse_definitions(body: bytes, version: int, options: bool) -> tuple[TemplateDefinition, ...]:
    parse = parse_options_template_set if options else parse_template_set
    return tuple(parse(body, 0, len(body), version))


def parse_definitions(buf: bytes, start: int, end: int, version: int, options: bool) -> tuple[TemplateDefinition, ...]:
    """(Options) template records of a set.  Exporters re-send the same template sets over and
    over, so small ones are parsed once and remembered by their bytes."""
    if end - start <= 4096:
        return _parse_definitions(bytes(buf[start:end]), version, options)
    parse = parse_options_template_set if options else parse_template_set
    return tuple(parse(buf, start, end, version))


def split_record(
    fields: tuple[FieldSpec, ...], buf: bytes | memoryview, offset: int, end: int
) -> tuple[list[bytes], int]:
    """Raw bytes of each field of the record at `offset`; raises MalformedError if cut short."""
    values: list[bytes] = []
    for field in fields:
        length = field.length
        if length == VARIABLE_LENGTH:
            if offset >= end:
                raise MalformedError("variable-length field truncated")
            length = buf[offset]
            offset += 1
            if length == 255:
                if offset + 2 > end:
                    raise MalformedError("variable-length field truncated")
                (length,) = U16.unpack_from(buf, offset)
                offset += 2
        if offset + length > end:
            raise MalformedError("record truncated")
        values.append(bytes(buf[offset : offset + length]))
        offset += length
    return values, offset
