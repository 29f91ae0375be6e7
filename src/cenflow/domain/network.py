"""CEN instances, transit routers and their attachments: entities and rules."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cenflow.domain import errors as e
from cenflow.domain.states import AttachmentStatus, CenStatus, TransitRouterStatus
from cenflow.domain.transitions import ResourceKind, Transition

PROTECTION_LEVELS = ("REDUCED",)


class AttachmentKind(StrEnum):
    """The ``ResourceType`` an attachment reports: the network instance it connects."""

    VPC = "VPC"
    VBR = "VBR"
    PEER = "TR"  # an inter-region connection to another transit router


@dataclass
class Cen:
    cen_id: str
    account_id: str
    name: str
    description: str
    protection_level: str
    ipv6_level: str
    resource_group_id: str
    status: str
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)

    def require_active(self) -> None:
        if self.status != CenStatus.ACTIVE:
            raise e.CEN_STATUS(f"The CEN instance is {self.status}.")

    def delete(self) -> Transition:
        if self.status != CenStatus.ACTIVE:
            raise e.CEN_STATUS(f"The CEN instance is {self.status}; only queries are allowed until it settles.")
        self.status = CenStatus.DELETING
        return Transition(ResourceKind.CEN, self.cen_id, CenStatus.DELETING, None)


@dataclass
class TransitRouter:
    transit_router_id: str
    account_id: str
    cen_id: str
    region_id: str
    name: str
    description: str
    type: str
    status: str
    support_multicast: bool
    cidrs: list[dict[str, Any]]
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)

    def require_active(self) -> None:
        if self.status != TransitRouterStatus.ACTIVE:
            raise e.TR_STATUS(f"The transit router is {self.status}.")

    def delete(self) -> Transition:
        if self.status != TransitRouterStatus.ACTIVE:
            raise e.TR_INSTANCE_STATUS(
                f"The transit router is {self.status}; only queries are allowed until it settles."
            )
        self.status = TransitRouterStatus.DELETING
        return Transition(ResourceKind.TRANSIT_ROUTER, self.transit_router_id, TransitRouterStatus.DELETING, None)


@dataclass
class Attachment:
    attachment_id: str
    account_id: str
    kind: AttachmentKind
    cen_id: str
    transit_router_id: str
    region_id: str
    name: str
    description: str
    status: str
    auto_publish_route: bool
    details: dict[str, Any]
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def instance_id(self) -> str:
        """The network instance this connects: a VPC, a VBR, or the peer transit router."""
        key = {AttachmentKind.VPC: "VpcId", AttachmentKind.VBR: "VbrId", AttachmentKind.PEER: "PeerTransitRouterId"}
        return str(self.details[key[self.kind]])

    def delete(self) -> Transition:
        if self.status != AttachmentStatus.ATTACHED:
            raise e.ATTACHMENT_STATUS(f"The attachment is {self.status}; only queries are allowed until it settles.")
        self.status = AttachmentStatus.DETACHING
        return Transition(ResourceKind.ATTACHMENT, self.attachment_id, AttachmentStatus.DETACHING, None)


def creation(kind: ResourceKind, resource_id: str) -> Transition:
    settled = {
        ResourceKind.CEN: (CenStatus.CREATING, CenStatus.ACTIVE),
        ResourceKind.TRANSIT_ROUTER: (TransitRouterStatus.CREATING, TransitRouterStatus.ACTIVE),
        ResourceKind.ATTACHMENT: (AttachmentStatus.ATTACHING, AttachmentStatus.ATTACHED),
    }[kind]
    return Transition(kind, resource_id, settled[0], settled[1])


def check_transit_router_cidrs(entries: Any) -> list[dict[str, Any]]:
    """``TransitRouterCidrList``: a JSON list of {Cidr, Name, Description, PublishCidrRoute}.

    CIDRs must be IPv4 networks with a prefix of /16 to /24 (Alibaba's rule) and not overlap.
    """
    if entries is None:
        return []
    if not isinstance(entries, list) or len(entries) > 5:
        raise e.ILLEGAL_CIDR("TransitRouterCidrList must be a JSON list of at most 5 entries.")
    result: list[dict[str, Any]] = []
    networks: list[ipaddress.IPv4Network] = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("Cidr"), str):
            raise e.ILLEGAL_CIDR("Each entry needs a Cidr string.")
        try:
            network = ipaddress.IPv4Network(entry["Cidr"], strict=True)
        except ValueError as exc:
            raise e.ILLEGAL_CIDR(f'"{str(entry["Cidr"])[:64]}" is not an IPv4 network.') from exc
        if not 16 <= network.prefixlen <= 24:
            raise e.ILLEGAL_CIDR("The prefix length must be between 16 and 24.")
        if any(network.overlaps(other) for other in networks):
            raise e.OVERLAPPING_CIDR(f"{network} overlaps another entry.")
        networks.append(network)
        publish = entry.get("PublishCidrRoute", True)
        result.append(
            {
                "Cidr": str(network),
                "Name": str(entry.get("Name") or ""),
                "Description": str(entry.get("Description") or ""),
                "PublishCidrRoute": publish if isinstance(publish, bool) else str(publish).lower() == "true",
            }
        )
    return result


def check_zone_mappings(mappings: Sequence[Mapping[str, str | None]], region_id: str) -> list[dict[str, str]]:
    zones: set[str] = set()
    result = []
    for mapping in mappings:
        zone, vswitch = mapping.get("ZoneId") or "", mapping.get("VSwitchId") or ""
        if not zone.startswith(region_id):
            raise e.ILLEGAL_ZONE(f'"{zone[:64]}" is not a zone of {region_id}.')
        if not vswitch.startswith("vsw-"):
            raise e.ILLEGAL_VSWITCH(f'"{vswitch[:64]}" is not a vSwitch id (vsw-...).')
        if zone in zones:
            raise e.DUPLICATED_ZONE(f"{zone} is given twice.")
        zones.add(zone)
        result.append({"ZoneId": zone, "VSwitchId": vswitch})
    return result
