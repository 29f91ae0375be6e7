"""flow log counts per account and region, kept by triggers

An unfiltered DescribeFlowlogs answers TotalCount, and CreateFlowlog checks the quota, by
counting the account's flow logs: a scan of every row, 10 ms at 100,000 flow logs.  The table
``flowlog_counts`` holds the count per (account, region) instead, maintained by triggers on
``flowlogs`` in the same transaction as the insert or delete, so it is exactly as durable and as
consistent as the rows it counts, whichever code (or tool) writes them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER flowlogs_count_insert AFTER INSERT ON flowlogs BEGIN
        INSERT INTO flowlog_counts (account_id, region_id, total) VALUES (NEW.account_id, NEW.region_id, 1)
        ON CONFLICT (account_id, region_id) DO UPDATE SET total = total + 1;
    END
    """,
    """
    CREATE TRIGGER flowlogs_count_delete AFTER DELETE ON flowlogs BEGIN
        UPDATE flowlog_counts SET total = total - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id;
    END
    """,
    """
    CREATE TRIGGER flowlogs_count_move AFTER UPDATE OF account_id, region_id ON flowlogs BEGIN
        UPDATE flowlog_counts SET total = total - 1
        WHERE account_id = OLD.account_id AND region_id = OLD.region_id;
        INSERT INTO flowlog_counts (account_id, region_id, total) VALUES (NEW.account_id, NEW.region_id, 1)
        ON CONFLICT (account_id, region_id) DO UPDATE SET total = total + 1;
    END
    """,
)

_POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION flowlogs_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            UPDATE flowlog_counts SET total = total - 1
            WHERE account_id = OLD.account_id AND region_id = OLD.region_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO flowlog_counts (account_id, region_id, total) VALUES (NEW.account_id, NEW.region_id, 1)
            ON CONFLICT (account_id, region_id) DO UPDATE SET total = flowlog_counts.total + 1;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER flowlogs_count AFTER INSERT OR DELETE OR UPDATE OF account_id, region_id ON flowlogs
    FOR EACH ROW EXECUTE FUNCTION flowlogs_count()
    """,
)


def upgrade() -> None:
    op.create_table(
        "flowlog_counts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("region_id", sa.String(length=64), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "region_id", name=op.f("pk_flowlog_counts")),
    )
    op.execute(
        "INSERT INTO flowlog_counts (account_id, region_id, total) "
        "SELECT account_id, region_id, count(*) FROM flowlogs GROUP BY account_id, region_id"
    )
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER flowlogs_count ON flowlogs")
        op.execute("DROP FUNCTION flowlogs_count()")
    else:
        for name in ("flowlogs_count_insert", "flowlogs_count_delete", "flowlogs_count_move"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("flowlog_counts")
