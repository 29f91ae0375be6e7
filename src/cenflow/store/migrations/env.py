"""Alembic environment: migrations run on the connection cenflow hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cenflow.store.tables import metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("cenflow migrations run through cenflow.store.migrate, which passes a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
