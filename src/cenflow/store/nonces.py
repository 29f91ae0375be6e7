"""Replay protection: every signature nonce is remembered in the database until it expires.

Kept in the database (not in memory) so that a replay is refused after a restart and by any
replica sharing the database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, delete, update

from cenflow.store.database import Database
from cenflow.store.driver import DriverStatement
from cenflow.store.tables import nonces

# Every signed call runs the claim, on the driver (see DriverStatement).  ``ON CONFLICT DO
# NOTHING`` rather than catching the unique violation: the claim usually shares the call's
# transaction, and on PostgreSQL a failed statement would abort that transaction.
_CLAIM = DriverStatement(
    "INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    params=(None, None, nonces.c.expires_at),
)
_REUSE_EXPIRED = (
    update(nonces)
    .where(
        nonces.c.access_key_id == bindparam("key"),
        nonces.c.nonce == bindparam("value"),
        nonces.c.expires_at < bindparam("now"),
    )
    .values(expires_at=bindparam("until"))
)


class NonceStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def claim(self, access_key_id: str, nonce: str, expires_at: datetime, tx: Connection | None = None) -> bool:
        with self._db.write(within=tx) as conn:
            if _CLAIM.run(conn, access_key_id, nonce, expires_at).rowcount == 1:
                return True
            # Seen before.  Only a record that has expired (and not yet been purged) may be reused.
            reused = conn.execute(
                _REUSE_EXPIRED,
                {"key": access_key_id, "value": nonce, "now": datetime.now(UTC), "until": expires_at},
            )
            return reused.rowcount == 1

    def purge_expired(self, now: datetime | None = None) -> int:
        """Forget nonces whose timestamps could no longer be accepted anyway."""
        with self._db.write() as tx:
            result = tx.execute(delete(nonces).where(nonces.c.expires_at < (now or datetime.now(UTC))))
            return result.rowcount
