"""Template compilation: which bytes of a record feed which output column.

A fixed-length template compiles to a numpy structured dtype that names only the fields the
normaliser needs ("roles") at their offsets, with `itemsize` = record length; the decoder then
reads every record of every data set of that layout with one `np.frombuffer`.  Layouts are cached
by field list, so all exporters sending the same template share one layout and one batch.

A template with variable-length fields cannot be a dtype.  Its `VarLenPlan` walks each record in
Python, copies the fixed-length fields into a contiguous buffer and skips the variable ones; that
buffer has the fixed layout of the template minus its variable-length fields, so the same
vectorised normaliser finishes the job.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cenflow.flow.elements import VARIABLE_LENGTH
from cenflow.flow.templates import FieldSpec

# Role -> candidate IANA element ids, most preferred first.  Only the first candidate present in
# a template is used; e.g. octetDeltaCount wins over v9 OUT_BYTES, which wins over total counters.
ROLE_CANDIDATES: dict[str, tuple[int, ...]] = {
    "src4": (8,),
    "dst4": (12,),
    "src6": (27,),
    "dst6": (28,),
    "src_port": (7, 180, 182),
    "dst_port": (11, 181, 183),
    "protocol": (4,),
    "tcp_flags": (6,),
    "ip_version": (60,),
    # 231/298 are initiator counters (Cisco ASA); 85/86 total counters, used as-is only when no
    # delta exists (YAF, ASA send one record per flow, so the total is that flow's count; running
    # totals would need differencing per flow key, which is left to aggregation).
    "bytes": (1, 231, 85),
    "packets": (2, 298, 86),
    # v9 OUT_BYTES/OUT_PKTS (IPFIX post*DeltaCount): egress accounting.  Templates carrying both
    # fill one side per record, so the normaliser takes them where the IN counter is zero.
    "post_bytes": (23,),
    "post_packets": (24,),
    "input_if": (10, 252),
    "output_if": (14, 253),
    "direction": (61,),
    "icmp_type_code": (32, 139),
    "icmp_type": (176, 178),
    "icmp_code": (177, 179),
    "start_ms": (152,),
    "end_ms": (153, 323),
    "start_s": (150,),
    "end_s": (151,),
    "start_ntp": (154, 156),
    "end_ntp": (155, 157),
    "start_delta_us": (158,),
    "end_delta_us": (159,),
    "start_uptime": (22,),
    "end_uptime": (21,),
    "system_init_ms": (160,),
    "duration_ms": (161,),
    "sampling_interval": (34, 50, 305),
    "sampler_id": (48, 302),
}

_ADDRESS_WIDTH = {"src4": 4, "dst4": 4, "src6": 16, "dst6": 16}
_EXACT_WIDTH = {"start_ntp": 8, "end_ntp": 8}


@dataclass(frozen=True, eq=False, slots=True)
class RecordLayout:
    """How to view records of one template as a numpy structured array."""

    record_length: int
    dtype: np.dtype  # structured; field names are role names
    widths: dict[str, int]  # role -> width in bytes, for the roles present


def _role_format(role: str, width: int) -> str | tuple[str, tuple[int]] | None:
    if role in _ADDRESS_WIDTH:
        if width != _ADDRESS_WIDTH[role]:
            return None  # a mis-sized address is ignored rather than guessed at
        return ">u4" if width == 4 else "V16"
    if role in _EXACT_WIDTH and width != _EXACT_WIDTH[role]:
        return None
    if width in (1, 2, 4, 8):
        return "u1" if width == 1 else f">u{width}"
    if 0 < width < 8:
        return ("u1", (width,))  # reduced-size integer of an odd width, combined in `uint_column`
    return None


def _layout_for(fields: tuple[FieldSpec, ...]) -> RecordLayout:
    offsets: dict[int, tuple[int, int]] = {}  # element id -> (offset, width), first occurrence
    offset = 0
    for field in fields:
        if field.enterprise == 0 and field.element_id not in offsets:
            offsets[field.element_id] = (offset, field.length)
        offset += field.length
    names: list[str] = []
    formats: list[str | tuple[str, tuple[int]]] = []
    positions: list[int] = []
    widths: dict[str, int] = {}
    for role, candidates in ROLE_CANDIDATES.items():
        for element_id in candidates:
            if element_id not in offsets:
                continue
            at, width = offsets[element_id]
            fmt = _role_format(role, width)
            if fmt is None:
                continue
            names.append(role)
            formats.append(fmt)
            positions.append(at)
            widths[role] = width
            break
    dtype = np.dtype({"names": names, "formats": formats, "offsets": positions, "itemsize": max(offset, 1)})
    return RecordLayout(record_length=offset, dtype=dtype, widths=widths)


@lru_cache(maxsize=4096)
def compile_layout(fields: tuple[FieldSpec, ...]) -> RecordLayout:
    """Layout of a fixed-length template (all lengths < 65535)."""
    return _layout_for(fields)


@dataclass(frozen=True, eq=False, slots=True)
class VarLenPlan:
    """Per-record walk of a template with variable-length fields.

    `steps` alternates fixed runs (a positive byte count, copied) and -1 (one variable-length
    field, skipped); `layout` describes the concatenated fixed runs.
    """

    steps: tuple[int, ...]
    layout: RecordLayout
    min_record_length: int

    def compact(self, body: memoryview | bytes, max_records: int = 1 << 16) -> tuple[bytes, int]:
        """Copy the fixed parts of every complete record in `body`; return (buffer, records).

        A record cut short by the end of the set is dropped (it is padding or truncation).
        """
        out = bytearray()
        records = 0
        end = len(body)
        off = 0
        steps = self.steps
        unpack_short = struct.Struct(">H").unpack_from
        while records < max_records and end - off >= self.min_record_length and self.min_record_length > 0:
            start = off
            chunk_start = len(out)
            ok = True
            for step in steps:
                if step > 0:
                    if off + step > end:
                        ok = False
                        break
                    out += body[off : off + step]
                    off += step
                else:
                    if off >= end:
                        ok = False
                        break
                    size = body[off]
                    off += 1
                    if size == 255:
                        if off + 2 > end:
                            ok = False
                            break
                        (size,) = unpack_short(body, off)
                        off += 2
                    off += size
                    if off > end:
                        ok = False
                        break
            if not ok or off == start:
                del out[chunk_start:]
                break
            records += 1
        return bytes(out), records


@lru_cache(maxsize=1024)
def compile_varlen_plan(fields: tuple[FieldSpec, ...]) -> VarLenPlan:
    steps: list[int] = []
    for field in fields:
        if field.length == VARIABLE_LENGTH:
            steps.append(-1)
        elif field.length > 0:
            if steps and steps[-1] > 0:
                steps[-1] += field.length
            else:
                steps.append(field.length)
    fixed_only = tuple(f for f in fields if f.length != VARIABLE_LENGTH)
    min_length = sum(1 if f.length == VARIABLE_LENGTH else f.length for f in fields)
    return VarLenPlan(steps=tuple(steps), layout=_layout_for(fixed_only), min_record_length=min_length)
