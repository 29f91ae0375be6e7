"""RAM policies: custom policies and their versions, and the system policies.

System policies come from the policy engine (``SYSTEM_POLICIES``): every account has them, at
version ``v1``, and they cannot be changed or deleted.  Custom policies are stored per account with
up to five versions, one of them the default (the one in force).  Attachments: ``iam.attachments``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from cenflow.errors import ErrorSpec
from cenflow.iam import directory
from cenflow.iam import errors as e
from cenflow.iam.names import POLICY_NAME, VERSION_ID, check_name, check_text
from cenflow.iam.policy import SYSTEM_POLICIES, PolicyType, parse_policy
from cenflow.store.tables import (
    ram_policies,
    ram_policy_attachments,
    ram_policy_versions,
)

# System policies have no creation date of their own; this one is stable across restarts.
SYSTEM_POLICY_DATE = datetime(2015, 4, 28, 16, 12, 28, tzinfo=UTC)
ROTATE_NONE = "None"
ROTATE_DELETE_OLDEST = "DeleteOldestNonDefaultVersionWhenLimitExceeded"


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    type: PolicyType
    description: str
    default_version: str
    created_at: datetime
    updated_at: datetime

    def arn(self, account_id: str) -> str:
        return policy_arn(account_id, self.type, self.name)


@dataclass(frozen=True)
class PolicyVersion:
    version_id: str
    document: str
    is_default: bool
    created_at: datetime


def policy_arn(account_id: str, policy_type: str, name: str) -> str:
    """RAM's resource for a policy: the account id, or ``system`` for a system policy."""
    owner = "system" if policy_type == PolicyType.SYSTEM else account_id
    return f"acs:ram:*:{owner}:policy/{name}"


def check_policy_type(value: str | None) -> PolicyType:
    if value == PolicyType.SYSTEM:
        return PolicyType.SYSTEM
    if value == PolicyType.CUSTOM:
        return PolicyType.CUSTOM
    raise e.INVALID_POLICY_TYPE("The value must be System or Custom.")


def system_info(name: str) -> PolicyInfo | None:
    policy = SYSTEM_POLICIES.get(name)
    if policy is None:
        return None
    return PolicyInfo(
        policy.name, PolicyType.SYSTEM, policy.description, policy.version, SYSTEM_POLICY_DATE, SYSTEM_POLICY_DATE
    )


def _custom(row: Any) -> PolicyInfo:
    return PolicyInfo(
        row.policy_name, PolicyType.CUSTOM, row.description, row.default_version, row.created_at, row.updated_at
    )


def _custom_row(tx: Connection, account_id: str, name: str, *, lock: bool = False) -> Any:
    query = select(ram_policies).where(ram_policies.c.account_id == account_id, ram_policies.c.policy_name == name)
    return tx.execute(query.with_for_update() if lock else query).first()


def policy(tx: Connection, account_id: str, policy_type: PolicyType, name: str) -> PolicyInfo:
    if policy_type == PolicyType.SYSTEM:
        found = system_info(name)
    else:
        row = _custom_row(tx, account_id, name)
        found = _custom(row) if row else None
    if found is None:
        raise e.POLICY_NOT_FOUND()
    return found


# -- custom policies and versions -------------------------------------------------------------
def create_policy(
    tx: Connection, account_id: str, now: datetime, name: str, document: str, description: str | None
) -> tuple[PolicyInfo, PolicyVersion]:
    check_name(name, "PolicyName", POLICY_NAME, 128)
    text = check_text(description, "Description", 1024)
    parse_policy(document)  # MalformedPolicyDocument / InvalidParameter.PolicyDocument.Length
    if _custom_row(tx, account_id, name) is not None:
        raise e.POLICY_EXISTS()
    total = tx.execute(select(func.count()).where(ram_policies.c.account_id == account_id)).scalar_one()
    if total >= e.MAX_CUSTOM_POLICIES:
        raise e.TOO_MANY_POLICIES(f"An account has at most {e.MAX_CUSTOM_POLICIES} custom policies.")
    directory.insert_unique(
        tx,
        insert(ram_policies).values(
            account_id=account_id,
            policy_name=name,
            description=text,
            default_version="v1",
            next_version=2,
            created_at=now,
            updated_at=now,
        ),
        e.POLICY_EXISTS,
    )
    tx.execute(
        insert(ram_policy_versions).values(
            account_id=account_id, policy_name=name, version_id="v1", document=document, created_at=now
        )
    )
    info = PolicyInfo(name, PolicyType.CUSTOM, text, "v1", now, now)
    return info, PolicyVersion("v1", document, True, now)


def _versions(tx: Connection, account_id: str, name: str) -> list[Any]:
    return list(
        tx.execute(
            select(ram_policy_versions)
            .where(ram_policy_versions.c.account_id == account_id, ram_policy_versions.c.policy_name == name)
            .order_by(ram_policy_versions.c.created_at, func.length(ram_policy_versions.c.version_id))
        ).all()
    )


def _version_order(version_id: str) -> int:
    return int(version_id[1:])


def list_versions(tx: Connection, account_id: str, policy_type: PolicyType, name: str) -> list[PolicyVersion]:
    info = policy(tx, account_id, policy_type, name)
    if policy_type == PolicyType.SYSTEM:
        return [PolicyVersion(info.default_version, SYSTEM_POLICIES[name].document, True, SYSTEM_POLICY_DATE)]
    rows = sorted(_versions(tx, account_id, name), key=lambda row: _version_order(row.version_id))
    return [
        PolicyVersion(row.version_id, row.document, row.version_id == info.default_version, row.created_at)
        for row in rows
    ]


def get_version(tx: Connection, account_id: str, policy_type: PolicyType, name: str, version_id: str) -> PolicyVersion:
    if not VERSION_ID.fullmatch(version_id):
        raise e.INVALID_VERSION_ID()
    for version in list_versions(tx, account_id, policy_type, name):
        if version.version_id == version_id:
            return version
    raise e.POLICY_VERSION_NOT_FOUND()


def default_version(tx: Connection, account_id: str, policy_type: PolicyType, name: str) -> PolicyVersion:
    info = policy(tx, account_id, policy_type, name)
    return get_version(tx, account_id, policy_type, name, info.default_version)


def create_version(
    tx: Connection,
    account_id: str,
    now: datetime,
    name: str,
    document: str,
    *,
    set_as_default: bool = False,
    rotate: str | None = None,
) -> PolicyVersion:
    strategy = rotate or ROTATE_NONE
    if strategy not in (ROTATE_NONE, ROTATE_DELETE_OLDEST):
        raise e.INVALID_ROTATE_STRATEGY()
    row = _custom_row(tx, account_id, name, lock=True)
    if row is None:
        raise e.POLICY_NOT_FOUND()
    parse_policy(document)
    versions = _versions(tx, account_id, name)
    if len(versions) >= e.MAX_VERSIONS:
        candidates = [v for v in versions if v.version_id != row.default_version]
        if strategy != ROTATE_DELETE_OLDEST or not candidates:
            raise e.TOO_MANY_VERSIONS(f"A policy has at most {e.MAX_VERSIONS} versions.")
        oldest = min(candidates, key=lambda v: _version_order(v.version_id))
        _delete_version_row(tx, account_id, name, oldest.version_id)
    version_id = f"v{row.next_version}"
    tx.execute(
        insert(ram_policy_versions).values(
            account_id=account_id, policy_name=name, version_id=version_id, document=document, created_at=now
        )
    )
    values: dict[str, Any] = {"next_version": row.next_version + 1, "updated_at": now}
    if set_as_default:
        values["default_version"] = version_id
    tx.execute(update(ram_policies).where(ram_policies.c.seq == row.seq).values(**values))
    return PolicyVersion(version_id, document, set_as_default, now)


def set_default_version(tx: Connection, account_id: str, now: datetime, name: str, version_id: str) -> None:
    get_version(tx, account_id, PolicyType.CUSTOM, name, version_id)
    tx.execute(
        update(ram_policies)
        .where(ram_policies.c.account_id == account_id, ram_policies.c.policy_name == name)
        .values(default_version=version_id, updated_at=now)
    )


def _delete_version_row(tx: Connection, account_id: str, name: str, version_id: str) -> None:
    tx.execute(
        delete(ram_policy_versions).where(
            ram_policy_versions.c.account_id == account_id,
            ram_policy_versions.c.policy_name == name,
            ram_policy_versions.c.version_id == version_id,
        )
    )


def delete_version(tx: Connection, account_id: str, name: str, version_id: str) -> None:
    version = get_version(tx, account_id, PolicyType.CUSTOM, name, version_id)
    if version.is_default:
        raise e.DEFAULT_VERSION()
    _delete_version_row(tx, account_id, name, version_id)


def delete_policy(tx: Connection, account_id: str, name: str, *, cascading: bool = False) -> None:
    """DeletePolicy: refused while attached or holding non-default versions, unless ``cascading``
    (which detaches it everywhere and deletes every version first)."""
    row = _custom_row(tx, account_id, name, lock=True)
    if row is None:
        raise e.POLICY_NOT_FOUND()
    where = (
        ram_policy_attachments.c.account_id == account_id,
        ram_policy_attachments.c.policy_type == PolicyType.CUSTOM.value,
        ram_policy_attachments.c.policy_name == name,
    )
    if not cascading:
        attached = Counter(tx.execute(select(ram_policy_attachments.c.principal_type).where(*where)).scalars())
        conflicts: tuple[tuple[str, ErrorSpec], ...] = (
            ("User", e.POLICY_ON_USER),
            ("Group", e.POLICY_ON_GROUP),
            ("Role", e.POLICY_ON_ROLE),
        )
        for principal_type, spec in conflicts:
            if attached[principal_type]:
                raise spec()
        if len(_versions(tx, account_id, name)) > 1:
            raise e.POLICY_HAS_VERSIONS()
    tx.execute(delete(ram_policy_attachments).where(*where))
    tx.execute(
        delete(ram_policy_versions).where(
            ram_policy_versions.c.account_id == account_id, ram_policy_versions.c.policy_name == name
        )
    )
    tx.execute(delete(ram_policies).where(ram_policies.c.seq == row.seq))


def attachment_counts(tx: Connection, account_id: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """How many principals each (type, name) policy is attached to."""
    wanted = list(keys)
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    a = ram_policy_attachments
    rows = tx.execute(
        select(a.c.policy_type, a.c.policy_name, func.count())
        .where(a.c.account_id == account_id, a.c.policy_name.in_({name for _, name in wanted}))
        .group_by(a.c.policy_type, a.c.policy_name)
    ).all()
    for policy_type, name, number in rows:
        if (policy_type, name) in counts:
            counts[(policy_type, name)] = int(number)
    return counts


def list_policies(
    tx: Connection, account_id: str, policy_type: PolicyType | None, marker: str | None, max_items: int
) -> tuple[list[PolicyInfo], str | None]:
    """System policies first (positions 1..n), then custom ones (n + seq): one opaque Marker for both."""
    after = directory.decode_marker(marker) if marker else 0
    system = list(SYSTEM_POLICIES)
    listed: list[tuple[int, PolicyInfo]] = []
    if policy_type in (None, PolicyType.SYSTEM):
        for position, name in enumerate(system, 1):
            info = system_info(name)
            if position > after and info is not None:
                listed.append((position, info))
    if policy_type in (None, PolicyType.CUSTOM) and len(listed) <= max_items:
        rows = tx.execute(
            select(ram_policies)
            .where(ram_policies.c.account_id == account_id, ram_policies.c.seq > max(0, after - len(system)))
            .order_by(ram_policies.c.seq)
            .limit(max_items + 1)
        ).all()
        listed.extend((len(system) + row.seq, _custom(row)) for row in rows)
    more = len(listed) > max_items
    listed = listed[:max_items]
    return [info for _, info in listed], directory.encode_marker(listed[-1][0]) if more else None
