"""The decoder's output: normalised flow records as numpy columns.

Every column has one entry per flow record (options records are reported separately, see
`cenflow.flow.decoder.OptionsRecord`).  Addresses are 16-byte values (`V16`): IPv6 as is, IPv4
as IPv4-mapped IPv6 (``::ffff:a.b.c.d``), with `ip_version` telling which; `address_text`
renders one.  Counters are already multiplied by `sampling_rate`.  Times are absolute Unix
milliseconds computed per protocol (see `cenflow.flow.normalise`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

ADDRESS = np.dtype("V16")
DIRECTION_UNKNOWN = 255

# Column name -> dtype, in the order `to_dicts` lists them.
COLUMNS: dict[str, np.dtype] = {
    "version": np.dtype(np.uint8),  # 5, 9 or 10
    "exporter": ADDRESS,  # exporter address (datagram source)
    "exporter_port": np.dtype(np.uint16),
    "domain": np.dtype(np.uint32),  # IPFIX observation domain, v9 source id, v5 engine type<<8|id
    "template_id": np.dtype(np.uint16),  # 0 for v5
    "ip_version": np.dtype(np.uint8),  # 4 or 6 (0 when the record has no addresses)
    "src_addr": ADDRESS,
    "dst_addr": ADDRESS,
    "src_port": np.dtype(np.uint16),  # 0 for ICMP / ICMPv6
    "dst_port": np.dtype(np.uint16),
    "protocol": np.dtype(np.uint8),
    "tcp_flags": np.dtype(np.uint16),
    "icmp_type_code": np.dtype(np.uint16),  # type << 8 | code for ICMP, else 0
    "packets": np.dtype(np.uint64),  # × sampling_rate
    "bytes": np.dtype(np.uint64),  # × sampling_rate
    "sampling_rate": np.dtype(np.uint32),  # 1 when unsampled or unknown
    "start_ms": np.dtype(np.int64),  # absolute Unix ms
    "end_ms": np.dtype(np.int64),
    "export_ms": np.dtype(np.int64),  # export time from the message header
    "input_if": np.dtype(np.uint32),
    "output_if": np.dtype(np.uint32),
    "direction": np.dtype(np.uint8),  # flowDirection: 0 ingress, 1 egress, 255 unknown
}


def address_text(value: np.void | bytes) -> str:
    """'10.0.0.1' for an IPv4-mapped value, compressed IPv6 text otherwise."""
    raw = value.tobytes() if isinstance(value, np.void) else bytes(value)
    addr = ipaddress.IPv6Address(raw)
    mapped = addr.ipv4_mapped
    return str(mapped) if mapped is not None else str(addr)


def address_value(text: str) -> bytes:
    """Inverse of `address_text`: the 16-byte column value for an address string."""
    addr = ipaddress.ip_address(text)
    if addr.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + addr.packed
    return addr.packed


@dataclass(slots=True)
class FlowBatch:
    version: npt.NDArray[np.uint8]
    exporter: npt.NDArray[np.void]
    exporter_port: npt.NDArray[np.uint16]
    domain: npt.NDArray[np.uint32]
    template_id: npt.NDArray[np.uint16]
    ip_version: npt.NDArray[np.uint8]
    src_addr: npt.NDArray[np.void]
    dst_addr: npt.NDArray[np.void]
    src_port: npt.NDArray[np.uint16]
    dst_port: npt.NDArray[np.uint16]
    protocol: npt.NDArray[np.uint8]
    tcp_flags: npt.NDArray[np.uint16]
    icmp_type_code: npt.NDArray[np.uint16]
    packets: npt.NDArray[np.uint64]
    bytes: npt.NDArray[np.uint64]
    sampling_rate: npt.NDArray[np.uint32]
    start_ms: npt.NDArray[np.int64]
    end_ms: npt.NDArray[np.int64]
    export_ms: npt.NDArray[np.int64]
    input_if: npt.NDArray[np.uint32]
    output_if: npt.NDArray[np.uint32]
    direction: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.version.shape[0])

    def column(self, name: str) -> npt.NDArray[Any]:
        value: npt.NDArray[Any] = getattr(self, name)
        return value

    @classmethod
    def from_columns(cls, columns: dict[str, npt.NDArray[Any]]) -> FlowBatch:
        """Build a batch, casting each column to its documented dtype."""
        return cls(**{name: np.ascontiguousarray(columns[name], dtype=dt) for name, dt in COLUMNS.items()})

    @classmethod
    def empty(cls) -> FlowBatch:
        return cls(**{name: np.empty(0, dtype=dt) for name, dt in COLUMNS.items()})

    @classmethod
    def concat(cls, batches: list[FlowBatch]) -> FlowBatch:
        batches = [b for b in batches if len(b)]
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        return cls(**{f.name: np.concatenate([b.column(f.name) for b in batches]) for f in fields(cls)})

    def take(self, selector: npt.NDArray[Any]) -> FlowBatch:
        """Rows picked by a boolean mask or an index array."""
        return type(self)(**{f.name: self.column(f.name)[selector] for f in fields(self)})

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per record with Python values and addresses as text (slow; for tests/debug)."""
        out: list[dict[str, Any]] = []
        columns = {name: self.column(name) for name in COLUMNS}
        for i in range(len(self)):
            row: dict[str, Any] = {}
            for name, values in columns.items():
                value = values[i]
                row[name] = address_text(value) if values.dtype == ADDRESS else int(value)
            out.append(row)
        return out
