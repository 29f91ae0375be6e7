"""Which transit router and attachment a flow belongs to, configured through standard tags.

Tags (set with any SDK, Terraform, ``cenflow topology apply``):

- on a transit router, ``cenflow:exporter`` = ``<address>`` or ``<address>/<domain-id>``
  (comma-separated for several): the exporting device(s) whose flows are this router's traffic.
  Without a domain id every observation domain / source id of that address matches.
- on an attachment, ``cenflow:ifindex`` = ``<n>[,<n>...]``: the exporter's interface indexes
  facing that attachment; a flow whose input interface is one of them enters the router from the
  attachment (direction ``in``), one whose output interface is one of them leaves the router into
  it (``out``).
- or ``cenflow:cidr`` = ``<prefix>[,<prefix>...]``: the networks behind the attachment; a flow
  from them is ``in``, a flow to them is ``out``.  When an attachment has both, ``ifindex``
  decides and the prefixes still name the region of addresses (below).

A flow that crosses the router from attachment A to attachment B is therefore recorded twice:
``in`` on A and ``out`` on B, as CEN records each connection's traffic.  Inter-region (peer)
attachments record only ``out`` (Alibaba captures only the local router's outbound side).

Regions: ``src-region-id`` is the region of the network the flow came from (the region behind
its ingress attachment: the attachment's region for VPC/VBR, the peer router's region for an
inter-region connection), otherwise the router's own region; ``dst-region-id`` likewise from
the egress attachment.

This module is pure: the collector builds a :class:`Topology` from the database.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

EXPORTER_TAG = "cenflow:exporter"
IFINDEX_TAG = "cenflow:ifindex"
CIDR_TAG = "cenflow:cidr"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AttachmentBinding:
    attachment_id: str
    transit_router_id: str
    kind: str  # VPC, VBR or TR (inter-region)
    remote_region_id: str  # the region of the network behind the attachment
    ifindexes: frozenset[int]
    prefixes: tuple[Network, ...]

    @property
    def records_inbound(self) -> bool:
        return self.kind != "TR"


@dataclass(frozen=True)
class RouterBinding:
    transit_router_id: str
    cen_id: str
    account_id: str
    region_id: str
    exporters: tuple[tuple[bytes, int | None], ...]  # (16-byte address, domain id or None)
    attachments: tuple[AttachmentBinding, ...]


def exporter_address(text: str) -> bytes:
    """An address as the decoder's 16-byte column value (IPv4 mapped into IPv6)."""
    address = ipaddress.ip_address(text.strip())
    if address.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + address.packed
    return address.packed


def parse_exporters(value: str) -> tuple[tuple[bytes, int | None], ...]:
    exporters = []
    for item in _items(value):
        address, _, domain = item.partition("/")
        exporters.append((exporter_address(address), int(domain) if domain else None))
    return tuple(exporters)


def parse_ifindexes(value: str) -> frozenset[int]:
    indexes = frozenset(int(item) for item in _items(value))
    if any(not 0 <= i < 2**32 for i in indexes):
        raise ValueError(f"interface index out of range in {value!r}")
    return indexes


def parse_prefixes(value: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in _items(value))


def _items(value: str) -> Iterable[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class Topology:
    routers: tuple[RouterBinding, ...]

    def router_index(self) -> dict[tuple[bytes, int | None], int]:
        """(exporter address, domain or None) -> index into ``routers``."""
        index: dict[tuple[bytes, int | None], int] = {}
        for position, router in enumerate(self.routers):
            for exporter in router.exporters:
                if exporter in index:
                    log.warning(
                        "exporter bound to two transit routers; keeping the first",
                        extra={"transit_router_id": router.transit_router_id},
                    )
                    continue
                index[exporter] = position
        return index
