"""RAM identities: users, groups (and who is in them) and roles, with RAM's rules.

Every function takes the caller's transaction and raises RAM's documented ``ApiError`` when a rule
is broken, so the API handlers (``api.ram``) and the ``cenflow iam`` commands share one behaviour.
Names are unique per account and compared case-sensitively; rows refer to each other by id.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Executable, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from cenflow.errors import ErrorSpec
from cenflow.iam import errors as e
from cenflow.iam.names import (
    EMAIL,
    GROUP_NAME,
    MOBILE_PHONE,
    ROLE_NAME,
    USER_NAME,
    check_format,
    check_name,
    check_text,
    group_id,
    numeric_id,
)
from cenflow.iam.policy import parse_trust_policy
from cenflow.store.tables import (
    access_keys,
    ram_group_members,
    ram_groups,
    ram_policy_attachments,
    ram_roles,
    ram_users,
)
from cenflow.wire.errors import INVALID_PARAMETER

DEFAULT_SESSION_DURATION = 3600
MIN_SESSION_DURATION, MAX_SESSION_DURATION = 3600, 43200
MAX_LIST_ITEMS = 1000


@dataclass(frozen=True)
class User:
    user_id: str
    user_name: str
    display_name: str
    email: str
    mobile_phone: str
    comments: str
    created_at: datetime
    updated_at: datetime

    def arn(self, account_id: str) -> str:
        return f"acs:ram::{account_id}:user/{self.user_name}"


@dataclass(frozen=True)
class Group:
    group_id: str
    group_name: str
    comments: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Role:
    role_id: str
    role_name: str
    description: str
    trust_policy: str
    max_session_duration: int
    created_at: datetime
    updated_at: datetime

    def arn(self, account_id: str) -> str:
        return f"acs:ram::{account_id}:role/{self.role_name}"


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    marker: str | None  # None when this is the last page


def _user(row: Any) -> User:
    return User(
        row.user_id,
        row.user_name,
        row.display_name,
        row.email,
        row.mobile_phone,
        row.comments,
        row.created_at,
        row.updated_at,
    )


def _group(row: Any) -> Group:
    return Group(row.group_id, row.group_name, row.comments, row.created_at, row.updated_at)


def _role(row: Any) -> Role:
    return Role(
        row.role_id,
        row.role_name,
        row.description,
        row.trust_policy,
        row.max_session_duration,
        row.created_at,
        row.updated_at,
    )


# -- paging (Marker / MaxItems) -----------------------------------------------------------------
def encode_marker(seq: int) -> str:
    return base64.urlsafe_b64encode(f"ram:{seq}".encode()).decode().rstrip("=")


def decode_marker(marker: str) -> int:
    try:
        text = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "ram" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise INVALID_PARAMETER("The Marker was not returned by a previous call.", name="Marker") from None


def page(
    tx: Connection, table: Table, where: Sequence[ColumnElement[bool]], marker: str | None, max_items: int
) -> tuple[list[Any], str | None]:
    conditions = list(where)
    if marker:
        conditions.append(table.c.seq > decode_marker(marker))
    rows = list(tx.execute(select(table).where(*conditions).order_by(table.c.seq).limit(max_items + 1)).all())
    more = len(rows) > max_items
    rows = rows[:max_items]
    return rows, encode_marker(rows[-1].seq) if more else None


def _count(tx: Connection, table: Table, *where: ColumnElement[bool]) -> int:
    return int(tx.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def insert_unique(tx: Connection, statement: Executable, exists: ErrorSpec) -> None:
    """Insert a row whose uniqueness was checked; a concurrent duplicate (PostgreSQL runs writers
    concurrently) becomes RAM's "already exists" rather than an internal error."""
    try:
        with tx.begin_nested():
            tx.execute(statement)
    except IntegrityError:
        raise exists() from None


def attachment_count(tx: Connection, principal_type: str, principal_id: str) -> int:
    return _count(
        tx,
        ram_policy_attachments,
        ram_policy_attachments.c.principal_type == principal_type,
        ram_policy_attachments.c.principal_id == principal_id,
    )


# -- users ----------------------------------------------------------------------------------
def find_user(tx: Connection, account_id: str, name: str) -> User | None:
    row = tx.execute(
        select(ram_users).where(ram_users.c.account_id == account_id, ram_users.c.user_name == name)
    ).first()
    return _user(row) if row else None


def user(tx: Connection, account_id: str, name: str) -> User:
    found = find_user(tx, account_id, name)
    if found is None:
        raise e.USER_NOT_FOUND()
    return found


# Built once: these run on every request signed by a user's key or an STS session.
_USER_BY_ID = select(ram_users).where(ram_users.c.user_id == bindparam("id"))
_ROLE_BY_ID = select(ram_roles).where(ram_roles.c.role_id == bindparam("id"))


def user_by_id(tx: Connection, user_id: str) -> User | None:
    row = tx.execute(_USER_BY_ID, {"id": user_id}).first()
    return _user(row) if row else None


def create_user(
    tx: Connection,
    account_id: str,
    now: datetime,
    name: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    mobile_phone: str | None = None,
    comments: str | None = None,
) -> User:
    check_name(name, "UserName", USER_NAME, 64)
    values = {
        "display_name": check_text(display_name, "DisplayName", 128),
        "email": check_format(email, "Email", EMAIL),
        "mobile_phone": check_format(mobile_phone, "MobilePhone", MOBILE_PHONE, 32),
        "comments": check_text(comments, "Comments", 128),
    }
    if find_user(tx, account_id, name) is not None:
        raise e.USER_EXISTS()
    if _count(tx, ram_users, ram_users.c.account_id == account_id) >= e.MAX_USERS:
        raise e.TOO_MANY_USERS(f"An account has at most {e.MAX_USERS} RAM users.")
    user_id = numeric_id()
    insert_unique(
        tx,
        insert(ram_users).values(
            user_id=user_id, account_id=account_id, user_name=name, created_at=now, updated_at=now, **values
        ),
        e.USER_EXISTS,
    )
    return User(user_id, name, created_at=now, updated_at=now, **values)


def update_user(
    tx: Connection,
    account_id: str,
    now: datetime,
    name: str,
    *,
    new_name: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    mobile_phone: str | None = None,
    comments: str | None = None,
) -> User:
    """UpdateUser: only the attributes given change."""
    current = user(tx, account_id, name)
    values: dict[str, str] = {}
    if new_name is not None and new_name != current.user_name:
        check_name(new_name, "NewUserName", USER_NAME, 64)
        if find_user(tx, account_id, new_name) is not None:
            raise e.USER_EXISTS()
        values["user_name"] = new_name
    if display_name is not None:
        values["display_name"] = check_text(display_name, "NewDisplayName", 128)
    if email is not None:
        values["email"] = check_format(email, "NewEmail", EMAIL)
    if mobile_phone is not None:
        values["mobile_phone"] = check_format(mobile_phone, "NewMobilePhone", MOBILE_PHONE, 32)
    if comments is not None:
        values["comments"] = check_text(comments, "NewComments", 128)
    tx.execute(update(ram_users).where(ram_users.c.user_id == current.user_id).values(updated_at=now, **values))
    updated = user_by_id(tx, current.user_id)
    assert updated is not None
    return updated


def delete_user(tx: Connection, account_id: str, name: str) -> User:
    """DeleteUser: refused while the user has AccessKeys, policies or groups (checked in that order)."""
    found = user(tx, account_id, name)
    conflicts: tuple[tuple[ErrorSpec, int], ...] = (
        (
            e.USER_HAS_KEYS,
            _count(tx, access_keys, access_keys.c.owner_type == "user", access_keys.c.owner_id == found.user_id),
        ),
        (e.USER_HAS_POLICIES, attachment_count(tx, "User", found.user_id)),
        (e.USER_HAS_GROUPS, _count(tx, ram_group_members, ram_group_members.c.user_id == found.user_id)),
    )
    for spec, number in conflicts:
        if number:
            raise spec()
    tx.execute(delete(ram_users).where(ram_users.c.user_id == found.user_id))
    return found


def list_users(tx: Connection, account_id: str, marker: str | None, max_items: int) -> Page:
    rows, next_marker = page(tx, ram_users, [ram_users.c.account_id == account_id], marker, max_items)
    return Page([_user(row) for row in rows], next_marker)


# -- groups ---------------------------------------------------------------------------------
def find_group(tx: Connection, account_id: str, name: str) -> Group | None:
    row = tx.execute(
        select(ram_groups).where(ram_groups.c.account_id == account_id, ram_groups.c.group_name == name)
    ).first()
    return _group(row) if row else None


def group(tx: Connection, account_id: str, name: str) -> Group:
    found = find_group(tx, account_id, name)
    if found is None:
        raise e.GROUP_NOT_FOUND()
    return found


def create_group(tx: Connection, account_id: str, now: datetime, name: str, comments: str | None) -> Group:
    check_name(name, "GroupName", GROUP_NAME, 64)
    text = check_text(comments, "Comments", 128)
    if find_group(tx, account_id, name) is not None:
        raise e.GROUP_EXISTS()
    if _count(tx, ram_groups, ram_groups.c.account_id == account_id) >= e.MAX_GROUPS:
        raise e.TOO_MANY_GROUPS(f"An account has at most {e.MAX_GROUPS} groups.")
    new_id = group_id()
    insert_unique(
        tx,
        insert(ram_groups).values(
            group_id=new_id, account_id=account_id, group_name=name, comments=text, created_at=now, updated_at=now
        ),
        e.GROUP_EXISTS,
    )
    return Group(new_id, name, text, now, now)


def delete_group(tx: Connection, account_id: str, name: str) -> Group:
    found = group(tx, account_id, name)
    if _count(tx, ram_group_members, ram_group_members.c.group_id == found.group_id):
        raise e.GROUP_HAS_USERS()
    if attachment_count(tx, "Group", found.group_id):
        raise e.GROUP_HAS_POLICIES()
    tx.execute(delete(ram_groups).where(ram_groups.c.group_id == found.group_id))
    return found


def list_groups(tx: Connection, account_id: str, marker: str | None, max_items: int) -> Page:
    rows, next_marker = page(tx, ram_groups, [ram_groups.c.account_id == account_id], marker, max_items)
    return Page([_group(row) for row in rows], next_marker)


def add_user_to_group(tx: Connection, account_id: str, now: datetime, user_name: str, group_name: str) -> None:
    member, target = user(tx, account_id, user_name), group(tx, account_id, group_name)
    memberships = _count(tx, ram_group_members, ram_group_members.c.user_id == member.user_id)
    joined = tx.execute(
        select(ram_group_members.c.user_id).where(
            ram_group_members.c.group_id == target.group_id, ram_group_members.c.user_id == member.user_id
        )
    ).first()
    if joined is not None:
        raise e.USER_IN_GROUP()
    if memberships >= e.MAX_GROUPS_PER_USER:
        raise e.TOO_MANY_GROUPS_FOR_USER(f"A user joins at most {e.MAX_GROUPS_PER_USER} groups.")
    row = {"group_id": target.group_id, "user_id": member.user_id, "joined_at": now}
    insert_unique(tx, insert(ram_group_members).values(**row), e.USER_IN_GROUP)


def remove_user_from_group(tx: Connection, account_id: str, user_name: str, group_name: str) -> None:
    member, target = user(tx, account_id, user_name), group(tx, account_id, group_name)
    removed = tx.execute(
        delete(ram_group_members).where(
            ram_group_members.c.group_id == target.group_id, ram_group_members.c.user_id == member.user_id
        )
    ).rowcount
    if not removed:
        raise e.USER_NOT_IN_GROUP()


def groups_for_user(tx: Connection, account_id: str, user_name: str) -> list[tuple[Group, datetime]]:
    member = user(tx, account_id, user_name)
    rows = tx.execute(
        select(ram_groups, ram_group_members.c.joined_at)
        .join(ram_group_members, ram_group_members.c.group_id == ram_groups.c.group_id)
        .where(ram_group_members.c.user_id == member.user_id)
        .order_by(ram_group_members.c.joined_at, ram_groups.c.seq)
    ).all()
    return [(_group(row), row.joined_at) for row in rows]


def users_in_group(tx: Connection, account_id: str, group_name: str) -> list[tuple[User, datetime]]:
    target = group(tx, account_id, group_name)
    rows = tx.execute(
        select(ram_users, ram_group_members.c.joined_at)
        .join(ram_group_members, ram_group_members.c.user_id == ram_users.c.user_id)
        .where(ram_group_members.c.group_id == target.group_id)
        .order_by(ram_group_members.c.joined_at, ram_users.c.seq)
    ).all()
    return [(_user(row), row.joined_at) for row in rows]


# -- roles ----------------------------------------------------------------------------------
def find_role(tx: Connection, account_id: str, name: str) -> Role | None:
    row = tx.execute(
        select(ram_roles).where(ram_roles.c.account_id == account_id, ram_roles.c.role_name == name)
    ).first()
    return _role(row) if row else None


def role(tx: Connection, account_id: str, name: str, not_found: ErrorSpec = e.ROLE_NOT_FOUND) -> Role:
    found = find_role(tx, account_id, name)
    if found is None:
        raise not_found()
    return found


def role_by_id(tx: Connection, role_id: str) -> Role | None:
    row = tx.execute(_ROLE_BY_ID, {"id": role_id}).first()
    return _role(row) if row else None


def create_role(
    tx: Connection,
    account_id: str,
    now: datetime,
    name: str,
    trust_policy: str,
    *,
    description: str | None = None,
    max_session_duration: int | None = None,
) -> Role:
    check_name(name, "RoleName", ROLE_NAME, 64)
    text = check_text(description, "Description", 1024)
    duration = DEFAULT_SESSION_DURATION if max_session_duration is None else max_session_duration
    if not MIN_SESSION_DURATION <= duration <= MAX_SESSION_DURATION:
        raise e.INVALID_MAX_SESSION()
    parse_trust_policy(trust_policy)  # MalformedPolicyDocument with the reason
    if find_role(tx, account_id, name) is not None:
        raise e.ROLE_EXISTS()
    if _count(tx, ram_roles, ram_roles.c.account_id == account_id) >= e.MAX_ROLES:
        raise e.TOO_MANY_ROLES(f"An account has at most {e.MAX_ROLES} roles.")
    role_id = numeric_id()
    insert_unique(
        tx,
        insert(ram_roles).values(
            role_id=role_id,
            account_id=account_id,
            role_name=name,
            description=text,
            trust_policy=trust_policy,
            max_session_duration=duration,
            created_at=now,
            updated_at=now,
        ),
        e.ROLE_EXISTS,
    )
    return Role(role_id, name, text, trust_policy, duration, now, now)


def delete_role(tx: Connection, account_id: str, name: str) -> Role:
    """DeleteRole: refused while policies are attached.  Its STS sessions stop working at once."""
    found = role(tx, account_id, name)
    if attachment_count(tx, "Role", found.role_id):
        raise e.ROLE_HAS_POLICIES()
    tx.execute(delete(ram_roles).where(ram_roles.c.role_id == found.role_id))
    return found


def list_roles(tx: Connection, account_id: str, marker: str | None, max_items: int) -> Page:
    rows, next_marker = page(tx, ram_roles, [ram_roles.c.account_id == account_id], marker, max_items)
    return Page([_role(row) for row in rows], next_marker)
