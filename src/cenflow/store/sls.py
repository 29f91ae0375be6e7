"""The catalogue of SLS projects and logstores that flow logs deliver to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from cenflow.store.driver import DriverStatement
from cenflow.store.tables import sls_logstores, sls_projects

DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Project:
    name: str
    region_id: str
    created_at: datetime


@dataclass(frozen=True)
class Logstore:
    project: str
    name: str
    retention_days: int
    created_at: datetime


def get_project(tx: Connection, name: str) -> Project | None:
    row = tx.execute(select(sls_projects).where(sls_projects.c.project_name == name)).first()
    return Project(row.project_name, row.region_id, row.created_at) if row else None


# Every flow-log lifecycle call checks its logstore: on the driver (see DriverStatement).
_LOGSTORE = DriverStatement(
    "SELECT project_name, logstore_name, retention_days, created_at FROM sls_logstores"
    " WHERE project_name = ? AND logstore_name = ?",
    columns=(
        sls_logstores.c.project_name,
        sls_logstores.c.logstore_name,
        sls_logstores.c.retention_days,
        sls_logstores.c.created_at,
    ),
)


def get_logstore(tx: Connection, project: str, name: str) -> Logstore | None:
    row = _LOGSTORE.first(tx, project, name)
    return Logstore(*row) if row else None


def create_project(tx: Connection, name: str, account_id: str, region_id: str, now: datetime) -> None:
    tx.execute(
        insert(sls_projects).values(
            project_name=name, account_id=account_id, region_id=region_id, description="", created_at=now
        )
    )


def create_logstore(tx: Connection, project: str, name: str, now: datetime, retention_days: int) -> None:
    tx.execute(
        insert(sls_logstores).values(
            project_name=project, logstore_name=name, retention_days=retention_days, created_at=now
        )
    )


def list_projects(tx: Connection) -> list[Project]:
    rows = tx.execute(select(sls_projects).order_by(sls_projects.c.project_name))
    return [Project(r.project_name, r.region_id, r.created_at) for r in rows]


def list_logstores(tx: Connection, project: str | None = None) -> list[Logstore]:
    query = select(sls_logstores).order_by(sls_logstores.c.project_name, sls_logstores.c.logstore_name)
    if project is not None:
        query = query.where(sls_logstores.c.project_name == project)
    return [Logstore(r.project_name, r.logstore_name, r.retention_days, r.created_at) for r in tx.execute(query)]


def delete_logstore(tx: Connection, project: str, name: str) -> bool:
    result = tx.execute(
        delete(sls_logstores).where(sls_logstores.c.project_name == project, sls_logstores.c.logstore_name == name)
    )
    return result.rowcount > 0


def delete_project(tx: Connection, name: str) -> bool:
    tx.execute(delete(sls_logstores).where(sls_logstores.c.project_name == name))
    return tx.execute(delete(sls_projects).where(sls_projects.c.project_name == name)).rowcount > 0


def set_retention(tx: Connection, project: str, logstore: str, days: int) -> bool:
    result = tx.execute(
        update(sls_logstores)
        .where(sls_logstores.c.project_name == project, sls_logstores.c.logstore_name == logstore)
        .values(retention_days=days)
    )
    return result.rowcount > 0
