"""Repositories of CEN instances, transit routers and attachments."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from cenflow.domain.network import Attachment, AttachmentKind, Cen, TransitRouter
from cenflow.store.tables import attachments, cens, transit_routers


# --- CEN ------------------------------------------------------------------------------------
def cen_from_row(row: Row[Any]) -> Cen:
    return Cen(
        cen_id=row.cen_id,
        account_id=row.account_id,
        name=row.name,
        description=row.description,
        protection_level=row.protection_level,
        ipv6_level=row.ipv6_level,
        resource_group_id=row.resource_group_id,
        status=row.status,
        created_at=row.created_at,
    )


def insert_cen(tx: Connection, cen: Cen) -> None:
    tx.execute(
        insert(cens).values(
            cen_id=cen.cen_id,
            account_id=cen.account_id,
            name=cen.name,
            description=cen.description,
            protection_level=cen.protection_level,
            ipv6_level=cen.ipv6_level,
            resource_group_id=cen.resource_group_id,
            status=cen.status,
            created_at=cen.created_at,
        )
    )


def get_cen(tx: Connection, cen_id: str, *, account_id: str | None = None, lock: bool = False) -> Cen | None:
    query = select(cens).where(cens.c.cen_id == cen_id)
    if account_id is not None:
        query = query.where(cens.c.account_id == account_id)
    row = tx.execute(query.with_for_update() if lock else query).first()
    return cen_from_row(row) if row else None


def set_cen_status(tx: Connection, cen_id: str, status: str) -> None:
    tx.execute(update(cens).where(cens.c.cen_id == cen_id).values(status=status))


def delete_cen(tx: Connection, cen_id: str) -> None:
    tx.execute(delete(cens).where(cens.c.cen_id == cen_id))


# --- transit routers ------------------------------------------------------------------------
def transit_router_from_row(row: Row[Any]) -> TransitRouter:
    return TransitRouter(
        transit_router_id=row.transit_router_id,
        account_id=row.account_id,
        cen_id=row.cen_id,
        region_id=row.region_id,
        name=row.name,
        description=row.description,
        type=row.type,
        status=row.status,
        support_multicast=bool(row.support_multicast),
        cidrs=json.loads(row.cidrs),
        created_at=row.created_at,
    )


def insert_transit_router(tx: Connection, tr: TransitRouter) -> None:
    tx.execute(
        insert(transit_routers).values(
            transit_router_id=tr.transit_router_id,
            account_id=tr.account_id,
            cen_id=tr.cen_id,
            region_id=tr.region_id,
            name=tr.name,
            description=tr.description,
            type=tr.type,
            status=tr.status,
            support_multicast=tr.support_multicast,
            cidrs=json.dumps(tr.cidrs),
            created_at=tr.created_at,
        )
    )


def get_transit_router(
    tx: Connection, tr_id: str, *, account_id: str | None = None, lock: bool = False
) -> TransitRouter | None:
    query = select(transit_routers).where(transit_routers.c.transit_router_id == tr_id)
    if account_id is not None:
        query = query.where(transit_routers.c.account_id == account_id)
    row = tx.execute(query.with_for_update() if lock else query).first()
    return transit_router_from_row(row) if row else None


def transit_routers_of_cen(tx: Connection, cen_id: str, region_id: str | None = None) -> list[TransitRouter]:
    query = select(transit_routers).where(transit_routers.c.cen_id == cen_id)
    if region_id is not None:
        query = query.where(transit_routers.c.region_id == region_id)
    return [transit_router_from_row(r) for r in tx.execute(query.order_by(transit_routers.c.seq))]


def set_transit_router_status(tx: Connection, tr_id: str, status: str) -> None:
    tx.execute(update(transit_routers).where(transit_routers.c.transit_router_id == tr_id).values(status=status))


def delete_transit_router(tx: Connection, tr_id: str) -> None:
    tx.execute(delete(transit_routers).where(transit_routers.c.transit_router_id == tr_id))


# --- attachments ----------------------------------------------------------------------------
def attachment_from_row(row: Row[Any]) -> Attachment:
    return Attachment(
        attachment_id=row.attachment_id,
        account_id=row.account_id,
        kind=AttachmentKind(row.kind),
        cen_id=row.cen_id,
        transit_router_id=row.transit_router_id,
        region_id=row.region_id,
        name=row.name,
        description=row.description,
        status=row.status,
        auto_publish_route=bool(row.auto_publish_route),
        details=json.loads(row.details),
        created_at=row.created_at,
    )


def insert_attachment(tx: Connection, attachment: Attachment) -> None:
    tx.execute(
        insert(attachments).values(
            attachment_id=attachment.attachment_id,
            account_id=attachment.account_id,
            kind=attachment.kind.value,
            instance_id=attachment.instance_id,
            cen_id=attachment.cen_id,
            transit_router_id=attachment.transit_router_id,
            region_id=attachment.region_id,
            name=attachment.name,
            description=attachment.description,
            status=attachment.status,
            auto_publish_route=attachment.auto_publish_route,
            details=json.dumps(attachment.details),
            created_at=attachment.created_at,
        )
    )


def get_attachment(
    tx: Connection, attachment_id: str, *, account_id: str | None = None, lock: bool = False
) -> Attachment | None:
    query = select(attachments).where(attachments.c.attachment_id == attachment_id)
    if account_id is not None:
        query = query.where(attachments.c.account_id == account_id)
    row = tx.execute(query.with_for_update() if lock else query).first()
    return attachment_from_row(row) if row else None


def attachments_of_transit_router(tx: Connection, tr_id: str) -> list[Attachment]:
    query = select(attachments).where(attachments.c.transit_router_id == tr_id).order_by(attachments.c.seq)
    return [attachment_from_row(r) for r in tx.execute(query)]


def peer_attachments_to(tx: Connection, tr_id: str) -> list[Attachment]:
    """Inter-region attachments of other transit routers that point at ``tr_id``."""
    query = select(attachments).where(
        attachments.c.instance_id == tr_id, attachments.c.kind == AttachmentKind.PEER.value
    )
    return [attachment_from_row(r) for r in tx.execute(query)]


def attachments_of_cen(tx: Connection, cen_id: str) -> list[Attachment]:
    query = select(attachments).where(attachments.c.cen_id == cen_id).order_by(attachments.c.seq)
    return [attachment_from_row(r) for r in tx.execute(query)]


def set_attachment_status(tx: Connection, attachment_id: str, status: str) -> None:
    tx.execute(update(attachments).where(attachments.c.attachment_id == attachment_id).values(status=status))


def delete_attachment(tx: Connection, attachment_id: str) -> None:
    tx.execute(delete(attachments).where(attachments.c.attachment_id == attachment_id))
