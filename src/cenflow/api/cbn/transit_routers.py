"""Transit routers (Enterprise Edition): CreateTransitRouter, ListTransitRouters, DeleteTransitRouter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement

from cenflow.api.cbn import CBN
from cenflow.api.cbn.common import (
    CLIENT_TOKEN,
    DRY_RUN,
    OPTIONAL_REGION_ID,
    REGION_ID,
    TAGS,
    check_region,
    dry_run_passes,
    iso_seconds,
    page_number,
    schedule,
)
from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain import errors as e
from cenflow.domain.ids import new_transit_router_id
from cenflow.domain.network import TransitRouter, check_transit_router_cidrs, creation
from cenflow.domain.resources import TRANSIT_ROUTER
from cenflow.domain.rules import check_description, check_name, check_tags, tag_filters
from cenflow.domain.states import TransitRouterStatus
from cenflow.domain.transitions import ResourceKind
from cenflow.store import flowlogs as flowlog_repo
from cenflow.store import network
from cenflow.store.paging import by_page_number
from cenflow.store.tables import transit_routers as table
from cenflow.store.tags import having_tags, put_tags, tag_list, tags_of
from cenflow.wire.spec import Args, ListParam, OperationSpec, Param


def transit_router_arn(ctx: CallContext, tr_id: str) -> str:
    return f"acs:cen:*:{ctx.account_id}:centransitrouter/{tr_id}"


def _tr_resource(ctx: CallContext, args: Args) -> Sequence[str]:
    return (transit_router_arn(ctx, args.text("TransitRouterId")),)


CREATE = OperationSpec(
    (
        CLIENT_TOKEN,
        Param("CenId", required=True),
        REGION_ID,
        Param("TransitRouterName"),
        Param("TransitRouterDescription"),
        Param("SupportMulticast", "boolean", default=False),
        Param("TransitRouterCidrList", "json", invalid=e.ILLEGAL_CIDR),
        DRY_RUN,
        TAGS,
    )
)


def create_transit_router(ctx: CallContext, args: Args) -> dict[str, Any]:
    tx = ctx.tx
    region_id = check_region(ctx, args.text("RegionId"))
    name = check_name(args.opt_text("TransitRouterName"), "TransitRouterName")
    description = check_description(args.opt_text("TransitRouterDescription"), "TransitRouterDescription")
    cidrs = check_transit_router_cidrs(args.value("TransitRouterCidrList"))
    tags = check_tags(args.items("Tag"))
    cen = network.get_cen(tx, args.text("CenId"), account_id=ctx.account_id, lock=True)
    if cen is None:
        raise e.CEN_NOT_FOUND()
    cen.require_active()
    if network.transit_routers_of_cen(tx, cen.cen_id, region_id):
        raise e.TR_EXISTS(f"{cen.cen_id} already has a transit router in {region_id}.")
    dry_run_passes(ctx, args.flag("DryRun"))
    tr_id = new_transit_router_id()
    transit_router = TransitRouter(
        transit_router_id=tr_id,
        account_id=ctx.account_id,
        cen_id=cen.cen_id,
        region_id=region_id,
        name=name,
        description=description,
        type="Enterprise",
        status=TransitRouterStatus.CREATING,
        support_multicast=args.flag("SupportMulticast"),
        cidrs=[{**c, "TransitRouterCidrId": f"cidr-{tr_id[3:]}{i}"} for i, c in enumerate(cidrs)],
        created_at=ctx.now,
    )
    network.insert_transit_router(tx, transit_router)
    put_tags(tx, TRANSIT_ROUTER, tr_id, tags)
    schedule(ctx, creation(ResourceKind.TRANSIT_ROUTER, tr_id))
    return {"TransitRouterId": tr_id}


LIST = OperationSpec(
    (
        *page_number(default_size=10, max_size=50),
        Param("CenId"),
        Param("TransitRouterId"),
        OPTIONAL_REGION_ID,
        Param("Status"),
        Param("Type", choices=("Enterprise", "Basic")),
        Param("TransitRouterName"),
        ListParam(
            "FeatureFilter",
            fields=(
                Param("Key", choices=("Multicast",)),
                ListParam("Value", item=Param("Value", choices=("Enabled", "Disabled")), max_items=1),
            ),
            max_items=1,
        ),
        TAGS,
    )
)


def list_transit_routers(ctx: CallContext, args: Args) -> dict[str, Any]:
    if not any(name in args for name in ("TransitRouterId", "CenId", "RegionId")):
        raise e.LIST_TR_NEEDS_SCOPE()
    where: list[ColumnElement[bool]] = [table.c.account_id == ctx.account_id]
    for name, column in (
        ("CenId", table.c.cen_id),
        ("TransitRouterId", table.c.transit_router_id),
        ("RegionId", table.c.region_id),
        ("Status", table.c.status),
        ("Type", table.c.type),
        ("TransitRouterName", table.c.name),
    ):
        if name in args:
            where.append(column == args.text(name))
    for feature in args.items("FeatureFilter"):
        for value in feature["Value"]:
            where.append(table.c.support_multicast.is_(value == "Enabled"))
    where.extend(having_tags(table.c.transit_router_id, TRANSIT_ROUTER, tag_filters(args.items("Tag"))))
    page_size = args.number("PageSize")
    page = by_page_number(ctx.tx, table, where, args.number("PageNumber"), page_size)
    items = [network.transit_router_from_row(r) for r in page.rows]
    tags = tags_of(ctx.tx, TRANSIT_ROUTER, [t.transit_router_id for t in items])
    return {
        "PageNumber": args.number("PageNumber"),
        "PageSize": page_size,
        "TotalCount": page.total,
        "TransitRouters": [render(t, tags[t.transit_router_id]) for t in items],
    }


def render(tr: TransitRouter, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "TransitRouterId": tr.transit_router_id,
        "TransitRouterName": tr.name,
        "TransitRouterDescription": tr.description,
        "CenId": tr.cen_id,
        "RegionId": tr.region_id,
        "Type": tr.type,
        "Status": tr.status,
        "CreationTime": iso_seconds(tr.created_at),
        "AliUid": int(tr.account_id),
        "SupportMulticast": tr.support_multicast,
        "Tags": tag_list(tags),
        "TransitRouterCidrList": tr.cidrs,
    }


DELETE = OperationSpec((CLIENT_TOKEN, DRY_RUN, Param("TransitRouterId", required=True)))


def delete_transit_router(ctx: CallContext, args: Args) -> dict[str, Any]:
    tx = ctx.tx
    tr = network.get_transit_router(tx, args.text("TransitRouterId"), account_id=ctx.account_id, lock=True)
    if tr is None:
        raise e.TR_NOT_FOUND()
    if flowlog_repo.flowlogs_touching(tx, tr.transit_router_id, []):
        raise e.FLOWLOG_EXISTS_ON_RESOURCE("Delete the transit router's flow logs first.")
    if network.attachments_of_transit_router(tx, tr.transit_router_id) or network.peer_attachments_to(
        tx, tr.transit_router_id
    ):
        raise e.TR_HAS_ATTACHMENTS("Delete the transit router's network instance connections first.")
    transition = tr.delete()
    dry_run_passes(ctx, args.flag("DryRun"))
    network.set_transit_router_status(tx, tr.transit_router_id, tr.status)
    schedule(ctx, transition)
    return {}


OPERATIONS = [
    Operation(CBN, "CreateTransitRouter", CREATE, create_transit_router, mutating=True),
    Operation(CBN, "ListTransitRouters", LIST, list_transit_routers),
    Operation(CBN, "DeleteTransitRouter", DELETE, delete_transit_router, _tr_resource, mutating=True),
]
