"""Change epochs: cheap "has anything changed?" probes for pollers."""

from __future__ import annotations

from sqlalchemy import Connection, select

from cenflow.store.driver import DriverStatement
from cenflow.store.tables import epochs

# Everything the data plane's collection plan is made of: flow logs and their states, transit
# routers, attachments, tags.
COLLECTION = "collection"

# Every mutation and every completed transition bumps it: on the driver (see DriverStatement).
_BUMP = DriverStatement("UPDATE epochs SET value = value + 1 WHERE name = ?")
_READ = select(epochs.c.value).where(epochs.c.name == COLLECTION)


def bump_collection(tx: Connection) -> None:
    _BUMP.run(tx, COLLECTION)


def collection_epoch(tx: Connection) -> int:
    return int(tx.execute(_READ).scalar_one_or_none() or 0)
