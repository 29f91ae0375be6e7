"""``cenflow sls``: the SLS projects and logstores flow logs deliver to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cenflow.cli.options import data_options
from cenflow.cli.state import open_database
from cenflow.store import flowlogs as flowlog_repo
from cenflow.store import sls


@click.group("sls")
def sls_group() -> None:
    """List and remove the SLS projects and logstores of flow logs.

    CreateFlowlog creates its project and logstore when they do not exist.  Removing one stops
    delivery: Active/Deactive/Delete of the flow logs that use it then fail with
    ProjectOrLogstoreNotExist, as on Alibaba Cloud.
    """


@sls_group.command("list")
@data_options
@click.option("--project", default=None, help="Only this project's logstores.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_command(data_dir: Path, database_url: str | None, project: str | None, fmt: str) -> None:
    """List projects and their logstores, with retention and the flow logs using each."""
    database = open_database(data_dir, database_url)
    with database.read() as tx:
        projects = {p.name: p for p in sls.list_projects(tx)}
        stores = sls.list_logstores(tx, project)
        users = {
            (s.project, s.name): [f.flow_log_id for f in flowlog_repo.flowlogs_using_logstore(tx, s.project, s.name)]
            for s in stores
        }
    rows: list[dict[str, Any]] = [
        {
            "project": s.project,
            "region": projects[s.project].region_id if s.project in projects else "",
            "logstore": s.name,
            "retention_days": s.retention_days,
            "flowlogs": users[(s.project, s.name)],
        }
        for s in stores
    ]
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row))
        return
    click.echo(f"{'PROJECT':<40} {'REGION':<16} {'LOGSTORE':<30} {'RETENTION':>9}  FLOWLOGS")
    for row in rows:
        click.echo(
            f"{row['project']:<40} {row['region']:<16} {row['logstore']:<30} {row['retention_days']:>8}d  "
            f"{','.join(row['flowlogs']) or '-'}"
        )


@sls_group.command("remove-logstore")
@data_options
@click.argument("project")
@click.argument("logstore")
@click.option(
    "--delete-data/--keep-data", default=True, show_default=True, help="Also delete the logstore's stored records."
)
def remove_logstore(data_dir: Path, database_url: str | None, project: str, logstore: str, delete_data: bool) -> None:
    """Remove LOGSTORE of PROJECT (its flow logs stay, but can no longer deliver)."""
    database = open_database(data_dir, database_url)
    with database.write() as tx:
        if not sls.delete_logstore(tx, project, logstore):
            raise click.ClickException(f"no logstore {project}/{logstore}")
    if delete_data:
        _drop_data(data_dir, project, logstore)
    click.echo(f"removed {project}/{logstore}")


@sls_group.command("remove-project")
@data_options
@click.argument("project")
@click.option(
    "--delete-data/--keep-data", default=True, show_default=True, help="Also delete the project's stored records."
)
def remove_project(data_dir: Path, database_url: str | None, project: str, delete_data: bool) -> None:
    """Remove PROJECT and all its logstores."""
    database = open_database(data_dir, database_url)
    with database.write() as tx:
        if not sls.delete_project(tx, project):
            raise click.ClickException(f"no project {project}")
    if delete_data:
        _drop_data(data_dir, project, None)
    click.echo(f"removed {project}")


@sls_group.command("set-retention")
@data_options
@click.argument("project")
@click.argument("logstore")
@click.argument("days", type=click.IntRange(1, 3650))
def set_retention(data_dir: Path, database_url: str | None, project: str, logstore: str, days: int) -> None:
    """Keep the records of PROJECT/LOGSTORE for DAYS days."""
    database = open_database(data_dir, database_url)
    with database.write() as tx:
        if not sls.set_retention(tx, project, logstore, days):
            raise click.ClickException(f"no logstore {project}/{logstore}")
    click.echo(f"{project}/{logstore}: retention {days} days")


def _drop_data(data_dir: Path, project: str, logstore: str | None) -> None:
    from cenflow.logstore import LogStore

    store = LogStore.in_data_dir(data_dir)
    if logstore is None:
        store.drop_project(project)
    else:
        store.drop_logstore(project, logstore)
