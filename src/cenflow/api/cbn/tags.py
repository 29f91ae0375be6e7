"""Tags: TagResources, UntagResources, ListTagResources for CEN, transit routers, attachments, flow logs.

``ResourceType`` is matched case-insensitively (callers send ``cen``, ``flowlog``, ``Flowlog``)
and echoed in its canonical spelling.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, exists, or_, select

from cenflow.api.cbn import CBN
from cenflow.api.cbn.common import OPTIONAL_REGION_ID
from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain import errors as e
from cenflow.domain import resources as types
from cenflow.domain.network import AttachmentKind
from cenflow.domain.rules import MAX_TAGS_PER_RESOURCE, check_tags
from cenflow.store import tables
from cenflow.store.tags import put_tags, remove_tags, tags_of
from cenflow.wire.spec import Args, ListParam, OperationSpec, Param, tag_list

MAX_RESOURCES = 20
RESOURCE_IDS = ListParam("ResourceId", item=Param("ResourceId"), max_items=MAX_RESOURCES, too_many=e.RESOURCE_ID_LIMIT)

# type -> (table, id column name, region column name or None, extra condition)
_LOCATIONS: dict[str, tuple[Table, str, str | None, ColumnElement[bool] | None]] = {
    types.CEN: (tables.cens, "cen_id", None, None),
    types.TRANSIT_ROUTER: (tables.transit_routers, "transit_router_id", "region_id", None),
    types.VPC_ATTACHMENT: (
        tables.attachments,
        "attachment_id",
        "region_id",
        tables.attachments.c.kind == AttachmentKind.VPC.value,
    ),
    types.VBR_ATTACHMENT: (
        tables.attachments,
        "attachment_id",
        "region_id",
        tables.attachments.c.kind == AttachmentKind.VBR.value,
    ),
    types.PEER_ATTACHMENT: (
        tables.attachments,
        "attachment_id",
        "region_id",
        tables.attachments.c.kind == AttachmentKind.PEER.value,
    ),
    types.FLOWLOG: (tables.flowlogs, "flow_log_id", "region_id", None),
}


def _existing(tx: Connection, account_id: str, resource_type: str, ids: Sequence[str], region: str | None) -> set[str]:
    table, id_name, region_name, extra = _LOCATIONS[resource_type]
    id_column = table.c[id_name]
    query = select(id_column).where(id_column.in_(list(ids)), table.c.account_id == account_id)
    if extra is not None:
        query = query.where(extra)
    if region is not None and region_name is not None:
        query = query.where(table.c[region_name] == region)
    return {row[0] for row in tx.execute(query)}


def _resources(ctx: CallContext, args: Args) -> tuple[str, list[str]]:
    resource_type = types.canonical_resource_type(args.text("ResourceType"))
    ids = list(dict.fromkeys(args.items("ResourceId")))
    if not ids:
        raise e.MISSING_PARAM(detail="ResourceId.N must be specified.")
    found = _existing(ctx.tx, ctx.account_id, resource_type, ids, args.opt_text("RegionId"))
    missing = [i for i in ids if i not in found]
    if missing:
        raise e.RESOURCE_IDS_NOT_FOUND(f"Not found: {', '.join(m[:64] for m in missing[:5])}.")
    return resource_type, ids


TAG = OperationSpec(
    (
        Param("ResourceType", required=True),
        RESOURCE_IDS,
        tag_list("Tag", max_items=MAX_TAGS_PER_RESOURCE, too_many=e.TAG_QUOTA, required=True),
        OPTIONAL_REGION_ID,
    )
)


def tag_resources(ctx: CallContext, args: Args) -> dict[str, Any]:
    values = check_tags(args.items("Tag"), require_value=True)
    resource_type, ids = _resources(ctx, args)
    current = tags_of(ctx.tx, resource_type, ids)
    for resource_id in ids:
        if len(set(current[resource_id]) | set(values)) > MAX_TAGS_PER_RESOURCE:
            raise e.TAG_QUOTA(f"{resource_id} would carry more than {MAX_TAGS_PER_RESOURCE} tags.")
    for resource_id in ids:
        put_tags(ctx.tx, resource_type, resource_id, values)
    return {}


UNTAG = OperationSpec(
    (
        Param("ResourceType", required=True),
        RESOURCE_IDS,
        ListParam("TagKey", item=Param("TagKey"), max_items=MAX_TAGS_PER_RESOURCE, too_many=e.TAG_QUOTA),
        Param("All", "boolean", default=False),
        OPTIONAL_REGION_ID,
    )
)


def untag_resources(ctx: CallContext, args: Args) -> dict[str, Any]:
    keys = [k for k in args.items("TagKey") if k]
    if not keys and not args.flag("All"):
        raise e.MISSING_PARAM(detail="Either TagKey.N or All=true must be specified.")
    resource_type, ids = _resources(ctx, args)
    for resource_id in ids:
        remove_tags(ctx.tx, resource_type, resource_id, keys or None)
    return {}


LIST = OperationSpec(
    (
        Param("ResourceType", required=True),
        RESOURCE_IDS,
        tag_list("Tag", max_items=MAX_TAGS_PER_RESOURCE, too_many=e.TAG_QUOTA),
        Param("PageSize", "integer", default=10, minimum=1, maximum=50),
        Param("NextToken"),
        OPTIONAL_REGION_ID,
    )
)


def list_tag_resources(ctx: CallContext, args: Args) -> dict[str, Any]:
    resource_type = types.canonical_resource_type(args.text("ResourceType"))
    ids = [i for i in args.items("ResourceId") if i]
    filters: list[tuple[str, str | None]] = []
    for tag in args.items("Tag"):
        if not tag["Key"]:
            raise e.INVALID_TAG_KEY("Tag.N.Key must be given.")
        filters.append((tag["Key"], tag["Value"] if tag["Value"] not in (None, "") else None))
    if not ids and not filters:
        raise e.TAGS_AND_RESOURCES_EMPTY()
    t = tables.tags
    where: list[ColumnElement[bool]] = [t.c.resource_type == resource_type]
    if ids:
        where.append(t.c.resource_id.in_(ids))
    if filters:
        # Resources carrying every requested tag; only the requested tags are listed.
        where.append(t.c.key.in_([k for k, _ in filters]))
        other = t.alias("other")
        for key, value in filters:
            match = and_(
                other.c.resource_type == resource_type, other.c.resource_id == t.c.resource_id, other.c.key == key
            )
            if value is not None:
                match = and_(match, other.c.value == value)
            where.append(exists().where(match))
    token = args.opt_text("NextToken")
    if token:
        last_id, last_key = _decode(token)
        where.append(or_(t.c.resource_id > last_id, and_(t.c.resource_id == last_id, t.c.key > last_key)))
    size = args.number("PageSize")
    rows = ctx.tx.execute(select(t).where(*where).order_by(t.c.resource_id, t.c.key).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    body: dict[str, Any] = {
        "TagResources": {
            "TagResource": [
                {"ResourceId": r.resource_id, "ResourceType": resource_type, "TagKey": r.key, "TagValue": r.value}
                for r in rows
            ]
        }
    }
    body["NextToken"] = _encode(rows[-1].resource_id, rows[-1].key) if more else ""
    return body


def _encode(resource_id: str, key: str) -> str:
    return base64.urlsafe_b64encode(f"{resource_id}\x00{key}".encode()).decode()


def _decode(token: str) -> tuple[str, str]:
    try:
        resource_id, sep, key = base64.urlsafe_b64decode(token.encode()).decode().partition("\x00")
    except (ValueError, UnicodeDecodeError) as exc:
        raise e.ILLEGAL_NEXT_TOKEN() from exc
    if not sep:
        raise e.ILLEGAL_NEXT_TOKEN()
    return resource_id, key


OPERATIONS = [
    Operation(CBN, "TagResources", TAG, tag_resources, mutating=True),
    Operation(CBN, "UntagResources", UNTAG, untag_resources, mutating=True),
    Operation(CBN, "ListTagResources", LIST, list_tag_resources),
]
