"""Reading what to collect from the control plane's database: topology and Active flow logs."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, select

from cenflow.collector.topology import (
    CIDR_TAG,
    EXPORTER_TAG,
    IFINDEX_TAG,
    AttachmentBinding,
    RouterBinding,
    Topology,
    parse_exporters,
    parse_ifindexes,
    parse_prefixes,
)
from cenflow.domain.flowlogs import FlowLog
from cenflow.domain.network import AttachmentKind
from cenflow.domain.resources import ATTACHMENT_TAG_TYPE, TRANSIT_ROUTER
from cenflow.domain.states import AttachmentStatus, TransitRouterStatus
from cenflow.store import flowlogs as flowlog_repo
from cenflow.store import network
from cenflow.store.database import Database
from cenflow.store.epochs import collection_epoch
from cenflow.store.tables import attachments, tags, transit_routers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectionPlan:
    """Everything the collector needs to know, read in one consistent snapshot."""

    topology: Topology
    active: tuple[FlowLog, ...]
    # Flow log id -> the attachments it captures (all Attached ones of its router, or its own).
    scopes: dict[str, tuple[str, ...]]
    problems: tuple[str, ...]  # tag values that could not be parsed (reported, then ignored)
    epoch: int = 0  # the change epoch it was read at (store.epochs)


def load_plan(database: Database) -> CollectionPlan:
    with database.read() as tx:
        return _load(tx)


def current_epoch(database: Database) -> int:
    """One row read: whether the plan may have changed since it was loaded."""
    with database.read() as tx:
        return collection_epoch(tx)


def _tags_by_resource(tx: Connection, keys: tuple[str, ...]) -> dict[tuple[str, str], dict[str, str]]:
    result: dict[tuple[str, str], dict[str, str]] = {}
    for row in tx.execute(select(tags).where(tags.c.key.in_(keys))):
        result.setdefault((row.resource_type, row.resource_id), {})[row.key] = row.value
    return result


def _load(tx: Connection) -> CollectionPlan:
    epoch = collection_epoch(tx)
    problems: list[str] = []
    tag_values = _tags_by_resource(tx, (EXPORTER_TAG, IFINDEX_TAG, CIDR_TAG))
    exporter_routers = {
        rid: t[EXPORTER_TAG] for (rtype, rid), t in tag_values.items() if rtype == TRANSIT_ROUTER and EXPORTER_TAG in t
    }
    routers: list[RouterBinding] = []
    if exporter_routers:
        tr_rows = tx.execute(
            select(transit_routers).where(
                transit_routers.c.transit_router_id.in_(list(exporter_routers)),
                transit_routers.c.status == TransitRouterStatus.ACTIVE.value,
            )
        ).all()
        regions = {r.transit_router_id: r.region_id for r in tx.execute(select(transit_routers))}
        for tr_row in tr_rows:
            tr = network.transit_router_from_row(tr_row)
            try:
                exporters = parse_exporters(exporter_routers[tr.transit_router_id])
            except ValueError as exc:
                problems.append(f"{tr.transit_router_id} {EXPORTER_TAG}: {exc}")
                continue
            bound: list[AttachmentBinding] = []
            att_rows = tx.execute(
                select(attachments).where(
                    attachments.c.transit_router_id == tr.transit_router_id,
                    attachments.c.status == AttachmentStatus.ATTACHED.value,
                )
            )
            for att_row in att_rows:
                attachment = network.attachment_from_row(att_row)
                own = tag_values.get((ATTACHMENT_TAG_TYPE[attachment.kind], attachment.attachment_id), {})
                try:
                    ifindexes = parse_ifindexes(own[IFINDEX_TAG]) if IFINDEX_TAG in own else frozenset()
                    prefixes = parse_prefixes(own[CIDR_TAG]) if CIDR_TAG in own else ()
                except ValueError as exc:
                    problems.append(f"{attachment.attachment_id}: {exc}")
                    continue
                if not ifindexes and not prefixes:
                    continue
                remote = (
                    regions.get(attachment.instance_id, tr.region_id)
                    if attachment.kind == AttachmentKind.PEER
                    else attachment.region_id
                )
                bound.append(
                    AttachmentBinding(
                        attachment.attachment_id,
                        tr.transit_router_id,
                        attachment.kind.value,
                        remote,
                        ifindexes,
                        prefixes,
                    )
                )
            routers.append(
                RouterBinding(tr.transit_router_id, tr.cen_id, tr.account_id, tr.region_id, exporters, tuple(bound))
            )
    for problem in problems:
        log.warning("ignored a cenflow tag", extra={"problem": problem})
    active = tuple(flowlog_repo.active_flowlogs(tx))
    whole_router = {f.transit_router_id for f in active if not f.attachment_id}
    attached: dict[str, list[str]] = {}
    if whole_router:
        # One query for every router's attachments (not one per flow log: there may be 100,000).
        rows = tx.execute(
            select(attachments.c.transit_router_id, attachments.c.attachment_id)
            .where(attachments.c.status == AttachmentStatus.ATTACHED.value)
            .order_by(attachments.c.seq)
        )
        for row in rows:
            if row.transit_router_id in whole_router:
                attached.setdefault(row.transit_router_id, []).append(row.attachment_id)
    scopes = {
        f.flow_log_id: (f.attachment_id,) if f.attachment_id else tuple(attached.get(f.transit_router_id, ()))
        for f in active
    }
    return CollectionPlan(Topology(tuple(routers)), active, scopes, tuple(problems), epoch)
