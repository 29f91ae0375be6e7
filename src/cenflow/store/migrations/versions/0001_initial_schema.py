"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 04:45:41.247142
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(length=64), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("access_key_id", name=op.f("pk_access_keys")),
    )
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_keys_owner_type_owner_id"), ["owner_type", "owner_id"], unique=False
        )

    op.create_table(
        "attachments",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("attachment_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("cen_id", sa.String(length=64), nullable=False),
        sa.Column("transit_router_id", sa.String(length=64), nullable=False),
        sa.Column("region_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("auto_publish_route", sa.Boolean(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_attachments")),
        sa.UniqueConstraint("attachment_id", name=op.f("uq_attachments_attachment_id")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachments_kind_seq"), ["kind", "seq"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_attachments_transit_router_id_kind_seq"), ["transit_router_id", "kind", "seq"], unique=False
        )

    op.create_table(
        "cens",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("cen_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("protection_level", sa.String(length=16), nullable=False),
        sa.Column("ipv6_level", sa.String(length=16), nullable=False),
        sa.Column("resource_group_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_cens")),
        sa.UniqueConstraint("cen_id", name=op.f("uq_cens_cen_id")),
    )
    op.create_table(
        "flowlogs",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("flow_log_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("region_id", sa.String(length=64), nullable=False),
        sa.Column("cen_id", sa.String(length=64), nullable=False),
        sa.Column("transit_router_id", sa.String(length=64), nullable=False),
        sa.Column("attachment_id", sa.String(length=64), nullable=True),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("project_name", sa.String(length=63), nullable=False),
        sa.Column("logstore_name", sa.String(length=63), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("log_format", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_flowlogs")),
        sa.UniqueConstraint("flow_log_id", name=op.f("uq_flowlogs_flow_log_id")),
        sa.UniqueConstraint("scope_id", name=op.f("uq_flowlogs_scope_id")),
    )
    with op.batch_alter_table("flowlogs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flowlogs_cen_id_seq"), ["cen_id", "seq"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_flowlogs_project_name_logstore_name"), ["project_name", "logstore_name"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_flowlogs_region_id_seq"), ["region_id", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_flowlogs_status_seq"), ["status", "seq"], unique=False)

    op.create_table(
        "idempotency",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "action", "client_token", name=op.f("pk_idempotency")),
    )
    with op.batch_alter_table("idempotency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_created_at"), ["created_at"], unique=False)

    op.create_table(
        "nonces",
        sa.Column("access_key_id", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", "nonce", name=op.f("pk_nonces")),
    )
    with op.batch_alter_table("nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nonces_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "ram_group_members",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_ram_group_members")),
    )
    with op.batch_alter_table("ram_group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ram_group_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "ram_groups",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("comments", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ram_groups")),
        sa.UniqueConstraint("account_id", "group_name", name=op.f("uq_ram_groups_account_id_group_name")),
        sa.UniqueConstraint("group_id", name=op.f("uq_ram_groups_group_id")),
    )
    op.create_table(
        "ram_policies",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("policy_name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("default_version", sa.String(length=16), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ram_policies")),
        sa.UniqueConstraint("account_id", "policy_name", name=op.f("uq_ram_policies_account_id_policy_name")),
    )
    op.create_table(
        "ram_policy_attachments",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("principal_type", sa.String(length=8), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("policy_type", sa.String(length=8), nullable=False),
        sa.Column("policy_name", sa.String(length=128), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "principal_type", "principal_id", "policy_type", "policy_name", name=op.f("pk_ram_policy_attachments")
        ),
    )
    with op.batch_alter_table("ram_policy_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ram_policy_attachments_account_id_policy_type_policy_name"),
            ["account_id", "policy_type", "policy_name"],
            unique=False,
        )

    op.create_table(
        "ram_policy_versions",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("policy_name", sa.String(length=128), nullable=False),
        sa.Column("version_id", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "policy_name", "version_id", name=op.f("pk_ram_policy_versions")),
    )
    op.create_table(
        "ram_roles",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("role_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("role_name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("trust_policy", sa.Text(), nullable=False),
        sa.Column("max_session_duration", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ram_roles")),
        sa.UniqueConstraint("account_id", "role_name", name=op.f("uq_ram_roles_account_id_role_name")),
        sa.UniqueConstraint("role_id", name=op.f("uq_ram_roles_role_id")),
    )
    op.create_table(
        "ram_users",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=128), nullable=False),
        sa.Column("mobile_phone", sa.String(length=32), nullable=False),
        sa.Column("comments", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ram_users")),
        sa.UniqueConstraint("account_id", "user_name", name=op.f("uq_ram_users_account_id_user_name")),
        sa.UniqueConstraint("user_id", name=op.f("uq_ram_users_user_id")),
    )
    op.create_table(
        "sls_logstores",
        sa.Column("project_name", sa.String(length=63), nullable=False),
        sa.Column("logstore_name", sa.String(length=63), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_name", "logstore_name", name=op.f("pk_sls_logstores")),
    )
    op.create_table(
        "sls_projects",
        sa.Column("project_name", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("region_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_name", name=op.f("pk_sls_projects")),
    )
    op.create_table(
        "tags",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("resource_type", "resource_id", "key", name=op.f("pk_tags")),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tags_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tags_resource_type_key_value"), ["resource_type", "key", "value"], unique=False
        )

    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "transit_routers",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("transit_router_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("cen_id", sa.String(length=64), nullable=False),
        sa.Column("region_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("support_multicast", sa.Boolean(), nullable=False),
        sa.Column("cidrs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_transit_routers")),
        sa.UniqueConstraint("transit_router_id", name=op.f("uq_transit_routers_transit_router_id")),
    )
    with op.batch_alter_table("transit_routers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transit_routers_cen_id_region_id"), ["cen_id", "region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transit_routers_region_id_seq"), ["region_id", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transit_routers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transit_routers_region_id_seq"))
        batch_op.drop_index(batch_op.f("ix_transit_routers_cen_id_region_id"))

    op.drop_table("transit_routers")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_resource_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_due_at"))

    op.drop_table("tasks")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tags_resource_type_key_value"))
        batch_op.drop_index(batch_op.f("ix_tags_resource_id"))

    op.drop_table("tags")
    op.drop_table("sls_projects")
    op.drop_table("sls_logstores")
    op.drop_table("ram_users")
    op.drop_table("ram_roles")
    op.drop_table("ram_policy_versions")
    with op.batch_alter_table("ram_policy_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ram_policy_attachments_account_id_policy_type_policy_name"))

    op.drop_table("ram_policy_attachments")
    op.drop_table("ram_policies")
    op.drop_table("ram_groups")
    with op.batch_alter_table("ram_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ram_group_members_user_id"))

    op.drop_table("ram_group_members")
    with op.batch_alter_table("nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nonces_expires_at"))

    op.drop_table("nonces")
    with op.batch_alter_table("idempotency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_created_at"))

    op.drop_table("idempotency")
    with op.batch_alter_table("flowlogs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flowlogs_status_seq"))
        batch_op.drop_index(batch_op.f("ix_flowlogs_region_id_seq"))
        batch_op.drop_index(batch_op.f("ix_flowlogs_project_name_logstore_name"))
        batch_op.drop_index(batch_op.f("ix_flowlogs_cen_id_seq"))

    op.drop_table("flowlogs")
    op.drop_table("cens")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_transit_router_id_kind_seq"))
        batch_op.drop_index(batch_op.f("ix_attachments_kind_seq"))
        batch_op.drop_index(batch_op.f("ix_attachments_instance_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_keys_owner_type_owner_id"))

    op.drop_table("access_keys")
