"""Completing asynchronous transitions: the transient state becomes the settled one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from cenflow.domain.resources import ATTACHMENT_TAG_TYPE, CEN, FLOWLOG, TRANSIT_ROUTER
from cenflow.domain.transitions import ResourceKind, Transition
from cenflow.jobs.queue import TaskQueue
from cenflow.store import flowlogs as flowlog_repo
from cenflow.store import network as network_repo
from cenflow.store.epochs import bump_collection
from cenflow.store.tags import remove_tags

log = logging.getLogger(__name__)

TRANSITION_TASK = "transition"


def schedule(tx: Connection, transition: Transition, now: datetime, delay: float) -> None:
    """Record that ``transition`` must complete ``delay`` seconds from now."""
    TaskQueue.enqueue(
        tx, TRANSITION_TASK, transition.resource_id, transition.as_payload(), now + timedelta(seconds=delay), now
    )


def complete(tx: Connection, transition: Transition, *, bump: bool = True) -> bool:
    """Settle the resource, if it is still in the transient state the transition started.

    Returns whether it did; the caller logs the completion once the transaction has committed.
    ``bump=False`` when the transaction has bumped the collection epoch already: once per
    transaction is enough for the collector to re-read its plan."""
    if transition.kind is ResourceKind.FLOWLOG and transition.to is not None:
        # Every Active/Deactive/Modify ends here: the check and the update in one statement.
        if not flowlog_repo.settle_flowlog_status(tx, transition.resource_id, transition.via, transition.to):
            return _skipped(transition, _status(tx, transition))
        if bump:
            bump_collection(tx)
        return True
    current = _status(tx, transition)
    if current != transition.via:
        return _skipped(transition, current)
    if bump:
        bump_collection(tx)
    if transition.to is None:
        _REMOVERS[transition.kind](tx, transition.resource_id)
    else:
        _STATUS_SETTERS[transition.kind](tx, transition.resource_id, transition.to)
    return True


def _skipped(transition: Transition, found: str | None) -> bool:
    # Gone, or changed by someone else since: the transition has nothing left to do.
    log.warning(
        "transition skipped",
        extra={"resource_id": transition.resource_id, "expected": transition.via, "found": found},
    )
    return False


def _status(tx: Connection, transition: Transition) -> str | None:
    resource_id = transition.resource_id
    match transition.kind:
        case ResourceKind.FLOWLOG:
            return flowlog_repo.flowlog_status_for_update(tx, resource_id)
        case ResourceKind.CEN:
            cen = network_repo.get_cen(tx, resource_id, lock=True)
            return cen.status if cen else None
        case ResourceKind.TRANSIT_ROUTER:
            tr = network_repo.get_transit_router(tx, resource_id, lock=True)
            return tr.status if tr else None
        case ResourceKind.ATTACHMENT:
            attachment = network_repo.get_attachment(tx, resource_id, lock=True)
            return attachment.status if attachment else None


def _remove_flowlog(tx: Connection, flow_log_id: str) -> None:
    flowlog_repo.delete_flowlog(tx, flow_log_id)
    remove_tags(tx, FLOWLOG, flow_log_id, None)


def _remove_transit_router(tx: Connection, tr_id: str) -> None:
    network_repo.delete_transit_router(tx, tr_id)
    remove_tags(tx, TRANSIT_ROUTER, tr_id, None)


def _remove_cen(tx: Connection, cen_id: str) -> None:
    # Deleting a CEN takes its (empty) transit routers with it; attachments were refused upfront.
    for tr in network_repo.transit_routers_of_cen(tx, cen_id):
        _remove_transit_router(tx, tr.transit_router_id)
    network_repo.delete_cen(tx, cen_id)
    remove_tags(tx, CEN, cen_id, None)


def _remove_attachment(tx: Connection, attachment_id: str) -> None:
    attachment = network_repo.get_attachment(tx, attachment_id)
    network_repo.delete_attachment(tx, attachment_id)
    if attachment is not None:
        remove_tags(tx, ATTACHMENT_TAG_TYPE[attachment.kind], attachment_id, None)


_REMOVERS: dict[ResourceKind, Callable[[Connection, str], None]] = {
    ResourceKind.FLOWLOG: _remove_flowlog,
    ResourceKind.CEN: _remove_cen,
    ResourceKind.TRANSIT_ROUTER: _remove_transit_router,
    ResourceKind.ATTACHMENT: _remove_attachment,
}
_STATUS_SETTERS: dict[ResourceKind, Callable[[Connection, str, str], None]] = {
    ResourceKind.FLOWLOG: flowlog_repo.set_flowlog_status,
    ResourceKind.CEN: network_repo.set_cen_status,
    ResourceKind.TRANSIT_ROUTER: network_repo.set_transit_router_status,
    ResourceKind.ATTACHMENT: network_repo.set_attachment_status,
}
