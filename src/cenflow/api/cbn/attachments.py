"""Network instance connections of a transit router: VPC, VBR and inter-region (peer).

Each kind has its Create/List/Delete operation.  They share the lifecycle (``Attaching`` ->
``Attached``, ``Detaching`` -> gone), paging (``MaxResults``/``NextToken``, a plain array) and
the deletion rules; only their parameters and reported fields differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement

from cenflow.api.cbn import CBN
from cenflow.api.cbn.common import (
    CLIENT_TOKEN,
    DRY_RUN,
    MAX_RESULTS,
    NEXT_TOKEN,
    OPTIONAL_REGION_ID,
    TAGS,
    check_region,
    dry_run_passes,
    iso_minutes,
    iso_seconds,
    schedule,
)
from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain import errors as e
from cenflow.domain.ids import new_attachment_id
from cenflow.domain.network import Attachment, AttachmentKind, TransitRouter, check_zone_mappings, creation
from cenflow.domain.resources import ATTACHMENT_TAG_TYPE
from cenflow.domain.rules import check_description, check_name, check_tags, tag_filters
from cenflow.domain.states import AttachmentStatus
from cenflow.domain.transitions import ResourceKind
from cenflow.store import flowlogs as flowlog_repo
from cenflow.store import network
from cenflow.store.paging import by_token
from cenflow.store.tables import attachments as table
from cenflow.store.tags import having_tags, put_tags, tag_list, tags_of
from cenflow.wire.spec import Args, ListParam, OperationSpec, Param


def attachment_arn(ctx: CallContext, attachment_id: str) -> str:
    return f"acs:cen:*:{ctx.account_id}:centransitrouterattachment/{attachment_id}"


def _attachment_resource(ctx: CallContext, args: Args) -> Sequence[str]:
    return (attachment_arn(ctx, args.text("TransitRouterAttachmentId")),)


COMMON_CREATE = (
    CLIENT_TOKEN,
    DRY_RUN,
    Param("CenId"),
    Param("TransitRouterId"),
    OPTIONAL_REGION_ID,
    Param("TransitRouterAttachmentName"),
    Param("TransitRouterAttachmentDescription"),
    Param("AutoPublishRouteEnabled", "boolean", default=False),
    TAGS,
)


def _transit_router_for(ctx: CallContext, args: Args) -> TransitRouter:
    """``TransitRouterId``, or the transit router of ``CenId`` in ``RegionId``."""
    tr_id = args.opt_text("TransitRouterId")
    if tr_id is None:
        cen_id, region_id = args.opt_text("CenId"), args.opt_text("RegionId")
        if cen_id is None or region_id is None:
            raise e.NEED_CEN_OR_REGION("Give TransitRouterId, or CenId and RegionId.")
        candidates = network.transit_routers_of_cen(ctx.tx, cen_id, check_region(ctx, region_id))
        if not candidates:
            raise e.TR_NOT_FOUND(f"{cen_id} has no transit router in {region_id}; create one first.")
        tr_id = candidates[0].transit_router_id
    transit_router = network.get_transit_router(ctx.tx, tr_id, account_id=ctx.account_id, lock=True)
    if transit_router is None:
        raise e.TR_NOT_FOUND()
    if args.opt_text("CenId") not in (None, transit_router.cen_id):
        raise e.TR_NOT_FOUND(f"{tr_id} does not belong to {args.opt_text('CenId')}.")
    if args.opt_text("RegionId") not in (None, transit_router.region_id):
        raise e.TR_NOT_FOUND(f"{tr_id} is not in {args.opt_text('RegionId')}.")
    transit_router.require_active()
    return transit_router


def _create(
    ctx: CallContext, args: Args, kind: AttachmentKind, details: Callable[[TransitRouter], dict[str, Any]]
) -> dict[str, Any]:
    name = check_name(args.opt_text("TransitRouterAttachmentName"), "TransitRouterAttachmentName")
    description = check_description(
        args.opt_text("TransitRouterAttachmentDescription"), "TransitRouterAttachmentDescription"
    )
    tags = check_tags(args.items("Tag"))
    transit_router = _transit_router_for(ctx, args)
    attachment = Attachment(
        attachment_id=new_attachment_id(),
        account_id=ctx.account_id,
        kind=kind,
        cen_id=transit_router.cen_id,
        transit_router_id=transit_router.transit_router_id,
        region_id=transit_router.region_id,
        name=name,
        description=description,
        status=AttachmentStatus.ATTACHING,
        auto_publish_route=args.flag("AutoPublishRouteEnabled"),
        details=details(transit_router),
        created_at=ctx.now,
    )
    dry_run_passes(ctx, args.flag("DryRun"))
    network.insert_attachment(ctx.tx, attachment)
    put_tags(ctx.tx, ATTACHMENT_TAG_TYPE[kind], attachment.attachment_id, tags)
    schedule(ctx, creation(ResourceKind.ATTACHMENT, attachment.attachment_id))
    return {"TransitRouterAttachmentId": attachment.attachment_id}


# --- VPC -------------------------------------------------------------------------------------
CREATE_VPC = OperationSpec(
    (
        *COMMON_CREATE,
        Param("VpcId", required=True, pattern=r"vpc-[a-z0-9]{1,40}"),
        Param("VpcOwnerId", "integer", minimum=0),
        Param("ChargeType", default="POSTPAY", choices=("POSTPAY",)),
        ListParam(
            "ZoneMappings",
            fields=(Param("VSwitchId", required=True), Param("ZoneId", required=True)),
            required=True,
            max_items=10,
        ),
        Param("TransitRouterVPCAttachmentOptions", "json"),
    )
)


def create_vpc_attachment(ctx: CallContext, args: Args) -> dict[str, Any]:
    options = args.value("TransitRouterVPCAttachmentOptions") or {}
    if not isinstance(options, dict):
        raise e.INVALID_PARAMETER("TransitRouterVPCAttachmentOptions must be a JSON object.")

    def details(tr: TransitRouter) -> dict[str, Any]:
        return {
            "VpcId": args.text("VpcId"),
            "VpcOwnerId": args.opt_number("VpcOwnerId") or int(ctx.account_id),
            "ChargeType": args.text("ChargeType"),
            "ZoneMappings": check_zone_mappings(args.items("ZoneMappings"), tr.region_id),
            "Options": {str(k): str(v) for k, v in options.items()},
        }

    return _create(ctx, args, AttachmentKind.VPC, details)


def render_vpc(attachment: Attachment) -> dict[str, Any]:
    d = attachment.details
    return {
        "VpcId": d["VpcId"],
        "VpcOwnerId": d["VpcOwnerId"],
        "VpcRegionId": attachment.region_id,
        "ChargeType": d["ChargeType"],
        "OrderType": "PayByCenOwner",
        "ZoneMappings": [{**z, "NetworkInterfaceId": ""} for z in d["ZoneMappings"]],
        "TransitRouterVPCAttachmentOptions": d.get("Options", {}),
        "CreationTime": iso_seconds(attachment.created_at),
    }


# --- VBR -------------------------------------------------------------------------------------
CREATE_VBR = OperationSpec(
    (*COMMON_CREATE, Param("VbrId", required=True, pattern=r"vbr-[a-z0-9]{1,40}"), Param("VbrOwnerId", "integer"))
)


def create_vbr_attachment(ctx: CallContext, args: Args) -> dict[str, Any]:
    def details(tr: TransitRouter) -> dict[str, Any]:
        del tr
        return {"VbrId": args.text("VbrId"), "VbrOwnerId": args.opt_number("VbrOwnerId") or int(ctx.account_id)}

    return _create(ctx, args, AttachmentKind.VBR, details)


def render_vbr(attachment: Attachment) -> dict[str, Any]:
    d = attachment.details
    return {
        "VbrId": d["VbrId"],
        "VbrOwnerId": d["VbrOwnerId"],
        "VbrRegionId": attachment.region_id,
        "OrderType": "PayByCenOwner",
        "CreationTime": iso_seconds(attachment.created_at),
    }


# --- inter-region (peer) ---------------------------------------------------------------------
CREATE_PEER = OperationSpec(
    (
        *COMMON_CREATE,
        Param("PeerTransitRouterId", required=True),
        Param("PeerTransitRouterRegionId"),
        Param("BandwidthType", default="BandwidthPackage", choices=("BandwidthPackage", "DataTransfer")),
        Param("Bandwidth", "integer", minimum=0, maximum=100_000_000),
        Param("CenBandwidthPackageId"),
        Param("DefaultLinkType", default="Gold", choices=("Gold", "Platinum")),
    )
)


def create_peer_attachment(ctx: CallContext, args: Args) -> dict[str, Any]:
    peer = network.get_transit_router(ctx.tx, args.text("PeerTransitRouterId"), account_id=ctx.account_id)
    if peer is None:
        raise e.PEER_NOT_FOUND()
    if args.opt_text("PeerTransitRouterRegionId") not in (None, peer.region_id):
        raise e.ILLEGAL_PEER_REGION(f"{peer.transit_router_id} is in {peer.region_id}.")
    if args.text("DefaultLinkType") == "Platinum" and args.text("BandwidthType") != "DataTransfer":
        raise e.BANDWIDTH_PACKAGE_LINK_TYPE()

    def details(tr: TransitRouter) -> dict[str, Any]:
        if peer.cen_id != tr.cen_id:
            raise e.ILLEGAL_PEER(f"{peer.transit_router_id} belongs to another CEN.")
        if peer.region_id == tr.region_id:
            raise e.ILLEGAL_PEER_REGION("An inter-region connection joins transit routers of two regions.")
        peer.require_active()
        return {
            "PeerTransitRouterId": peer.transit_router_id,
            "PeerTransitRouterRegionId": peer.region_id,
            "PeerTransitRouterOwnerId": int(ctx.account_id),
            "BandwidthType": args.text("BandwidthType"),
            "Bandwidth": args.opt_number("Bandwidth") or 0,
            "CenBandwidthPackageId": args.opt_text("CenBandwidthPackageId") or "",
            "DefaultLinkType": args.text("DefaultLinkType"),
            "GeographicSpanId": _geographic_span(tr.region_id, peer.region_id),
        }

    return _create(ctx, args, AttachmentKind.PEER, details)


def _geographic_span(a: str, b: str) -> str:
    def area(region: str) -> str:
        return "china" if region.startswith("cn-") and region != "cn-hongkong" else "asia-pacific"

    first, second = sorted((area(a), area(b)))
    return f"{first}_{second}"


def render_peer(attachment: Attachment) -> dict[str, Any]:
    d = attachment.details
    return {
        "RegionId": attachment.region_id,
        "PeerTransitRouterId": d["PeerTransitRouterId"],
        "PeerTransitRouterRegionId": d["PeerTransitRouterRegionId"],
        "PeerTransitRouterOwnerId": d["PeerTransitRouterOwnerId"],
        "BandwidthType": d["BandwidthType"],
        "Bandwidth": d["Bandwidth"],
        "CenBandwidthPackageId": d["CenBandwidthPackageId"],
        "GeographicSpanId": d["GeographicSpanId"],
        "DefaultLinkType": d["DefaultLinkType"],
        "CreationTime": iso_minutes(attachment.created_at),
    }


# --- list and delete, shared --------------------------------------------------------------
def _list_spec(*extra: Param) -> OperationSpec:
    return OperationSpec(
        (
            Param("CenId"),
            OPTIONAL_REGION_ID,
            Param("TransitRouterId"),
            Param("TransitRouterAttachmentId"),
            MAX_RESULTS,
            NEXT_TOKEN,
            TAGS,
            *extra,
        )
    )


def _lister(
    kind: AttachmentKind, render_kind: Callable[[Attachment], dict[str, Any]], instance_filter: str | None
) -> Callable[[CallContext, Args], dict[str, Any]]:
    resource_type = ATTACHMENT_TAG_TYPE[kind]

    def list_attachments(ctx: CallContext, args: Args) -> dict[str, Any]:
        where: list[ColumnElement[bool]] = [table.c.account_id == ctx.account_id, table.c.kind == kind.value]
        for name, column in (
            ("CenId", table.c.cen_id),
            ("RegionId", table.c.region_id),
            ("TransitRouterId", table.c.transit_router_id),
            ("TransitRouterAttachmentId", table.c.attachment_id),
            ("Status", table.c.status),
        ):
            if name in args:
                where.append(column == args.text(name))
        if instance_filter is not None and instance_filter in args:
            where.append(table.c.instance_id == args.text(instance_filter))
        where.extend(having_tags(table.c.attachment_id, resource_type, tag_filters(args.items("Tag"))))
        page = by_token(ctx.tx, table, where, args.opt_text("NextToken"), args.number("MaxResults"))
        items = [network.attachment_from_row(r) for r in page.rows]
        tags = tags_of(ctx.tx, resource_type, [a.attachment_id for a in items])
        return {
            "TotalCount": page.total,
            "MaxResults": args.number("MaxResults"),
            "NextToken": page.next_token,
            "TransitRouterAttachments": [_render(a, tags[a.attachment_id], render_kind) for a in items],
        }

    return list_attachments


def _render(
    attachment: Attachment, tags: dict[str, str], render_kind: Callable[[Attachment], dict[str, Any]]
) -> dict[str, Any]:
    return {
        "TransitRouterAttachmentId": attachment.attachment_id,
        "TransitRouterId": attachment.transit_router_id,
        "CenId": attachment.cen_id,
        "Status": attachment.status,
        "ResourceType": attachment.kind.value,
        "TransitRouterAttachmentName": attachment.name,
        "TransitRouterAttachmentDescription": attachment.description,
        "AutoPublishRouteEnabled": attachment.auto_publish_route,
        "Tags": tag_list(tags),
        **render_kind(attachment),
    }


DELETE = OperationSpec(
    (CLIENT_TOKEN, DRY_RUN, Param("TransitRouterAttachmentId", required=True), Param("Force", "boolean"))
)


def _deleter(kind: AttachmentKind) -> Callable[[CallContext, Args], dict[str, Any]]:
    def delete_attachment(ctx: CallContext, args: Args) -> dict[str, Any]:
        attachment = network.get_attachment(
            ctx.tx, args.text("TransitRouterAttachmentId"), account_id=ctx.account_id, lock=True
        )
        if attachment is None or attachment.kind != kind:
            raise e.ATTACHMENT_NOT_FOUND()
        if flowlog_repo.flowlog_by_scope(ctx.tx, attachment.attachment_id) is not None:
            raise e.FLOWLOG_EXISTS_ON_RESOURCE("Delete the attachment's flow log first.")
        transition = attachment.delete()
        dry_run_passes(ctx, args.flag("DryRun"))
        network.set_attachment_status(ctx.tx, attachment.attachment_id, attachment.status)
        schedule(ctx, transition)
        return {}

    return delete_attachment


_STATUS = Param("Status", choices=tuple(s.value for s in AttachmentStatus))
OPERATIONS = [
    Operation(CBN, "CreateTransitRouterVpcAttachment", CREATE_VPC, create_vpc_attachment, mutating=True),
    Operation(
        CBN,
        "ListTransitRouterVpcAttachments",
        _list_spec(Param("VpcId"), _STATUS, Param("OrderType")),
        _lister(AttachmentKind.VPC, render_vpc, "VpcId"),
    ),
    Operation(
        CBN,
        "DeleteTransitRouterVpcAttachment",
        DELETE,
        _deleter(AttachmentKind.VPC),
        _attachment_resource,
        mutating=True,
    ),
    Operation(CBN, "CreateTransitRouterVbrAttachment", CREATE_VBR, create_vbr_attachment, mutating=True),
    Operation(
        CBN,
        "ListTransitRouterVbrAttachments",
        _list_spec(Param("VbrId"), _STATUS),
        _lister(AttachmentKind.VBR, render_vbr, "VbrId"),
    ),
    Operation(
        CBN,
        "DeleteTransitRouterVbrAttachment",
        DELETE,
        _deleter(AttachmentKind.VBR),
        _attachment_resource,
        mutating=True,
    ),
    Operation(CBN, "CreateTransitRouterPeerAttachment", CREATE_PEER, create_peer_attachment, mutating=True),
    Operation(
        CBN,
        "ListTransitRouterPeerAttachments",
        _list_spec(_STATUS),
        _lister(AttachmentKind.PEER, render_peer, None),
    ),
    Operation(
        CBN,
        "DeleteTransitRouterPeerAttachment",
        DELETE,
        _deleter(AttachmentKind.PEER),
        _attachment_resource,
        mutating=True,
    ),
]
