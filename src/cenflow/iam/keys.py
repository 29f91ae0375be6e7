"""AccessKeys: creation, lookup for signature verification, and the root key bootstrap."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Connection, delete, insert, select, update

from cenflow.iam import directory
from cenflow.iam import errors as ram_errors
from cenflow.iam.principal import Principal, PrincipalType, root_principal
from cenflow.iam.secrets import SecretBox
from cenflow.store.database import Database
from cenflow.store.driver import DriverStatement
from cenflow.store.tables import access_keys
from cenflow.wire import errors as e
from cenflow.wire.auth import ResolvedKey

_ALPHANUMERIC = string.ascii_letters + string.digits

# Key owners (access_keys.owner_type).
ROOT = "root"
USER = "user"
ACTIVE, INACTIVE = "Active", "Inactive"


def new_access_key_id() -> str:
    """Alibaba's shape: ``LTAI`` followed by 20 alphanumerics."""
    return "LTAI" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(20))


def new_access_key_secret() -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(30))


@dataclass(frozen=True)
class KeyRecord:
    access_key_id: str
    owner_type: str
    owner_id: str
    status: str
    created_at: datetime


class PrincipalLookup:
    """Turns a key's owner into a principal: the root identity, or a RAM user of the directory."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def for_owner(self, tx: Connection, owner_type: str, owner_id: str) -> Principal | None:
        if owner_type == ROOT:
            return root_principal(self.account_id)
        if owner_type == USER:
            found = directory.user_by_id(tx, owner_id)
            return user_principal(self.account_id, found) if found is not None else None
        return None


def user_principal(account_id: str, user: directory.User) -> Principal:
    return Principal(
        type=PrincipalType.USER,
        account_id=account_id,
        principal_id=user.user_id,
        name=user.user_name,
        arn=user.arn(account_id),
    )


# Every signed call runs it, on the driver (see DriverStatement).
_KEY_FOR_SIGNATURE = DriverStatement(
    "SELECT secret_ciphertext, owner_type, owner_id, status FROM access_keys WHERE access_key_id = ?"
)


class KeyStore:
    def __init__(self, database: Database, box: SecretBox, principals: PrincipalLookup) -> None:
        self._db = database
        self._box = box
        self._principals = principals
        self._open = lru_cache(maxsize=4096)(box.open)

    @property
    def account_id(self) -> str:
        return self._principals.account_id

    def resolve(self, access_key_id: str, security_token: str | None, tx: Connection | None = None) -> ResolvedKey:
        del security_token  # STS tokens are resolved by the STS-aware resolver that wraps this one
        with self._db.read(within=tx) as conn:
            row = _KEY_FOR_SIGNATURE.run(conn, access_key_id).fetchone()
            if row is None:
                raise e.ACCESS_KEY_NOT_FOUND()
            ciphertext, owner_type, owner_id, status = row
            if status != ACTIVE:
                raise e.ACCESS_KEY_INACTIVE()
            principal = self._principals.for_owner(conn, owner_type, owner_id)
        if principal is None:
            raise e.ACCESS_KEY_NOT_FOUND()
        return ResolvedKey(secret=self._open(bytes(ciphertext)), principal=principal)

    def put(
        self,
        tx: Connection,
        access_key_id: str,
        secret: str,
        owner_type: str,
        owner_id: str,
        now: datetime | None = None,
    ) -> None:
        tx.execute(
            insert(access_keys).values(
                access_key_id=access_key_id,
                secret_ciphertext=self._box.seal(secret),
                owner_type=owner_type,
                owner_id=owner_id,
                status=ACTIVE,
                created_at=now or datetime.now(UTC),
            )
        )

    def create(self, tx: Connection, owner_type: str, owner_id: str, now: datetime) -> tuple[KeyRecord, str]:
        """CreateAccessKey: a new active key for the owner (at most two per owner).  The secret is
        returned once and kept only sealed."""
        if len(keys_of(tx, owner_type, owner_id)) >= ram_errors.MAX_KEYS_PER_USER:
            raise ram_errors.TOO_MANY_KEYS(f"An identity has at most {ram_errors.MAX_KEYS_PER_USER} AccessKeys.")
        key_id, secret = new_access_key_id(), new_access_key_secret()
        self.put(tx, key_id, secret, owner_type, owner_id, now)
        return KeyRecord(key_id, owner_type, owner_id, ACTIVE, now), secret

    def ensure_root_key(self, access_key_id: str, secret: str) -> None:
        """Make ``access_key_id`` an active root key with this secret (idempotent)."""
        with self._db.write() as tx:
            row = tx.execute(
                select(access_keys.c.secret_ciphertext, access_keys.c.owner_type).where(
                    access_keys.c.access_key_id == access_key_id
                )
            ).first()
            if row is None:
                self.put(tx, access_key_id, secret, ROOT, self.account_id)
            elif row.owner_type != ROOT or self._box.open(bytes(row.secret_ciphertext)) != secret:
                tx.execute(
                    update(access_keys)
                    .where(access_keys.c.access_key_id == access_key_id)
                    .values(
                        secret_ciphertext=self._box.seal(secret),
                        owner_type=ROOT,
                        owner_id=self.account_id,
                        status=ACTIVE,
                    )
                )

    def root_keys(self) -> list[KeyRecord]:
        with self._db.read() as tx:
            rows = tx.execute(
                select(
                    access_keys.c.access_key_id,
                    access_keys.c.owner_type,
                    access_keys.c.owner_id,
                    access_keys.c.status,
                    access_keys.c.created_at,
                )
                .where(access_keys.c.owner_type == ROOT)
                .order_by(access_keys.c.created_at)
            ).all()
        return [KeyRecord(*row) for row in rows]


# -- AccessKey management (RAM CreateAccessKey / ListAccessKeys / UpdateAccessKey / DeleteAccessKey) --
def keys_of(tx: Connection, owner_type: str, owner_id: str) -> list[KeyRecord]:
    rows = tx.execute(
        select(
            access_keys.c.access_key_id,
            access_keys.c.owner_type,
            access_keys.c.owner_id,
            access_keys.c.status,
            access_keys.c.created_at,
        )
        .where(access_keys.c.owner_type == owner_type, access_keys.c.owner_id == owner_id)
        .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
    ).all()
    return [KeyRecord(*row) for row in rows]


def set_status(tx: Connection, owner_type: str, owner_id: str, access_key_id: str, status: str) -> None:
    """Active or Inactive; an inactive key is refused by the very next request."""
    if status not in (ACTIVE, INACTIVE):
        raise ram_errors.INVALID_STATUS()
    changed = tx.execute(
        update(access_keys)
        .where(
            access_keys.c.access_key_id == access_key_id,
            access_keys.c.owner_type == owner_type,
            access_keys.c.owner_id == owner_id,
        )
        .values(status=status)
    ).rowcount
    if not changed:
        raise ram_errors.ACCESS_KEY_NOT_FOUND()


def delete_key(tx: Connection, owner_type: str, owner_id: str, access_key_id: str) -> None:
    deleted = tx.execute(
        delete(access_keys).where(
            access_keys.c.access_key_id == access_key_id,
            access_keys.c.owner_type == owner_type,
            access_keys.c.owner_id == owner_id,
        )
    ).rowcount
    if not deleted:
        raise ram_errors.ACCESS_KEY_NOT_FOUND()
