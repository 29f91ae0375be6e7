"""Repository of flow logs."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select

from cenflow.domain.flowlogs import FlowLog
from cenflow.domain.states import FlowLogStatus
from cenflow.store.driver import DriverStatement, column_list
from cenflow.store.tables import flowlogs


def from_row(row: Any) -> FlowLog:
    """A flow log from a row of ``flowlogs`` (a SQLAlchemy ``Row`` or a ``FlowLogRow``)."""
    return FlowLog(
        flow_log_id=row.flow_log_id,
        account_id=row.account_id,
        region_id=row.region_id,
        cen_id=row.cen_id,
        transit_router_id=row.transit_router_id,
        attachment_id=row.attachment_id,
        name=row.name,
        description=row.description,
        project_name=row.project_name,
        logstore_name=row.logstore_name,
        interval=row.interval,
        log_format=row.log_format,
        version=row.version,
        status=row.status,
        created_at=row.created_at,
    )


def insert_flowlog(tx: Connection, flowlog: FlowLog) -> None:
    tx.execute(
        insert(flowlogs).values(
            flow_log_id=flowlog.flow_log_id,
            account_id=flowlog.account_id,
            region_id=flowlog.region_id,
            cen_id=flowlog.cen_id,
            transit_router_id=flowlog.transit_router_id,
            attachment_id=flowlog.attachment_id,
            scope_id=flowlog.scope_id,
            name=flowlog.name,
            description=flowlog.description,
            project_name=flowlog.project_name,
            logstore_name=flowlog.logstore_name,
            interval=flowlog.interval,
            log_format=flowlog.log_format,
            version=flowlog.version,
            status=flowlog.status,
            created_at=flowlog.created_at,
        )
    )


# The statements of every lifecycle call and transition, on the driver (see DriverStatement):
# by (with account, locked), and the two updates.
FlowLogRow = namedtuple("FlowLogRow", [column.name for column in flowlogs.columns])  # type: ignore[misc]


def _by_id(with_account: bool, lock: bool) -> DriverStatement:
    sql = f"SELECT {column_list(flowlogs)} FROM flowlogs WHERE flow_log_id = ?"
    if with_account:
        sql += " AND account_id = ?"
    # SQLite has no row locks: its write transactions hold the database's write lock.
    return DriverStatement(sql, columns=tuple(flowlogs.columns), postgresql=sql + (" FOR UPDATE" if lock else ""))


_GET = {(with_account, lock): _by_id(with_account, lock) for with_account in (False, True) for lock in (False, True)}
_SAVE = DriverStatement(
    'UPDATE flowlogs SET name = ?, description = ?, "interval" = ?, status = ? WHERE flow_log_id = ?'
)
_SET_STATUS = DriverStatement("UPDATE flowlogs SET status = ? WHERE flow_log_id = ?")
_SETTLE_STATUS = DriverStatement("UPDATE flowlogs SET status = ? WHERE flow_log_id = ? AND status = ?")


def get_flowlog(
    tx: Connection, flow_log_id: str, *, account_id: str | None = None, lock: bool = False
) -> FlowLog | None:
    query = _GET[account_id is not None, lock]
    row = query.first(tx, flow_log_id, account_id) if account_id is not None else query.first(tx, flow_log_id)
    return from_row(FlowLogRow._make(row)) if row else None


_STATUS_FOR_UPDATE = DriverStatement(
    "SELECT status FROM flowlogs WHERE flow_log_id = ?",
    postgresql="SELECT status FROM flowlogs WHERE flow_log_id = ? FOR UPDATE",
)


def flowlog_status_for_update(tx: Connection, flow_log_id: str) -> str | None:
    """The status alone, the row locked until the transaction ends (a transition's check);
    ``None`` when the flow log does not exist."""
    row = _STATUS_FOR_UPDATE.first(tx, flow_log_id)
    return str(row[0]) if row else None


def save_flowlog(tx: Connection, flowlog: FlowLog) -> None:
    """Persist the mutable attributes (the rest never changes after creation)."""
    _SAVE.run(tx, flowlog.name, flowlog.description, flowlog.interval, flowlog.status, flowlog.flow_log_id)


def settle_flowlog_status(tx: Connection, flow_log_id: str, expected: str, status: str) -> bool:
    """Set ``status`` only if the flow log is still ``expected``, in one statement (a compare
    and set: PostgreSQL re-checks the condition once it holds the row's lock).  ``False``: gone,
    or in another status."""
    return bool(_SETTLE_STATUS.run(tx, status, flow_log_id, expected).rowcount == 1)


def set_flowlog_status(tx: Connection, flow_log_id: str, status: str) -> None:
    _SET_STATUS.run(tx, status, flow_log_id)


def delete_flowlog(tx: Connection, flow_log_id: str) -> None:
    tx.execute(delete(flowlogs).where(flowlogs.c.flow_log_id == flow_log_id))


def flowlogs_touching(tx: Connection, transit_router_id: str, attachment_ids: list[str]) -> list[FlowLog]:
    """Flow logs of the transit router itself or of any of the given attachments."""
    condition: ColumnElement[bool] = flowlogs.c.transit_router_id == transit_router_id
    if attachment_ids:
        condition = or_(condition, flowlogs.c.attachment_id.in_(attachment_ids))
    return [from_row(r) for r in tx.execute(select(flowlogs).where(condition))]


def flowlog_by_scope(tx: Connection, scope_id: str) -> FlowLog | None:
    row = tx.execute(select(flowlogs).where(flowlogs.c.scope_id == scope_id)).first()
    return from_row(row) if row else None


def count_flowlogs(tx: Connection, account_id: str, region_id: str | None = None) -> int:
    """The account's flow logs (in one region), from the counts the triggers keep: no row scan."""
    row = _COUNT_IN_REGION.first(tx, account_id, region_id) if region_id is not None else _COUNT.first(tx, account_id)
    return int(row[0]) if row else 0


# An unfiltered listing reads the count on every call: on the driver (see DriverStatement).
_COUNT = DriverStatement("SELECT COALESCE(SUM(total), 0) FROM flowlog_counts WHERE account_id = ?")
_COUNT_IN_REGION = DriverStatement(
    "SELECT COALESCE(SUM(total), 0) FROM flowlog_counts WHERE account_id = ? AND region_id = ?"
)


def flowlogs_using_logstore(tx: Connection, project: str, logstore: str | None = None) -> list[FlowLog]:
    query = select(flowlogs).where(flowlogs.c.project_name == project)
    if logstore is not None:
        query = query.where(flowlogs.c.logstore_name == logstore)
    return [from_row(r) for r in tx.execute(query)]


def active_flowlogs(tx: Connection) -> list[FlowLog]:
    """What the data plane collects for: every flow log currently Active."""
    query = select(flowlogs).where(flowlogs.c.status == FlowLogStatus.ACTIVE.value).order_by(flowlogs.c.seq)
    return [from_row(r) for r in tx.execute(query)]
