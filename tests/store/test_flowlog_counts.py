"""The flow log counts the triggers of migration 0002 keep, and the reads that use them.

SQLite by default; with ``CENFLOW_TEST_POSTGRES_URL`` set, on a fresh PostgreSQL database too
(see tests/iam/conftest.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, insert, make_url, select, text, update

from cenflow.store.database import Database
from cenflow.store.flowlogs import count_flowlogs
from cenflow.store.migrate import upgrade
from cenflow.store.tables import flowlog_counts, flowlogs

POSTGRES = os.environ.get("CENFLOW_TEST_POSTGRES_URL")
A, B = "1000000000000001", "1000000000000002"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        instance = Database(f"sqlite:///{tmp_path / 'counts.db'}", sqlite_synchronous="OFF")
        upgrade(instance)
        yield instance
        instance.dispose()
        return
    if POSTGRES is None:
        pytest.skip("CENFLOW_TEST_POSTGRES_URL is not set")
    name = f"counts_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    instance = Database(make_url(POSTGRES).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(instance)
        yield instance
    finally:
        instance.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


def row(index: int, account: str, region: str) -> dict[str, object]:
    return {
        "flow_log_id": f"flowlog-{index:020d}",
        "account_id": account,
        "region_id": region,
        "cen_id": "cen-1",
        "transit_router_id": "tr-1",
        "attachment_id": None,
        "scope_id": f"tr-{index}",
        "name": "",
        "description": "",
        "project_name": "p",
        "logstore_name": "l",
        "interval": 600,
        "log_format": "",
        "version": "3",
        "status": "Active",
        "created_at": datetime.now(UTC),
    }


def counted(database: Database) -> dict[tuple[str, str], int]:
    with database.read() as tx:
        return {(r.account_id, r.region_id): r.total for r in tx.execute(select(flowlog_counts)) if r.total}


def actual(database: Database) -> dict[tuple[str, str], int]:
    with database.read() as tx:
        query = select(flowlogs.c.account_id, flowlogs.c.region_id, func.count()).group_by(
            flowlogs.c.account_id, flowlogs.c.region_id
        )
        return {(account, region): n for account, region, n in tx.execute(query)}


def test_inserts_deletes_and_moves_are_counted(database: Database) -> None:
    with database.write() as tx:
        tx.execute(
            insert(flowlogs), [row(i, A if i % 2 else B, "cn-hangzhou" if i % 3 else "cn-beijing") for i in range(30)]
        )
    assert counted(database) == actual(database)
    with database.write() as tx:
        tx.execute(delete(flowlogs).where(flowlogs.c.flow_log_id.in_([f"flowlog-{i:020d}" for i in range(0, 30, 4)])))
        tx.execute(
            update(flowlogs).where(flowlogs.c.flow_log_id == f"flowlog-{1:020d}").values(region_id="cn-shanghai")
        )
        tx.execute(update(flowlogs).values(status="Inactive"))
    assert counted(database) == actual(database)
    with database.read() as tx:
        assert count_flowlogs(tx, A) == sum(n for (account, _), n in actual(database).items() if account == A)
        assert count_flowlogs(tx, A, "cn-shanghai") == 1
        assert count_flowlogs(tx, "1000000000000009") == 0


def test_a_rolled_back_insert_is_not_counted(database: Database) -> None:
    def insert_then_fail() -> None:
        with database.write() as tx:
            tx.execute(insert(flowlogs), [row(1, A, "cn-hangzhou")])
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        insert_then_fail()
    assert counted(database) == {}
