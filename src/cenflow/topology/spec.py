"""The topology file: a declarative description of CENs, routers, attachments and flow logs.

Example (YAML)::

    cens:
      - name: lab
        transit_routers:
          - region: cn-hangzhou
            name: hz
            exporter: 192.0.2.1            # or [192.0.2.1/256, 2001:db8::1]
            attachments:
              - type: vpc                  # vpc | vbr | peer
                name: web
                vpc_id: vpc-web
                zone: cn-hangzhou-h        # optional; vswitch defaults to vsw-<vpc>
                ifindex: [3]               # and/or
                cidr: [10.0.0.0/16]
              - type: peer
                name: to-sh
                peer: sh                   # the name of another router of this CEN
            flowlogs:
              - name: hz-all
                project: lab-flows
                logstore: hz
                interval: 60               # 60 or 600
                attachment: web            # optional: one attachment instead of the router
                format: ${srcaddr}${dstaddr}${bytes}${direction}   # optional
          - region: cn-shanghai
            name: sh
            exporter: 192.0.2.2
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ATTACHMENT_TYPES = ("vpc", "vbr", "peer")


class TopologyError(ValueError):
    """The file does not describe a valid topology."""


@dataclass(frozen=True)
class AttachmentSpec:
    type: str
    name: str
    vpc_id: str | None = None
    vbr_id: str | None = None
    peer: str | None = None
    zone: str | None = None
    vswitch: str | None = None
    ifindex: tuple[int, ...] = ()
    cidr: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowLogSpec:
    name: str
    project: str
    logstore: str
    interval: int = 600
    attachment: str | None = None
    format: str | None = None
    description: str = ""


@dataclass(frozen=True)
class RouterSpec:
    region: str
    name: str
    exporters: tuple[str, ...] = ()
    attachments: tuple[AttachmentSpec, ...] = ()
    flowlogs: tuple[FlowLogSpec, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CenSpec:
    name: str
    description: str = ""
    routers: tuple[RouterSpec, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TopologyError(f"{where}: tags must be a mapping")
    return {str(k): str(v) for k, v in value.items()}


def _require(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if value in (None, ""):
        raise TopologyError(f"{where}: '{key}' is required")
    return str(value)


def parse(document: Any) -> tuple[CenSpec, ...]:
    if not isinstance(document, dict) or not isinstance(document.get("cens"), list):
        raise TopologyError("the file must be a mapping with a 'cens' list")
    cens = []
    for i, cen in enumerate(document["cens"]):
        where = f"cens[{i}]"
        if not isinstance(cen, dict):
            raise TopologyError(f"{where}: must be a mapping")
        routers = tuple(
            _router(r, f"{where}.transit_routers[{j}]") for j, r in enumerate(_list(cen.get("transit_routers")))
        )
        names = [r.name for r in routers]
        if len(set(names)) != len(names):
            raise TopologyError(f"{where}: transit router names must be unique")
        for router in routers:
            for attachment in router.attachments:
                if attachment.type == "peer" and attachment.peer not in names:
                    raise TopologyError(f"{where}: peer '{attachment.peer}' names no router of this CEN")
        cens.append(
            CenSpec(
                _require(cen, "name", where),
                str(cen.get("description") or ""),
                routers,
                _str_map(cen.get("tags"), where),
            )
        )
    return tuple(cens)


def _router(entry: Any, where: str) -> RouterSpec:
    if not isinstance(entry, dict):
        raise TopologyError(f"{where}: must be a mapping")
    attachments = tuple(
        _attachment(a, f"{where}.attachments[{k}]") for k, a in enumerate(_list(entry.get("attachments")))
    )
    names = [a.name for a in attachments]
    if len(set(names)) != len(names):
        raise TopologyError(f"{where}: attachment names must be unique")
    flowlogs = tuple(_flowlog(f, f"{where}.flowlogs[{k}]") for k, f in enumerate(_list(entry.get("flowlogs"))))
    for flowlog in flowlogs:
        if flowlog.attachment is not None and flowlog.attachment not in names:
            raise TopologyError(f"{where}: flow log '{flowlog.name}' names unknown attachment '{flowlog.attachment}'")
    return RouterSpec(
        region=_require(entry, "region", where),
        name=_require(entry, "name", where),
        exporters=tuple(str(e) for e in _list(entry.get("exporter"))),
        attachments=attachments,
        flowlogs=flowlogs,
        tags=_str_map(entry.get("tags"), where),
    )


def _attachment(entry: Any, where: str) -> AttachmentSpec:
    if not isinstance(entry, dict):
        raise TopologyError(f"{where}: must be a mapping")
    kind = _require(entry, "type", where).lower()
    if kind not in ATTACHMENT_TYPES:
        raise TopologyError(f"{where}: type must be one of {', '.join(ATTACHMENT_TYPES)}")
    spec = AttachmentSpec(
        type=kind,
        name=_require(entry, "name", where),
        vpc_id=_require(entry, "vpc_id", where) if kind == "vpc" else None,
        vbr_id=_require(entry, "vbr_id", where) if kind == "vbr" else None,
        peer=_require(entry, "peer", where) if kind == "peer" else None,
        zone=entry.get("zone"),
        vswitch=entry.get("vswitch"),
        ifindex=tuple(int(i) for i in _list(entry.get("ifindex"))),
        cidr=tuple(str(c) for c in _list(entry.get("cidr"))),
        tags=_str_map(entry.get("tags"), where),
    )
    return spec


def _flowlog(entry: Any, where: str) -> FlowLogSpec:
    if not isinstance(entry, dict):
        raise TopologyError(f"{where}: must be a mapping")
    return FlowLogSpec(
        name=_require(entry, "name", where),
        project=_require(entry, "project", where),
        logstore=_require(entry, "logstore", where),
        interval=int(entry.get("interval", 600)),
        attachment=entry.get("attachment"),
        format=entry.get("format"),
        description=str(entry.get("description") or ""),
    )
