"""Taggable resource types and how ``ResourceType`` is spelled on the wire."""

from __future__ import annotations

from cenflow.domain import errors as e
from cenflow.domain.network import AttachmentKind

CEN = "Cen"
TRANSIT_ROUTER = "TransitRouter"
VPC_ATTACHMENT = "TransitRouterVpcAttachment"
VBR_ATTACHMENT = "TransitRouterVbrAttachment"
PEER_ATTACHMENT = "TransitRouterPeerAttachment"
FLOWLOG = "Flowlog"

TAGGABLE = (CEN, TRANSIT_ROUTER, VPC_ATTACHMENT, VBR_ATTACHMENT, PEER_ATTACHMENT, FLOWLOG)
# Types Alibaba documents for the tag API that cenflow does not model.
KNOWN_UNSUPPORTED = (
    "BandwidthPackage",
    "TransitRouterVpnAttachment",
    "TransitRouterRouteTable",
    "TransitRouterMulticastDomain",
)
_CANONICAL = {name.lower(): name for name in TAGGABLE}

ATTACHMENT_TAG_TYPE = {
    AttachmentKind.VPC: VPC_ATTACHMENT,
    AttachmentKind.VBR: VBR_ATTACHMENT,
    AttachmentKind.PEER: PEER_ATTACHMENT,
}


def canonical_resource_type(name: str) -> str:
    """``flowlog``, ``FLOWLOG`` and ``Flowlog`` are one type; callers get the canonical spelling."""
    canonical = _CANONICAL.get(name.lower())
    if canonical is None:
        raise e.RESOURCE_TYPE_NOT_FOUND(f'Supported types: {", ".join(TAGGABLE)} (got "{name[:64]}").')
    return canonical
