"""ClientToken idempotency: the same token and parameters give back the first answer.

The ledger row is written in the same transaction as the mutation it records, so either both
exist or neither does.  Concurrent duplicates serialise on the row's primary key: on SQLite the
writer lock orders them, on PostgreSQL the second insert waits for the first transaction and then
fails, and the gateway retries the call, which now finds the recorded answer.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from cenflow.errors import ErrorSpec
from cenflow.store.tables import idempotency
from cenflow.wire.spec import Args

IDEMPOTENT_PARAMETER_MISMATCH = ErrorSpec(
    "IdempotentParameterMismatch",
    "The request uses the same client token as a previous, but non-identical request.",
)


def fingerprint(action: str, args: Args) -> str:
    """A digest of the operation's parameters, the token itself excluded."""
    values = {k: v for k, v in args.as_dict().items() if k != "ClientToken"}
    canonical = json.dumps([action, values], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyLedger:
    def recall(self, tx: Connection, account_id: str, action: str, token: str, digest: str) -> dict[str, Any] | None:
        """The recorded answer for this token, or ``None`` if the token is new."""
        row = tx.execute(
            select(idempotency.c.fingerprint, idempotency.c.response).where(
                idempotency.c.account_id == account_id,
                idempotency.c.action == action,
                idempotency.c.client_token == token,
            )
        ).first()
        if row is None:
            return None
        if row.fingerprint != digest:
            raise IDEMPOTENT_PARAMETER_MISMATCH()
        answer: dict[str, Any] = json.loads(row.response or "{}")
        return answer

    def reserve(self, tx: Connection, account_id: str, action: str, token: str, digest: str, now: datetime) -> None:
        """Claim the token before running the mutation (raises IntegrityError on a race)."""
        tx.execute(
            insert(idempotency).values(
                account_id=account_id,
                action=action,
                client_token=token,
                fingerprint=digest,
                response=None,
                created_at=now,
            )
        )

    def record(self, tx: Connection, account_id: str, action: str, token: str, answer: dict[str, Any]) -> None:
        tx.execute(
            update(idempotency)
            .where(
                idempotency.c.account_id == account_id,
                idempotency.c.action == action,
                idempotency.c.client_token == token,
            )
            .values(response=json.dumps(answer, separators=(",", ":")))
        )

    def purge(self, tx: Connection, older_than: datetime) -> int:
        return tx.execute(delete(idempotency).where(idempotency.c.created_at < older_than)).rowcount
