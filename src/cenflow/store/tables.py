"""The schema, in SQLAlchemy Core.  Alembic migrations under ``migrations/`` build it.

Portable between SQLite and PostgreSQL: no dialect-only types; times are timezone-aware UTC;
JSON documents are stored as text so that both engines compare them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both engines (SQLite drops the zone; we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if dialect.name != "sqlite" else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # What ``store.driver.DriverStatement`` binds and reads, in one step each: the same values
    # as this decorator with the dialect's own DATETIME processing (on SQLite, text of the form
    # ``2026-12-04 05:06:07.000000``, microseconds always written), at a fraction of the cost.
    def driver_bind(self, dialect: Dialect) -> Callable[[datetime], object]:
        return _sqlite_text if dialect.name == "sqlite" else _utc

    def driver_result(self, dialect: Dialect) -> Callable[[Any], datetime]:
        return _from_sqlite_text if dialect.name == "sqlite" else _as_utc


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


def _sqlite_text(value: datetime) -> str:
    if value.tzinfo is UTC:  # the usual case: "...07.891011+00:00" less its offset
        return value.isoformat(" ", "microseconds")[:26]
    return _utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _from_sqlite_text(value: str) -> datetime:
    return datetime.fromisoformat(value + "+00:00")


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id(name: str, **kw: Any) -> Column[str]:
    return Column(name, String(64), **kw)


def _seq() -> Column[int]:
    """Surrogate key in creation order: stable listing order and cheap keyset paging."""
    return Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


# --- wire protocol ---------------------------------------------------------------------------
nonces = Table(
    "nonces",
    metadata,
    Column("access_key_id", String(128), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("access_key_id", "nonce"),
    Index(None, "expires_at"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("account_id", String(32), nullable=False),
    Column("action", String(128), nullable=False),
    Column("client_token", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("response", Text, nullable=True),  # JSON body without RequestId
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "action", "client_token"),
    Index(None, "created_at"),
)

# --- credentials -----------------------------------------------------------------------------
access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(64), primary_key=True),
    Column("secret_ciphertext", LargeBinary, nullable=False),
    Column("owner_type", String(16), nullable=False),  # "root" or "user"
    Column("owner_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # Active | Inactive
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Index(None, "owner_type", "owner_id"),
)

# --- RAM identities and policies (iam.directory, iam.policies) --------------------------------
# Names are unique per account and compared case-sensitively; ids are what other rows refer to,
# so a renamed user keeps its keys, groups and policies.
ram_users = Table(
    "ram_users",
    metadata,
    _seq(),
    _id("user_id", nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("display_name", String(128), nullable=False, default=""),
    Column("email", String(128), nullable=False, default=""),
    Column("mobile_phone", String(32), nullable=False, default=""),
    Column("comments", String(128), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "user_name"),
)

ram_groups = Table(
    "ram_groups",
    metadata,
    _seq(),
    _id("group_id", nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("group_name", String(64), nullable=False),
    Column("comments", String(128), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "group_name"),
)

ram_group_members = Table(
    "ram_group_members",
    metadata,
    _id("group_id", nullable=False),
    _id("user_id", nullable=False),
    Column("joined_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("group_id", "user_id"),
    Index(None, "user_id"),
)

ram_roles = Table(
    "ram_roles",
    metadata,
    _seq(),
    _id("role_id", nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("role_name", String(64), nullable=False),
    Column("description", String(1024), nullable=False, default=""),
    Column("trust_policy", Text, nullable=False),  # AssumeRolePolicyDocument as sent
    Column("max_session_duration", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "role_name"),
)

# Custom policies only: system policies live in code (iam.policy.SYSTEM_POLICIES).
ram_policies = Table(
    "ram_policies",
    metadata,
    _seq(),
    Column("account_id", String(32), nullable=False),
    Column("policy_name", String(128), nullable=False),
    Column("description", String(1024), nullable=False, default=""),
    Column("default_version", String(16), nullable=False),
    # The number of the next version (v1, v2, ...): ids are never reused after a deletion.
    Column("next_version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "policy_name"),
)

ram_policy_versions = Table(
    "ram_policy_versions",
    metadata,
    Column("account_id", String(32), nullable=False),
    Column("policy_name", String(128), nullable=False),
    Column("version_id", String(16), nullable=False),
    Column("document", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "policy_name", "version_id"),
)

# Who has which policy: principal_type is User, Group or Role and principal_id its id.
ram_policy_attachments = Table(
    "ram_policy_attachments",
    metadata,
    Column("account_id", String(32), nullable=False),
    Column("principal_type", String(8), nullable=False),
    _id("principal_id", nullable=False),
    Column("policy_type", String(8), nullable=False),  # System | Custom
    Column("policy_name", String(128), nullable=False),
    Column("attached_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("principal_type", "principal_id", "policy_type", "policy_name"),
    Index(None, "account_id", "policy_type", "policy_name"),
)

# --- durable tasks ---------------------------------------------------------------------------
tasks = Table(
    "tasks",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "due_at"),
    Index(None, "resource_id"),
)

# --- CEN resources ---------------------------------------------------------------------------
cens = Table(
    "cens",
    metadata,
    _seq(),
    _id("cen_id", nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("name", String(128), nullable=False, default=""),
    Column("description", String(256), nullable=False, default=""),
    Column("protection_level", String(16), nullable=False),
    Column("ipv6_level", String(16), nullable=False),
    Column("resource_group_id", String(64), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

transit_routers = Table(
    "transit_routers",
    metadata,
    _seq(),
    _id("transit_router_id", nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    _id("cen_id", nullable=False),
    Column("region_id", String(64), nullable=False),
    Column("name", String(128), nullable=False, default=""),
    Column("description", String(256), nullable=False, default=""),
    Column("type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("support_multicast", Boolean, nullable=False, default=False),
    Column("cidrs", Text, nullable=False, default="[]"),  # JSON list
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "cen_id", "region_id"),
    Index(None, "region_id", "seq"),
)

attachments = Table(
    "attachments",
    metadata,
    _seq(),
    _id("attachment_id", nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("kind", String(8), nullable=False),  # VPC | VBR | TR (inter-region peer)
    # The network instance attached: the VPC id, VBR id or the peer transit router id.
    _id("instance_id", nullable=False),
    _id("cen_id", nullable=False),
    _id("transit_router_id", nullable=False),
    Column("region_id", String(64), nullable=False),
    Column("name", String(128), nullable=False, default=""),
    Column("description", String(256), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("auto_publish_route", Boolean, nullable=False, default=False),
    Column("details", Text, nullable=False, default="{}"),  # kind-specific fields, JSON
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "transit_router_id", "kind", "seq"),
    Index(None, "kind", "seq"),
    Index(None, "instance_id"),
)

flowlogs = Table(
    "flowlogs",
    metadata,
    _seq(),
    _id("flow_log_id", nullable=False, unique=True),
    Column("account_id", String(32), nullable=False),
    Column("region_id", String(64), nullable=False),
    _id("cen_id", nullable=False),
    _id("transit_router_id", nullable=False),
    _id("attachment_id", nullable=True),
    # What the flow log captures: the attachment id, or the transit router id for a whole-TR
    # flow log.  Unique, so a scope can never hold two flow logs whatever the race.
    _id("scope_id", nullable=False, unique=True),
    Column("name", String(128), nullable=False, default=""),
    Column("description", String(256), nullable=False, default=""),
    Column("project_name", String(63), nullable=False),
    Column("logstore_name", String(63), nullable=False),
    Column("interval", Integer, nullable=False),
    Column("log_format", Text, nullable=False, default=""),
    Column("version", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "region_id", "seq"),
    Index(None, "cen_id", "seq"),
    Index(None, "status", "seq"),
    Index(None, "project_name", "logstore_name"),
)

# How many flow logs each account has in each region.  Kept by triggers on ``flowlogs`` (migration
# 0002), in the transaction that inserts or deletes the flow log, so an unfiltered listing or the
# quota check reads its total here instead of counting rows.  A migration that recreates
# ``flowlogs`` (SQLite batch mode) must recreate the triggers too.
flowlog_counts = Table(
    "flowlog_counts",
    metadata,
    Column("account_id", String(32), nullable=False),
    Column("region_id", String(64), nullable=False),
    Column("total", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id", "region_id"),
)

tags = Table(
    "tags",
    metadata,
    Column("resource_type", String(64), nullable=False),
    _id("resource_id", nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False, default=""),
    PrimaryKeyConstraint("resource_type", "resource_id", "key"),
    Index(None, "resource_type", "key", "value"),
    Index(None, "resource_id"),
)

# --- log store catalogue (SLS projects and logstores) ---------------------------------------
sls_projects = Table(
    "sls_projects",
    metadata,
    Column("project_name", String(63), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("region_id", String(64), nullable=False),
    Column("description", String(256), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
)

sls_logstores = Table(
    "sls_logstores",
    metadata,
    Column("project_name", String(63), nullable=False),
    Column("logstore_name", String(63), nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("project_name", "logstore_name"),
)

# --- change epochs --------------------------------------------------------------------------
# A counter per area, bumped in the transaction of every change to it, so a reader that only
# needs to know *whether* something changed (the collector polling the topology and the Active
# flow logs every second) reads one row instead of everything.
epochs = Table(
    "epochs",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
