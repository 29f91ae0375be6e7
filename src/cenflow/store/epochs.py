"""Change epochs: cheap "has anything changed?" probes for pollers."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from cenflow.store.tables import epochs

# Everything the data plane's collection plan is made of: flow logs and their states, transit
# routers, attachments, tags.
COLLECTION = "collection"

_BUMP = update(epochs).where(epochs.c.name == COLLECTION).values(value=epochs.c.value + 1)
_READ = select(epochs.c.value).where(epochs.c.name == COLLECTION)


def bump_collection(tx: Connection) -> None:
    tx.execute(_BUMP)


def collection_epoch(tx: Connection) -> int:
    return int(tx.execute(_READ).scalar_one_or_none() or 0)
