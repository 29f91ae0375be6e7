"""A pending asynchronous transition: the transient state now, the settled state later."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ResourceKind(StrEnum):
    CEN = "cen"
    TRANSIT_ROUTER = "transit_router"
    ATTACHMENT = "attachment"
    FLOWLOG = "flowlog"


@dataclass(frozen=True)
class Transition:
    kind: ResourceKind
    resource_id: str
    # The transient state the resource is put in now ("Creating", "Modifying", ...).
    via: str
    # The state the worker settles it in; ``None`` removes the resource.
    to: str | None

    def as_payload(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "via": self.via, "to": self.to}

    @classmethod
    def from_payload(cls, resource_id: str, payload: dict[str, str | None]) -> Transition:
        kind = payload.get("kind")
        via = payload.get("via")
        if kind is None or via is None:
            raise ValueError(f"malformed transition payload {payload!r}")
        return cls(ResourceKind(kind), resource_id, via, payload.get("to"))
