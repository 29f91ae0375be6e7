"""cenflow.store.driver.DriverStatement: the same values in and out as SQLAlchemy's path, on both
engines, inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from cenflow.store.database import Database
from cenflow.store.driver import DriverStatement, column_list
from cenflow.store.tables import UtcDateTime, sls_logstores, sls_projects, tasks

WHEN = datetime(2026, 12, 4, 5, 6, 7, 891011, tzinfo=UTC)

_INSERT_TASK = DriverStatement(
    "INSERT INTO tasks (kind, resource_id, payload, due_at, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    params=(None, None, None, tasks.c.due_at, None, tasks.c.created_at),
)
_TASK = DriverStatement(
    "SELECT kind, due_at, lease_expires_at, attempts FROM tasks WHERE resource_id = ?",
    columns=(tasks.c.kind, tasks.c.due_at, tasks.c.lease_expires_at, tasks.c.attempts),
    postgresql="SELECT kind, due_at, lease_expires_at, attempts FROM tasks WHERE resource_id = ? FOR UPDATE",
)


def test_values_bound_on_the_driver_read_back_through_sqlalchemy(each_engine: Database) -> None:
    with each_engine.write() as tx:
        _INSERT_TASK.run(tx, "transition", "flowlog-1", "{}", WHEN, 0, WHEN)
    with each_engine.read() as tx:
        row = tx.execute(select(tasks.c.due_at, tasks.c.created_at).where(tasks.c.resource_id == "flowlog-1")).one()
    assert tuple(row) == (WHEN, WHEN)


def test_values_read_on_the_driver_are_converted_as_sqlalchemy_would(each_engine: Database) -> None:
    with each_engine.write() as tx:
        _INSERT_TASK.run(tx, "transition", "flowlog-1", "{}", WHEN, 2, WHEN)
        assert _TASK.first(tx, "flowlog-1") == ("transition", WHEN, None, 2)  # FOR UPDATE on PostgreSQL
        assert _TASK.first(tx, "flowlog-unknown") is None
        assert _TASK.all(tx, "flowlog-1") == [("transition", WHEN, None, 2)]


def test_a_driver_statement_is_part_of_the_callers_transaction(each_engine: Database) -> None:
    with pytest.raises(RuntimeError), each_engine.write() as tx:  # noqa: PT012 - the rollback is the point
        _INSERT_TASK.run(tx, "transition", "flowlog-1", "{}", WHEN, 0, WHEN)
        raise RuntimeError("rolled back")
    with each_engine.read() as tx:
        assert _TASK.first(tx, "flowlog-1") is None


def test_column_list_quotes_every_column_in_table_order(each_engine: Database) -> None:
    statement = DriverStatement(
        f"SELECT {column_list(sls_logstores)} FROM sls_logstores WHERE project_name = ?",
        columns=tuple(sls_logstores.columns),
    )
    with each_engine.write() as tx:
        tx.execute(
            insert(sls_projects).values(
                project_name="p", account_id="1", region_id="cn-hangzhou", description="", created_at=WHEN
            )
        )
        tx.execute(
            insert(sls_logstores).values(project_name="p", logstore_name="l", retention_days=30, created_at=WHEN)
        )
        assert statement.all(tx, "p") == [("p", "l", 30, WHEN)]


@pytest.mark.parametrize(
    "value",
    [
        WHEN,
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still written with six digits
        datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8))),  # not UTC
        datetime(1999, 12, 31, 16, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),
    ],
)
def test_utc_datetime_converts_on_the_driver_as_sqlalchemy_does(each_engine: Database, value: datetime) -> None:
    column_type = UtcDateTime()
    dialect = each_engine.engine.dialect
    # SQLAlchemy's own path: the decorator over the dialect's DATETIME.
    reference_bind = column_type.dialect_impl(dialect).bind_processor(dialect)
    reference_result = column_type.dialect_impl(dialect).result_processor(dialect, None)
    assert reference_bind is not None
    assert reference_result is not None
    bound = column_type.driver_bind(dialect)(value)
    assert bound == reference_bind(value)
    read = column_type.driver_result(dialect)(bound)
    assert read == reference_result(bound) == value
    assert read.tzinfo is UTC


def test_a_naive_datetime_is_refused_on_the_driver_too(each_engine: Database) -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().driver_bind(each_engine.engine.dialect)(datetime(2026, 1, 1))
