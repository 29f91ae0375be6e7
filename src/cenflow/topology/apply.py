"""Reconciling a topology file with a running server, through the public Cbn API.

Idempotent: resources are matched by what identifies them (a CEN by name, a transit router by
CEN and region, an attachment by its router and the instance it connects, a flow log by its
scope), created when missing, and their ``cenflow:*`` binding tags set to what the file says.
Nothing the file does not mention is deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cenflow.client import RpcClient
from cenflow.collector.topology import CIDR_TAG, EXPORTER_TAG, IFINDEX_TAG
from cenflow.topology.spec import AttachmentSpec, CenSpec, FlowLogSpec, RouterSpec

_KINDS = {
    "vpc": ("TransitRouterVpcAttachment", "ListTransitRouterVpcAttachments", "CreateTransitRouterVpcAttachment"),
    "vbr": ("TransitRouterVbrAttachment", "ListTransitRouterVbrAttachments", "CreateTransitRouterVbrAttachment"),
    "peer": ("TransitRouterPeerAttachment", "ListTransitRouterPeerAttachments", "CreateTransitRouterPeerAttachment"),
}


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # "cen/router/attachment" path -> id


class Applier:
    def __init__(
        self, client: RpcClient, *, timeout: float = 120.0, progress: Callable[[str], None] = lambda _m: None
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.progress = progress

    def apply(self, cens: tuple[CenSpec, ...]) -> ApplyReport:
        report = ApplyReport()
        for cen in cens:
            cen_id = self._cen(cen, report)
            routers = {r.name: self._router(cen_id, r, f"{cen.name}/{r.name}", report) for r in cen.routers}
            for router in cen.routers:
                regions = {r.name: r.region for r in cen.routers}
                attachments = {
                    a.name: self._attachment(routers, regions, router, a, f"{cen.name}/{router.name}/{a.name}", report)
                    for a in router.attachments
                }
                for flowlog in router.flowlogs:
                    self._flowlog(cen_id, routers[router.name], router, attachments, flowlog, report)
        return report

    # -- resources ---------------------------------------------------------------------------
    def _cen(self, cen: CenSpec, report: ApplyReport) -> str:
        found = self.client.call("DescribeCens", {"Filter": [{"Key": "Name", "Value": [cen.name]}], "PageSize": 50})
        existing = [c for c in found["Cens"]["Cen"] if c["Name"] == cen.name]
        if existing:
            cen_id = str(existing[0]["CenId"])
            report.existing.append(cen_id)
        else:
            cen_id = str(self.client.call("CreateCen", {"Name": cen.name, "Description": cen.description})["CenId"])
            report.created.append(cen_id)
            self.progress(f"created CEN {cen.name} ({cen_id})")
        self._wait(lambda: self._cen_status(cen_id), "Active", cen_id)
        self._tags("Cen", cen_id, None, cen.tags, ())
        report.ids[cen.name] = cen_id
        return cen_id

    def _cen_status(self, cen_id: str) -> str | None:
        found = self.client.call("DescribeCens", {"Filter": [{"Key": "CenId", "Value": [cen_id]}]})["Cens"]["Cen"]
        return str(found[0]["Status"]) if found else None

    def _router(self, cen_id: str, router: RouterSpec, path: str, report: ApplyReport) -> str:
        listed = self.client.call("ListTransitRouters", {"CenId": cen_id, "RegionId": router.region})["TransitRouters"]
        if listed:
            tr_id = str(listed[0]["TransitRouterId"])
            report.existing.append(tr_id)
        else:
            tr_id = str(
                self.client.call(
                    "CreateTransitRouter",
                    {"CenId": cen_id, "RegionId": router.region, "TransitRouterName": router.name},
                )["TransitRouterId"]
            )
            report.created.append(tr_id)
            self.progress(f"created transit router {path} ({tr_id})")
        self._wait(lambda: self._router_status(cen_id, tr_id), "Active", tr_id)
        binding = {EXPORTER_TAG: ",".join(router.exporters)} if router.exporters else {}
        self._tags("TransitRouter", tr_id, router.region, {**router.tags, **binding}, (EXPORTER_TAG,))
        report.ids[path] = tr_id
        return tr_id

    def _router_status(self, cen_id: str, tr_id: str) -> str | None:
        listed = self.client.call("ListTransitRouters", {"CenId": cen_id, "TransitRouterId": tr_id})["TransitRouters"]
        return str(listed[0]["Status"]) if listed else None

    def _attachment(
        self,
        routers: dict[str, str],
        regions: dict[str, str],
        router: RouterSpec,
        attachment: AttachmentSpec,
        path: str,
        report: ApplyReport,
    ) -> str:
        tag_type, list_action, create_action = _KINDS[attachment.type]
        tr_id = routers[router.name]
        match_field, match_value, create = _identity(attachment, router, routers, regions)
        found = [a for a in self._list_attachments(list_action, tr_id) if str(a.get(match_field)) == match_value]
        if found:
            attachment_id = str(found[0]["TransitRouterAttachmentId"])
            report.existing.append(attachment_id)
        else:
            params = {"TransitRouterId": tr_id, "TransitRouterAttachmentName": attachment.name, **create}
            attachment_id = str(self.client.call(create_action, params)["TransitRouterAttachmentId"])
            report.created.append(attachment_id)
            self.progress(f"created {attachment.type} attachment {path} ({attachment_id})")
        self._wait(lambda: self._attachment_status(list_action, tr_id, attachment_id), "Attached", attachment_id)
        binding: dict[str, str] = {}
        if attachment.ifindex:
            binding[IFINDEX_TAG] = ",".join(str(i) for i in attachment.ifindex)
        if attachment.cidr:
            binding[CIDR_TAG] = ",".join(attachment.cidr)
        self._tags(tag_type, attachment_id, router.region, {**attachment.tags, **binding}, (IFINDEX_TAG, CIDR_TAG))
        report.ids[path] = attachment_id
        return attachment_id

    def _list_attachments(self, action: str, tr_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self.client.call(action, {"TransitRouterId": tr_id, "MaxResults": 100, "NextToken": token or None})
            items += page["TransitRouterAttachments"]
            token = page.get("NextToken") or ""
            if not token:
                return items

    def _attachment_status(self, action: str, tr_id: str, attachment_id: str) -> str | None:
        listed = self.client.call(action, {"TransitRouterId": tr_id, "TransitRouterAttachmentId": attachment_id})
        items = listed["TransitRouterAttachments"]
        return str(items[0]["Status"]) if items else None

    def _flowlog(
        self,
        cen_id: str,
        tr_id: str,
        router: RouterSpec,
        attachments: dict[str, str],
        flowlog: FlowLogSpec,
        report: ApplyReport,
    ) -> None:
        attachment_id = attachments[flowlog.attachment] if flowlog.attachment else None
        listed = self.client.call(
            "DescribeFlowlogs", {"RegionId": router.region, "CenId": cen_id, "TransitRouterId": tr_id, "PageSize": 50}
        )["FlowLogs"]["FlowLog"]
        same_scope = [f for f in listed if f.get("TransitRouterAttachmentId") == attachment_id]
        if same_scope:
            flow_log_id = str(same_scope[0]["FlowLogId"])
            report.existing.append(flow_log_id)
        else:
            params: dict[str, Any] = {
                "RegionId": router.region,
                "CenId": cen_id,
                "TransitRouterId": tr_id,
                "TransitRouterAttachmentId": attachment_id,
                "FlowLogName": flowlog.name,
                "Description": flowlog.description or None,
                "ProjectName": flowlog.project,
                "LogStoreName": flowlog.logstore,
                "Interval": flowlog.interval,
                "LogFormatString": flowlog.format,
            }
            flow_log_id = str(self.client.call("CreateFlowlog", params)["FlowLogId"])
            report.created.append(flow_log_id)
            self.progress(f"created flow log {flowlog.name} ({flow_log_id})")

        def status() -> str | None:
            found = self.client.call("DescribeFlowlogs", {"RegionId": router.region, "FlowLogId": flow_log_id})
            items = found["FlowLogs"]["FlowLog"]
            return str(items[0]["Status"]) if items else None

        self._wait(status, ("Active", "Inactive"), flow_log_id)
        report.ids[f"flowlog:{flowlog.name}"] = flow_log_id

    # -- helpers -----------------------------------------------------------------------------
    def _tags(
        self, resource_type: str, resource_id: str, region: str | None, wanted: dict[str, str], managed: tuple[str, ...]
    ) -> None:
        """Set ``wanted`` and remove managed binding tags the file no longer gives."""
        current = self.client.call(
            "ListTagResources", {"ResourceType": resource_type, "ResourceId": [resource_id], "RegionId": region}
        )["TagResources"]["TagResource"]
        have = {t["TagKey"]: t["TagValue"] for t in current}
        changed = {k: v for k, v in wanted.items() if have.get(k) != v}
        if changed:
            tags = [{"Key": k, "Value": v} for k, v in changed.items()]
            self.client.call(
                "TagResources",
                {"ResourceType": resource_type, "ResourceId": [resource_id], "Tag": tags, "RegionId": region},
            )
        stale = [k for k in managed if k in have and k not in wanted]
        if stale:
            self.client.call(
                "UntagResources",
                {"ResourceType": resource_type, "ResourceId": [resource_id], "TagKey": stale, "RegionId": region},
            )

    def _wait(self, status: Callable[[], str | None], wanted: str | tuple[str, ...], what: str) -> None:
        targets = (wanted,) if isinstance(wanted, str) else wanted
        deadline = time.monotonic() + self.timeout
        while True:
            current = status()
            if current in targets:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} is {current}, not {'/'.join(targets)}, after {self.timeout:.0f}s")
            time.sleep(0.2)  # polling the API for an asynchronous transition


def _identity(
    attachment: AttachmentSpec, router: RouterSpec, routers: dict[str, str], regions: dict[str, str]
) -> tuple[str, str, dict[str, Any]]:
    """How an existing attachment is recognised, and what creating it takes."""
    if attachment.type == "vpc":
        assert attachment.vpc_id is not None
        zone = attachment.zone or f"{router.region}-a"
        vswitch = attachment.vswitch or f"vsw-{attachment.vpc_id.removeprefix('vpc-')}"
        return (
            "VpcId",
            attachment.vpc_id,
            {
                "VpcId": attachment.vpc_id,
                "ZoneMappings": [{"ZoneId": zone, "VSwitchId": vswitch}],
            },
        )
    if attachment.type == "vbr":
        assert attachment.vbr_id is not None
        return "VbrId", attachment.vbr_id, {"VbrId": attachment.vbr_id}
    assert attachment.peer is not None
    peer_id = routers[attachment.peer]
    return (
        "PeerTransitRouterId",
        peer_id,
        {
            "PeerTransitRouterId": peer_id,
            "PeerTransitRouterRegionId": regions[attachment.peer],
        },
    )
