"""The flow-log lifecycle: CreateFlowlog, DescribeFlowlogs, Active/Deactive, Modify, Delete."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam
from sqlalchemy.exc import IntegrityError

from cenflow.api.cbn import CBN
from cenflow.api.cbn.common import (
    CLIENT_TOKEN,
    OPTIONAL_REGION_ID,
    REGION_ID,
    TAGS,
    check_region,
    iso_seconds,
    page_number,
    schedule,
    wrapped_tags,
)
from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain import errors as e
from cenflow.domain import flowlogs as rules
from cenflow.domain.flowlogs import FlowLog
from cenflow.domain.ids import new_flow_log_id
from cenflow.domain.network import Attachment, TransitRouter
from cenflow.domain.resources import FLOWLOG
from cenflow.domain.rules import (
    check_description,
    check_logstore_name,
    check_name,
    check_project_name,
    check_tags,
    tag_filters,
)
from cenflow.domain.states import AttachmentStatus, FlowLogStatus, TransitRouterStatus
from cenflow.errors import ErrorSpec
from cenflow.store import flowlogs as repo
from cenflow.store import network, sls
from cenflow.store.driver import DriverStatement, column_list
from cenflow.store.paging import PageQuery, page_by_number, page_of, page_query
from cenflow.store.tables import flowlogs as table
from cenflow.store.tags import having_tags, put_tags, tags_of
from cenflow.wire.spec import Args, OperationSpec, Param


def flowlog_arn(ctx: CallContext, region_id: str, flow_log_id: str) -> str:
    return f"acs:cbn:{region_id}:{ctx.account_id}:flowlog/{flow_log_id}"


def _flowlog_resource(ctx: CallContext, args: Args) -> Sequence[str]:
    return (flowlog_arn(ctx, args.text("RegionId"), args.text("FlowLogId")),)


def _flowlogs_listed(ctx: CallContext, args: Args) -> Sequence[str]:
    """DescribeFlowlogs is authorised on ``flowlog/<FlowLogId>`` when the call names one, else on
    ``flowlog/*`` (RegionId, or ``*`` without one): a caller allowed only some flow logs is refused
    a listing of all of them (see docs/iam.md)."""
    region = args.opt_text("RegionId") or "*"
    return (flowlog_arn(ctx, region, args.opt_text("FlowLogId") or "*"),)


# --- CreateFlowlog --------------------------------------------------------------------------
CREATE = OperationSpec(
    (
        CLIENT_TOKEN,
        REGION_ID,
        Param("CenId", required=True),
        Param("ProjectName"),
        Param("LogStoreName"),
        Param("TransitRouterId"),
        Param("TransitRouterAttachmentId"),
        Param("Interval", "integer", default=rules.DEFAULT_INTERVAL, invalid=e.INVALID_INTERVAL),
        Param("LogFormatString", max_length=rules.MAX_LOG_FORMAT, invalid=e.INVALID_LOG_FORMAT),
        Param("FlowLogName"),
        Param("Description"),
        TAGS,
    )
)


def create_flowlog(ctx: CallContext, args: Args) -> dict[str, Any]:
    tx, account = ctx.tx, ctx.account_id
    region_id = check_region(ctx, args.text("RegionId"))
    name = check_name(args.opt_text("FlowLogName"), "FlowLogName")
    description = check_description(args.opt_text("Description"))
    interval = rules.check_interval(args.number("Interval"))
    log_format = args.opt_text("LogFormatString") or ""
    if log_format:
        rules.parse_log_format(log_format)
    tags = check_tags(args.items("Tag"))
    cen = network.get_cen(tx, args.text("CenId"), account_id=account, lock=True)
    if cen is None:
        raise e.CEN_NOT_FOUND()
    transit_router, attachment = _scope(ctx, args, cen.cen_id, region_id)
    project = check_project_name(args.opt_text("ProjectName") or default_project(account, region_id))
    logstore = check_logstore_name(args.opt_text("LogStoreName") or DEFAULT_LOGSTORE)
    _check_scope_is_free(tx, transit_router, attachment)
    if repo.count_flowlogs(tx, account) >= ctx.services.settings.flowlog_quota:
        raise e.FLOWLOG_QUOTA(f"The quota is {ctx.services.settings.flowlog_quota} flow logs.")
    _ensure_project_and_logstore(ctx, project, logstore, region_id)
    flowlog = FlowLog(
        flow_log_id=new_flow_log_id(),
        account_id=account,
        region_id=region_id,
        cen_id=cen.cen_id,
        transit_router_id=transit_router.transit_router_id,
        attachment_id=attachment.attachment_id if attachment else None,
        name=name,
        description=description,
        project_name=project,
        logstore_name=logstore,
        interval=interval,
        log_format=log_format,
        version=rules.CURRENT_VERSION,
        status=FlowLogStatus.CREATING,
        created_at=ctx.now,
    )
    try:
        with tx.begin_nested():
            repo.insert_flowlog(tx, flowlog)
    except IntegrityError as exc:
        # A concurrent create for the same scope committed first (PostgreSQL without the row lock).
        raise e.TR_FLOWLOG_STATUS("Another flow log for this scope was created at the same time.") from exc
    put_tags(tx, FLOWLOG, flowlog.flow_log_id, tags)
    schedule(ctx, rules.creation(flowlog.flow_log_id))
    return {"FlowLogId": flowlog.flow_log_id, "Success": "true"}


DEFAULT_LOGSTORE = "cen-flowlog"


def default_project(account_id: str, region_id: str) -> str:
    """Where a flow log created without ProjectName delivers (SLS names are global, so per account)."""
    return f"cen-flowlog-{account_id}-{region_id}"


def _scope(ctx: CallContext, args: Args, cen_id: str, region_id: str) -> tuple[TransitRouter, Attachment | None]:
    """The transit router (and optionally the attachment) the flow log captures."""
    tx = ctx.tx
    attachment: Attachment | None = None
    attachment_id = args.opt_text("TransitRouterAttachmentId")
    tr_id = args.opt_text("TransitRouterId")
    if attachment_id is not None:
        if not attachment_id.startswith("tr-attach-"):
            raise e.ILLEGAL_ATTACHMENT_ID(f'"{attachment_id[:64]}" is not an attachment id (tr-attach-...).')
        attachment = network.get_attachment(tx, attachment_id, account_id=ctx.account_id)
        if attachment is None or attachment.cen_id != cen_id:
            raise e.ATTACHMENT_NOT_FOUND()
        if tr_id is not None and tr_id != attachment.transit_router_id:
            raise e.ILLEGAL_ATTACHMENT_ID(f"{attachment_id} is not an attachment of {tr_id}.")
        if attachment.status != AttachmentStatus.ATTACHED:
            raise e.ATTACHMENT_STATUS_FOR_FLOWLOG(f"The attachment is {attachment.status}.")
        tr_id = attachment.transit_router_id
    if tr_id is not None:
        transit_router = network.get_transit_router(tx, tr_id, account_id=ctx.account_id, lock=True)
    else:
        # One transit router per CEN and region: without an explicit id, it is that one.
        candidates = network.transit_routers_of_cen(tx, cen_id, region_id)
        transit_router = (
            network.get_transit_router(tx, candidates[0].transit_router_id, lock=True) if candidates else None
        )
    if transit_router is None or transit_router.cen_id != cen_id or transit_router.region_id != region_id:
        raise e.TR_NOT_EXIST_FOR_FLOWLOG(f"No transit router of {cen_id} in {region_id} matches.")
    if transit_router.status != TransitRouterStatus.ACTIVE:
        raise e.TR_STATUS(f"The transit router is {transit_router.status}.")
    return transit_router, attachment


def _check_scope_is_free(tx: Connection, transit_router: TransitRouter, attachment: Attachment | None) -> None:
    """One flow log per scope; a whole-TR flow log excludes attachment flow logs on that TR."""
    existing = repo.flowlogs_touching(tx, transit_router.transit_router_id, [])
    for other in existing:
        if attachment is not None and other.attachment_id not in (None, attachment.attachment_id):
            continue  # another attachment's flow log: no bearing on this one, whatever its state
        if other.status == FlowLogStatus.DELETING:
            raise e.TR_FLOWLOG_STATUS(f"{other.flow_log_id} on this transit router is still being deleted.")
        if attachment is None and other.attachment_id is None:
            raise e.TR_FLOWLOG_EXISTS(f"{other.flow_log_id} already captures {transit_router.transit_router_id}.")
        if attachment is not None and other.attachment_id == attachment.attachment_id:
            raise e.ATTACHMENT_FLOWLOG_EXISTS(f"{other.flow_log_id} already captures {attachment.attachment_id}.")
        if (attachment is None) != (other.attachment_id is None):
            raise e.INCOMPATIBLE_FLOWLOG(
                f"{other.flow_log_id} captures "
                f"{'the whole transit router' if other.attachment_id is None else other.attachment_id}."
            )


def _ensure_project_and_logstore(ctx: CallContext, project: str, logstore: str, region_id: str) -> None:
    """SLS delivery: a missing project or logstore is created, as the real service does."""
    existing = sls.get_project(ctx.tx, project)
    if existing is None:
        sls.create_project(ctx.tx, project, ctx.account_id, region_id, ctx.now)
    elif existing.region_id != region_id:
        raise e.INVALID_PROJECT_NAME(f"The project {project} is in {existing.region_id}, not {region_id}.")
    if sls.get_logstore(ctx.tx, project, logstore) is None:
        sls.create_logstore(ctx.tx, project, logstore, ctx.now, ctx.services.settings.default_retention_days)


# --- DescribeFlowlogs -----------------------------------------------------------------------
DESCRIBE = OperationSpec(
    (
        CLIENT_TOKEN,
        OPTIONAL_REGION_ID,
        Param("CenId"),
        Param("FlowLogId"),
        Param("FlowLogName"),
        Param("Description"),
        Param("ProjectName"),
        Param("LogStoreName"),
        Param("Status", choices=tuple(s.value for s in FlowLogStatus)),
        Param("TransitRouterId"),
        Param("TransitRouterAttachmentId"),
        Param("Interval", "integer", choices=rules.INTERVALS, invalid=e.INVALID_INTERVAL),
        Param("FlowLogVersion", invalid=e.INVALID_FLOWLOG_VERSION, choices=("1", "2", "3")),
        *page_number(default_size=20, max_size=50),
        TAGS,
    )
)

_EQUALITY_FILTERS = {
    "RegionId": table.c.region_id,
    "CenId": table.c.cen_id,
    "FlowLogId": table.c.flow_log_id,
    "FlowLogName": table.c.name,
    "Description": table.c.description,
    "ProjectName": table.c.project_name,
    "LogStoreName": table.c.logstore_name,
    "Status": table.c.status,
    "TransitRouterId": table.c.transit_router_id,
    "TransitRouterAttachmentId": table.c.attachment_id,
    "Interval": table.c.interval,
    "FlowLogVersion": table.c.version,
}


@functools.cache  # one entry per combination of filters given: at most 2**12
def _describe_where(names: tuple[str, ...]) -> tuple[ColumnElement[bool], ...]:
    account = table.c.account_id == bindparam("account_id")
    return (account, *(_EQUALITY_FILTERS[name] == bindparam(f"filter_{name}") for name in names))


@functools.cache
def _describe_query(names: tuple[str, ...]) -> PageQuery:
    """The listing's statements for these filters, built once (the hot path: Terraform polls by id)."""
    return page_query(table, _describe_where(names))


@functools.cache
def _describe_page(names: tuple[str, ...]) -> DriverStatement:
    """The page of a listing without tag filters, on the driver (see DriverStatement)."""
    columns = [_EQUALITY_FILTERS[name] for name in names]
    where = " AND ".join(["account_id = ?", *(f'"{column.name}" = ?' for column in columns)])
    return DriverStatement(
        f"SELECT {column_list(table)} FROM flowlogs WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
        params=(None, *columns, None, None),
        columns=tuple(table.columns),
    )


def describe_flowlogs(ctx: CallContext, args: Args) -> dict[str, Any]:
    names = tuple(name for name in _EQUALITY_FILTERS if args.value(name) not in (None, ""))
    params = {"account_id": ctx.account_id, **{f"filter_{name}": args.value(name) for name in names}}
    tag_where = having_tags(table.c.flow_log_id, FLOWLOG, tag_filters(args.items("Tag")))
    query = page_query(table, (*_describe_where(names), *tag_where)) if tag_where else _describe_query(names)
    page_size = args.number("PageSize")
    # Filtered by account (and region) only: the total is kept per account and region.
    region = args.opt_text("RegionId")
    filtered = tag_where or any(name != "RegionId" for name in names)
    total = None if filtered else (lambda: repo.count_flowlogs(ctx.tx, ctx.account_id, region))
    if tag_where:
        page = page_by_number(ctx.tx, query, params, args.number("PageNumber"), page_size, total)
    else:
        statement, values = _describe_page(names), [ctx.account_id, *(args.value(name) for name in names)]
        page = page_of(
            lambda limit, offset: [repo.FlowLogRow._make(row) for row in statement.all(ctx.tx, *values, limit, offset)],
            total or (lambda: int(ctx.tx.execute(query.count, params).scalar_one())),
            args.number("PageNumber"),
            page_size,
        )
    items = [repo.from_row(row) for row in page.rows]
    tags = tags_of(ctx.tx, FLOWLOG, [f.flow_log_id for f in items])
    return {
        "Success": "true",
        "TotalCount": str(page.total),
        "PageNumber": str(args.number("PageNumber")),
        "PageSize": str(page_size),
        "FlowLogs": {"FlowLog": [render(f, tags[f.flow_log_id]) for f in items]},
    }


def render(flowlog: FlowLog, tags: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "FlowLogId": flowlog.flow_log_id,
        "CenId": flowlog.cen_id,
        "FlowLogName": flowlog.name,
        "Description": flowlog.description,
        "Status": flowlog.status,
        "RegionId": flowlog.region_id,
        "ProjectName": flowlog.project_name,
        "LogStoreName": flowlog.logstore_name,
        "CreationTime": iso_seconds(flowlog.created_at),
        "Interval": flowlog.interval,
        "FlowLogVersion": flowlog.version,
        "TransitRouterId": flowlog.transit_router_id,
        "Tags": wrapped_tags(tags),
    }
    if flowlog.log_format:
        item["LogFormatString"] = flowlog.log_format
    if flowlog.attachment_id:
        item["TransitRouterAttachmentId"] = flowlog.attachment_id
    return item


# --- Active / Deactive / Modify / Delete ----------------------------------------------------
LIFECYCLE = OperationSpec((CLIENT_TOKEN, REGION_ID, Param("FlowLogId", required=True), Param("CenId")))
MODIFY = OperationSpec(
    (
        CLIENT_TOKEN,
        REGION_ID,
        Param("FlowLogId", required=True),
        Param("CenId"),
        Param("FlowLogName"),
        Param("Description"),
        Param("Interval", "integer", invalid=e.INVALID_INTERVAL),
    )
)


def _load(ctx: CallContext, args: Args, not_found: ErrorSpec = e.FLOWLOG_NOT_FOUND) -> FlowLog:
    flowlog = repo.get_flowlog(ctx.tx, args.text("FlowLogId"), account_id=ctx.account_id, lock=True)
    cen_id = args.opt_text("CenId")
    if flowlog is None or flowlog.region_id != args.text("RegionId") or (cen_id and cen_id != flowlog.cen_id):
        raise not_found()
    return flowlog


def _require_delivery(ctx: CallContext, flowlog: FlowLog) -> None:
    if sls.get_logstore(ctx.tx, flowlog.project_name, flowlog.logstore_name) is None:
        raise e.PROJECT_OR_LOGSTORE_MISSING(f"{flowlog.project_name}/{flowlog.logstore_name} was removed.")


def active_flowlog(ctx: CallContext, args: Args) -> dict[str, Any]:
    flowlog = _load(ctx, args)
    _require_delivery(ctx, flowlog)
    transition = flowlog.activate()
    repo.save_flowlog(ctx.tx, flowlog)
    schedule(ctx, transition)
    return {"Success": "true"}


def deactive_flowlog(ctx: CallContext, args: Args) -> dict[str, Any]:
    flowlog = _load(ctx, args)
    _require_delivery(ctx, flowlog)
    transition = flowlog.deactivate()
    repo.save_flowlog(ctx.tx, flowlog)
    schedule(ctx, transition)
    return {"Success": "true"}


def modify_flowlog_attribute(ctx: CallContext, args: Args) -> dict[str, Any]:
    flowlog = _load(ctx, args, e.FLOWLOG_NOT_FOUND_ON_MODIFY)
    interval = args.opt_number("Interval")
    transition = flowlog.modify(
        name=check_name(args.opt_text("FlowLogName"), "FlowLogName") if "FlowLogName" in args else None,
        description=check_description(args.opt_text("Description")) if "Description" in args else None,
        interval=rules.check_interval(interval) if interval is not None else None,
    )
    repo.save_flowlog(ctx.tx, flowlog)
    schedule(ctx, transition)
    return {"Success": "true"}


def delete_flowlog(ctx: CallContext, args: Args) -> dict[str, Any]:
    flowlog = _load(ctx, args)
    _require_delivery(ctx, flowlog)
    transition = flowlog.delete()
    repo.save_flowlog(ctx.tx, flowlog)
    schedule(ctx, transition)
    return {"Success": "true"}


OPERATIONS = [
    Operation(CBN, "CreateFlowlog", CREATE, create_flowlog, mutating=True),
    Operation(CBN, "DescribeFlowlogs", DESCRIBE, describe_flowlogs, _flowlogs_listed),
    Operation(CBN, "ActiveFlowLog", LIFECYCLE, active_flowlog, _flowlog_resource, mutating=True),
    Operation(CBN, "DeactiveFlowLog", LIFECYCLE, deactive_flowlog, _flowlog_resource, mutating=True),
    Operation(CBN, "ModifyFlowLogAttribute", MODIFY, modify_flowlog_attribute, _flowlog_resource, mutating=True),
    Operation(CBN, "DeleteFlowlog", LIFECYCLE, delete_flowlog, _flowlog_resource, mutating=True),
]
