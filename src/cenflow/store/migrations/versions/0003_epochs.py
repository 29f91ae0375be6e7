"""change epochs: one row bumped by every change the collector must notice

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    epochs = op.create_table(
        "epochs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_epochs")),
    )
    op.bulk_insert(epochs, [{"name": "collection", "value": 0}])


def downgrade() -> None:
    op.drop_table("epochs")
