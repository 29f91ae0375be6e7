"""Template definitions and their identity.

A template is scoped to one export *stream*: (exporter address, exporter UDP port, protocol
version, observation domain id / v9 source id).  RFC 3954 scopes v9 templates to (exporter,
source id) and RFC 7011 scopes IPFIX templates to the transport session and observation domain;
over UDP the session is the exporter's address and port, so both use the same five-part key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from cenflow.flow.elements import VARIABLE_LENGTH


class StreamKey(NamedTuple):
    exporter: str  # exporter IP address as text (IPv4 dotted quad or IPv6)
    port: int
    version: int  # 9 or 10 (5 for NetFlow v5 sequence tracking)
    domain: int  # IPFIX observation domain id, v9 source id, v5 engine_type << 8 | engine_id


class TemplateKey(NamedTuple):
    exporter: str
    port: int
    version: int
    domain: int
    template_id: int

    @property
    def stream(self) -> StreamKey:
        return StreamKey(self.exporter, self.port, self.version, self.domain)


class FieldSpec(NamedTuple):
    element_id: int  # without the enterprise bit
    length: int  # 65535 = variable length
    enterprise: int = 0  # Private Enterprise Number, 0 for IANA elements


class TemplateKind(Enum):
    DATA = "data"
    OPTIONS = "options"


@dataclass(frozen=True, slots=True)
class Template:
    """One (options) template as the exporter defined it, plus when it was last (re)announced."""

    key: TemplateKey
    kind: TemplateKind
    fields: tuple[FieldSpec, ...]
    scope_field_count: int = 0  # options templates: the first N fields are the scope
    last_seen: float = 0.0  # seconds since the epoch, collector clock

    @property
    def variable_length(self) -> bool:
        return any(f.length == VARIABLE_LENGTH for f in self.fields)

    @property
    def min_record_length(self) -> int:
        """Bytes of the shortest possible record (a var-len field takes at least its length byte)."""
        return sum(1 if f.length == VARIABLE_LENGTH else f.length for f in self.fields)

    def to_json(self) -> dict[str, Any]:
        return {
            "exporter": self.key.exporter,
            "port": self.key.port,
            "version": self.key.version,
            "domain": self.key.domain,
            "template_id": self.key.template_id,
            "kind": self.kind.value,
            "scope_field_count": self.scope_field_count,
            "fields": [list(f) for f in self.fields],
            "last_seen": self.last_seen,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Template:
        """Inverse of `to_json`; raises KeyError/TypeError/ValueError on a malformed document."""
        key = TemplateKey(
            str(data["exporter"]),
            int(data["port"]),
            int(data["version"]),
            int(data["domain"]),
            int(data["template_id"]),
        )
        fields = tuple(FieldSpec(int(f[0]), int(f[1]), int(f[2])) for f in data["fields"])
        return cls(
            key=key,
            kind=TemplateKind(data["kind"]),
            fields=fields,
            scope_field_count=int(data["scope_field_count"]),
            last_seen=float(data["last_seen"]),
        )
