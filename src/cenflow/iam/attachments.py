"""Who has which policy: attachments of policies to users, groups and roles, and what is in force.

An attachment names a principal (a user, group or role, by id, so renaming keeps it) and a policy
(by type and name).  ``in_force`` is the one query an authorised call runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, delete, insert, or_, select

from cenflow.errors import ErrorSpec
from cenflow.iam import directory
from cenflow.iam import errors as e
from cenflow.iam.policies import PolicyInfo, policy, system_info
from cenflow.iam.policy import SYSTEM_POLICIES, PolicyType
from cenflow.store.tables import (
    ram_group_members,
    ram_groups,
    ram_policies,
    ram_policy_attachments,
    ram_policy_versions,
    ram_roles,
    ram_users,
)

PRINCIPAL_TYPES = ("User", "Group", "Role")


@dataclass(frozen=True)
class InForce:
    """One policy in force for a principal, and through which attachment (User, Group or Role)."""

    via: str
    type: PolicyType
    name: str
    version: str
    document: str


# -- attachments ------------------------------------------------------------------------------
_ATTACH_ERRORS: dict[str, tuple[ErrorSpec, ErrorSpec, ErrorSpec]] = {
    # principal type: (already attached, not attached, too many)
    "User": (e.USER_HAS_POLICY, e.USER_POLICY_NOT_FOUND, e.TOO_MANY_USER_POLICIES),
    "Group": (e.GROUP_HAS_POLICY, e.GROUP_POLICY_NOT_FOUND, e.TOO_MANY_GROUP_POLICIES),
    "Role": (e.ROLE_HAS_POLICY, e.ROLE_POLICY_NOT_FOUND, e.TOO_MANY_ROLE_POLICIES),
}


def principal_id(tx: Connection, account_id: str, principal_type: str, name: str) -> str:
    """The id of the user, group or role named ``name`` (its EntityNotExist error otherwise)."""
    if principal_type == "User":
        return directory.user(tx, account_id, name).user_id
    if principal_type == "Group":
        return directory.group(tx, account_id, name).group_id
    return directory.role(tx, account_id, name).role_id


def attach(
    tx: Connection,
    account_id: str,
    now: datetime,
    principal_type: str,
    principal_name: str,
    policy_type: PolicyType,
    policy_name: str,
) -> None:
    already, _, too_many = _ATTACH_ERRORS[principal_type]
    owner = principal_id(tx, account_id, principal_type, principal_name)
    policy(tx, account_id, policy_type, policy_name)
    a = ram_policy_attachments
    mine = tx.execute(
        select(a.c.policy_type, a.c.policy_name).where(a.c.principal_type == principal_type, a.c.principal_id == owner)
    ).all()
    if (policy_type.value, policy_name) in {(row.policy_type, row.policy_name) for row in mine}:
        raise already()
    same_type = sum(1 for row in mine if row.policy_type == policy_type.value)
    limit = e.MAX_SYSTEM_POLICIES_PER_ENTITY if policy_type == PolicyType.SYSTEM else e.MAX_CUSTOM_POLICIES_PER_ENTITY
    if same_type >= limit:
        raise too_many(f"At most {limit} {policy_type.value.lower()} policies per {principal_type.lower()}.")
    directory.insert_unique(
        tx,
        insert(a).values(
            account_id=account_id,
            principal_type=principal_type,
            principal_id=owner,
            policy_type=policy_type.value,
            policy_name=policy_name,
            attached_at=now,
        ),
        already,
    )


def detach(
    tx: Connection,
    account_id: str,
    principal_type: str,
    principal_name: str,
    policy_type: PolicyType,
    policy_name: str,
) -> None:
    _, missing, _ = _ATTACH_ERRORS[principal_type]
    owner = principal_id(tx, account_id, principal_type, principal_name)
    policy(tx, account_id, policy_type, policy_name)
    a = ram_policy_attachments
    removed = tx.execute(
        delete(a).where(
            a.c.principal_type == principal_type,
            a.c.principal_id == owner,
            a.c.policy_type == policy_type.value,
            a.c.policy_name == policy_name,
        )
    ).rowcount
    if not removed:
        raise missing()


def policies_of(
    tx: Connection, account_id: str, principal_type: str, principal_name: str
) -> list[tuple[PolicyInfo, datetime]]:
    """ListPoliciesFor{User,Group,Role}: the policies attached directly, oldest first."""
    owner = principal_id(tx, account_id, principal_type, principal_name)
    a, p = ram_policy_attachments, ram_policies
    rows = tx.execute(
        select(a.c.policy_type, a.c.policy_name, a.c.attached_at, p.c.description, p.c.default_version)
        .select_from(
            a.outerjoin(
                p,
                and_(
                    a.c.policy_type == PolicyType.CUSTOM.value,
                    p.c.account_id == a.c.account_id,
                    p.c.policy_name == a.c.policy_name,
                ),
            )
        )
        .where(a.c.principal_type == principal_type, a.c.principal_id == owner)
        .order_by(a.c.attached_at)
    ).all()
    result: list[tuple[PolicyInfo, datetime]] = []
    for row in rows:
        if row.policy_type == PolicyType.SYSTEM.value:
            info = system_info(row.policy_name)
        elif row.default_version is not None:
            info = PolicyInfo(
                row.policy_name,
                PolicyType.CUSTOM,
                row.description,
                row.default_version,
                row.attached_at,
                row.attached_at,
            )
        else:
            info = None
        if info is not None:
            result.append((info, row.attached_at))
    return result


def entities_for_policy(
    tx: Connection, account_id: str, policy_type: PolicyType, name: str
) -> dict[str, list[tuple[Any, datetime]]]:
    """ListEntitiesForPolicy: users, groups and roles (rows) the policy is attached to, with dates."""
    policy(tx, account_id, policy_type, name)
    a = ram_policy_attachments
    base = (a.c.account_id == account_id, a.c.policy_type == policy_type.value, a.c.policy_name == name)
    found: dict[str, list[tuple[Any, datetime]]] = {}
    for principal_type, table, id_column in (
        ("User", ram_users, ram_users.c.user_id),
        ("Group", ram_groups, ram_groups.c.group_id),
        ("Role", ram_roles, ram_roles.c.role_id),
    ):
        rows = tx.execute(
            select(table, a.c.attached_at)
            .join(a, a.c.principal_id == id_column)
            .where(*base, a.c.principal_type == principal_type)
            .order_by(a.c.attached_at)
        ).all()
        found[principal_type] = [(row, row.attached_at) for row in rows]
    return found


# -- what is in force for a principal (one query per authorised call) ------------------------
def _in_force_statement(principal_type: str) -> Select[Any]:
    """Built once: composing a statement costs far more than running it (about 10x on SQLite)."""
    a, p, v, m = ram_policy_attachments, ram_policies, ram_policy_versions, ram_group_members
    owner: ColumnElement[bool] = and_(a.c.principal_type == principal_type, a.c.principal_id == bindparam("owner"))
    if principal_type == "User":
        groups = select(m.c.group_id).where(m.c.user_id == bindparam("owner"))
        owner = or_(owner, and_(a.c.principal_type == "Group", a.c.principal_id.in_(groups)))
    joined = a.outerjoin(
        p,
        and_(
            a.c.policy_type == PolicyType.CUSTOM.value,
            p.c.account_id == a.c.account_id,
            p.c.policy_name == a.c.policy_name,
        ),
    ).outerjoin(
        v,
        and_(
            v.c.account_id == p.c.account_id,
            v.c.policy_name == p.c.policy_name,
            v.c.version_id == p.c.default_version,
        ),
    )
    return (
        select(a.c.principal_type, a.c.policy_type, a.c.policy_name, p.c.default_version, v.c.document)
        .select_from(joined)
        .where(a.c.account_id == bindparam("account"), owner)
        .order_by(a.c.principal_type.desc(), a.c.attached_at)
    )


_IN_FORCE = {kind: _in_force_statement(kind) for kind in ("User", "Role")}


def in_force(tx: Connection, account_id: str, principal_type: str, principal_id: str) -> list[InForce]:
    """The default versions of every policy attached to a user (directly or through its groups) or
    to a role, in one query.  System policies come back with an empty document (they live in code)."""
    rows = tx.execute(_IN_FORCE[principal_type], {"account": account_id, "owner": principal_id}).all()
    result: list[InForce] = []
    for row in rows:
        if row.policy_type == PolicyType.SYSTEM.value:
            system = SYSTEM_POLICIES.get(row.policy_name)
            if system is not None:
                result.append(InForce(row.principal_type, PolicyType.SYSTEM, system.name, system.version, ""))
        elif row.document is not None:
            result.append(
                InForce(row.principal_type, PolicyType.CUSTOM, row.policy_name, row.default_version, row.document)
            )
    return result
