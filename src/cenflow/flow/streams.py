"""What the decoder remembers about each export stream (exporter, port, version, domain)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import NamedTuple

from cenflow.flow.layout import RecordLayout, VarLenPlan, compile_layout, compile_varlen_plan
from cenflow.flow.records import effects_plan
from cenflow.flow.sequence import SequenceState
from cenflow.flow.templates import Template, TemplateKind


@dataclass(slots=True)
class ActiveTemplate:
    """A template in use: its definition plus what decoding it needs, prepared once."""

    template: Template
    layout: RecordLayout | None  # fixed-length data templates
    varlen: VarLenPlan | None  # data templates with variable-length fields
    last_seen: float  # last (re)announcement, collector clock
    persisted_at: float  # last_seen value last written to the store
    # `TemplateDefinition.wire` of the announcement that defined or last refreshed this template
    # (None when loaded from the store): the C decoder refreshes a byte-identical re-announcement
    # itself, exactly as `TemplateRegistry.learn` would, and leaves anything else to Python.
    wire: bytes | None = None
    effects: bytes | None = None  # options templates of fixed length: `records.effects_plan`

    @classmethod
    def prepare(cls, template: Template, persisted_at: float, wire: bytes | None = None) -> ActiveTemplate:
        layout = varlen = effects = None
        if template.kind is TemplateKind.DATA:
            if template.variable_length:
                varlen = compile_varlen_plan(template.fields)
            else:
                layout = compile_layout(template.fields)
        else:
            effects = effects_plan(template)
        return cls(
            template=template,
            layout=layout,
            varlen=varlen,
            last_seen=template.last_seen,
            persisted_at=persisted_at,
            wire=wire,
            effects=effects,
        )


def exporter_bytes(exporter: str) -> bytes:
    """16-byte (IPv4-mapped) form of an exporter address; zeros if it is not an IP address."""
    try:
        addr = ipaddress.ip_address(exporter)
    except ValueError:
        return bytes(16)
    if addr.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + addr.packed
    return addr.packed


@dataclass(slots=True, eq=False)
class ExporterStream:
    exporter: str
    port: int
    version: int
    domain: int
    address16: bytes
    sequence: SequenceState
    templates: dict[int, ActiveTemplate] = field(default_factory=dict)
    default_rate: int = 1  # from options data without a sampler id
    sampler_rates: dict[int, int] = field(default_factory=dict)  # samplerId/selectorId -> rate
    boot_ms: int = -1  # IPFIX systemInitTimeMilliseconds from options data
    last_seen: float = 0.0

    def forget_exporter_state(self) -> None:
        """After a restart, what the old exporting process told us no longer holds."""
        self.templates.clear()
        self.default_rate = 1
        self.sampler_rates.clear()
        self.boot_ms = -1


class MessageContext(NamedTuple):
    """Header values that every record of one message shares."""

    stream: ExporterStream
    export_ms: int
    uptime_ms: int  # v5/v9 sysUptime, -1 for IPFIX
    header_rate: int  # v5 header sampling interval, 0 when not given
