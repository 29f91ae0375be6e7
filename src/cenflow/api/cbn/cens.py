"""CEN instances: CreateCen, DescribeCens, DeleteCen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement

from cenflow.api.cbn import CBN
from cenflow.api.cbn.common import CLIENT_TOKEN, TAGS, iso_minutes, page_number, schedule, wrapped_tags
from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain import errors as e
from cenflow.domain.ids import new_cen_id
from cenflow.domain.network import PROTECTION_LEVELS, Cen, creation
from cenflow.domain.resources import CEN
from cenflow.domain.rules import check_description, check_name, check_tags, tag_filters
from cenflow.domain.states import CenStatus
from cenflow.domain.transitions import ResourceKind
from cenflow.store import flowlogs as flowlog_repo
from cenflow.store import network
from cenflow.store.paging import by_page_number
from cenflow.store.tables import cens as table
from cenflow.store.tags import having_tags, put_tags, tags_of
from cenflow.wire.spec import Args, ListParam, OperationSpec, Param


def cen_arn(ctx: CallContext, cen_id: str) -> str:
    return f"acs:cen:*:{ctx.account_id}:ceninstance/{cen_id}"


def _cen_resource(ctx: CallContext, args: Args) -> Sequence[str]:
    return (cen_arn(ctx, args.text("CenId")),)


CREATE = OperationSpec(
    (
        CLIENT_TOKEN,
        Param("Name"),
        Param("Description"),
        Param("ProtectionLevel", default="REDUCED", choices=PROTECTION_LEVELS),
        Param("ResourceGroupId"),
        TAGS,
    )
)


def create_cen(ctx: CallContext, args: Args) -> dict[str, Any]:
    cen = Cen(
        cen_id=new_cen_id(),
        account_id=ctx.account_id,
        name=check_name(args.opt_text("Name"), "Name"),
        description=check_description(args.opt_text("Description")),
        protection_level=args.text("ProtectionLevel"),
        ipv6_level="DISABLED",
        resource_group_id=args.opt_text("ResourceGroupId") or f"rg-acfm{ctx.account_id[-8:]}default",
        status=CenStatus.CREATING,
        created_at=ctx.now,
    )
    tags = check_tags(args.items("Tag"))
    network.insert_cen(ctx.tx, cen)
    put_tags(ctx.tx, CEN, cen.cen_id, tags)
    schedule(ctx, creation(ResourceKind.CEN, cen.cen_id))
    return {"CenId": cen.cen_id}


DESCRIBE = OperationSpec(
    (
        *page_number(default_size=10, max_size=50),
        Param("ResourceGroupId"),
        ListParam(
            "Filter",
            fields=(Param("Key", choices=("CenId", "Name")), ListParam("Value", item=Param("Value"), max_items=5)),
            max_items=5,
        ),
        TAGS,
    )
)


def describe_cens(ctx: CallContext, args: Args) -> dict[str, Any]:
    where: list[ColumnElement[bool]] = [table.c.account_id == ctx.account_id]
    if "ResourceGroupId" in args:
        where.append(table.c.resource_group_id == args.text("ResourceGroupId"))
    for flt in args.items("Filter"):
        values = [v for v in flt["Value"] if v]
        if not flt["Key"] or not values:
            raise e.INVALID_PARAMETER("Each Filter.N needs a Key (CenId or Name) and at least one Value.M.")
        column = table.c.cen_id if flt["Key"] == "CenId" else table.c.name
        where.append(column.in_(values))
    where.extend(having_tags(table.c.cen_id, CEN, tag_filters(args.items("Tag"))))
    page_size = args.number("PageSize")
    page = by_page_number(ctx.tx, table, where, args.number("PageNumber"), page_size)
    items = [network.cen_from_row(r) for r in page.rows]
    tags = tags_of(ctx.tx, CEN, [c.cen_id for c in items])
    return {
        "PageNumber": args.number("PageNumber"),
        "PageSize": page_size,
        "TotalCount": page.total,
        "Cens": {"Cen": [render(c, tags[c.cen_id]) for c in items]},
    }


def render(cen: Cen, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "CenId": cen.cen_id,
        "Name": cen.name,
        "Description": cen.description,
        "Status": cen.status,
        "ProtectionLevel": cen.protection_level,
        "CreationTime": iso_minutes(cen.created_at),
        "ResourceGroupId": cen.resource_group_id,
        "Ipv6Level": cen.ipv6_level,
        "CenBandwidthPackageIds": {"CenBandwidthPackageId": []},
        "Tags": wrapped_tags(tags),
    }


DELETE = OperationSpec((Param("CenId", required=True), CLIENT_TOKEN))


def delete_cen(ctx: CallContext, args: Args) -> dict[str, Any]:
    cen = network.get_cen(ctx.tx, args.text("CenId"), account_id=ctx.account_id, lock=True)
    if cen is None:
        raise e.CEN_NOT_FOUND()
    if network.attachments_of_cen(ctx.tx, cen.cen_id):
        raise e.CEN_HAS_ATTACHMENTS("Delete the CEN's network instance connections first.")
    for tr in network.transit_routers_of_cen(ctx.tx, cen.cen_id):
        if flowlog_repo.flowlogs_touching(ctx.tx, tr.transit_router_id, []):
            raise e.FLOWLOG_EXISTS_ON_RESOURCE(f"Delete the flow logs of {tr.transit_router_id} first.")
        tr.require_active()
    transition = cen.delete()
    network.set_cen_status(ctx.tx, cen.cen_id, cen.status)
    schedule(ctx, transition)
    return {}


OPERATIONS = [
    Operation(CBN, "CreateCen", CREATE, create_cen, mutating=True),
    Operation(CBN, "DescribeCens", DESCRIBE, describe_cens),
    Operation(CBN, "DeleteCen", DELETE, delete_cen, _cen_resource, mutating=True),
]
