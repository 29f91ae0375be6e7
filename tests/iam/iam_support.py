"""Builders for the IAM unit tests (the directory has no __init__.py, so this module is imported by
its own, deliberately distinctive, name)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, event

from cenflow.api.context import CallContext
from cenflow.iam.principal import Principal
from cenflow.store.database import Database

ACCOUNT = "1234567890123456"
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
FLOWLOG_ARN = f"acs:cbn:cn-hangzhou:{ACCOUNT}:flowlog/flowlog-one"
OTHER_FLOWLOG_ARN = f"acs:cbn:cn-hangzhou:{ACCOUNT}:flowlog/flowlog-two"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def allow(action: Any = "*", resource: Any = "*", **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def deny(action: Any = "*", resource: Any = "*", **condition: Any) -> dict[str, Any]:
    return {**allow(action, resource, **condition), "Effect": "Deny"}


def call_context(principal: Principal, tx: Connection, *, source_ip: str = "192.0.2.10") -> CallContext:
    """A gateway call context; the enforcer uses no service, so none is given."""
    return CallContext(
        request_id="TEST",
        principal=principal,
        source_ip=source_ip,
        secure=False,
        now=NOW,
        tx=tx,
        services=cast(Any, None),
    )


@contextmanager
def counting_queries(database: Database) -> Iterator[list[str]]:
    """The SQL statements executed on ``database`` inside the block."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        del conn, cursor, args
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def names(items: Sequence[Any], attribute: str) -> list[str]:
    return [getattr(item, attribute) for item in items]
