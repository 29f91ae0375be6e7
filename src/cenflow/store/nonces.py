"""Replay protection: every signature nonce is remembered in the database until it expires.

Kept in the database (not in memory) so that a replay is refused after a restart and by any
replica sharing the database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from cenflow.store.database import Database
from cenflow.store.tables import nonces

# Built once: every signed call runs it, and building a statement costs more than running it.
_CLAIM = insert(nonces)


class NonceStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def claim(self, access_key_id: str, nonce: str, expires_at: datetime) -> bool:
        try:
            with self._db.write() as tx:
                tx.execute(_CLAIM, {"access_key_id": access_key_id, "nonce": nonce, "expires_at": expires_at})
        except IntegrityError:
            # Seen before.  Only a record that has expired (and not yet been purged) may be reused.
            with self._db.write() as tx:
                reused = tx.execute(
                    update(nonces)
                    .where(
                        nonces.c.access_key_id == access_key_id,
                        nonces.c.nonce == nonce,
                        nonces.c.expires_at < datetime.now(UTC),
                    )
                    .values(expires_at=expires_at)
                )
                return reused.rowcount == 1
        return True

    def purge_expired(self, now: datetime | None = None) -> int:
        """Forget nonces whose timestamps could no longer be accepted anyway."""
        with self._db.write() as tx:
            result = tx.execute(delete(nonces).where(nonces.c.expires_at < (now or datetime.now(UTC))))
            return result.rowcount
