"""``cenflow``: serve the Cbn API and collectors, and administer local state."""

from __future__ import annotations

from pathlib import Path

import click

from cenflow import __version__
from cenflow.cli.options import collector_options, data_options, logging_options
from cenflow.config import Settings
from cenflow.observability import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="cenflow")
def cli() -> None:
    """cenflow: self-hosted Alibaba Cloud CEN flow logs.

    Serves Alibaba Cloud's Cbn 2017-09-12 RPC API (so the official SDKs and tools built on them
    work against it unmodified), collects NetFlow/IPFIX for Active flow logs and stores the
    records for query.  Every option can also be set with the environment variable shown in
    its help.
    """


@cli.command()
@click.option(
    "--host",
    envvar="CENFLOW_HOST",
    show_envvar=True,
    default="127.0.0.1",
    show_default=True,
    help="Address the API listens on.",
)
@click.option(
    "--port",
    envvar="CENFLOW_PORT",
    show_envvar=True,
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="TCP port of the API (0 picks a free port).",
)
@data_options
@click.option(
    "--account-id",
    envvar="CENFLOW_ACCOUNT_ID",
    show_envvar=True,
    default=None,
    help="16-digit account id of this server. Default: generated on first start and kept in DATA_DIR/account-id.",
)
@click.option(
    "--root-access-key-id",
    envvar="CENFLOW_ROOT_ACCESS_KEY_ID",
    show_envvar=True,
    default=None,
    help="AccessKey id of the root identity; installed (idempotently) at every start.",
)
@click.option(
    "--root-access-key-secret",
    envvar="CENFLOW_ROOT_ACCESS_KEY_SECRET",
    show_envvar=True,
    default=None,
    help="Its secret. Prefer the environment variable: arguments are visible "
    "in the process list. Without a root key, one is generated on first start and written "
    "to DATA_DIR/credentials (mode 0600).",
)
@click.option(
    "--master-key-file",
    envvar="CENFLOW_MASTER_KEY_FILE",
    show_envvar=True,
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Key that encrypts AccessKey secrets at rest. Default: DATA_DIR/master.key, "
    "created with mode 0600 on first start.",
)
@click.option(
    "--signature-window",
    envvar="CENFLOW_SIGNATURE_WINDOW",
    show_envvar=True,
    type=click.IntRange(1, 24 * 60),
    default=15,
    show_default=True,
    help="Minutes a signed request's timestamp may differ from the server clock.",
)
@click.option(
    "--idempotency-ttl-hours",
    envvar="CENFLOW_IDEMPOTENCY_TTL_HOURS",
    show_envvar=True,
    type=click.IntRange(1),
    default=24,
    show_default=True,
    help="Hours a ClientToken is remembered.",
)
@click.option(
    "--region-catalogue",
    envvar="CENFLOW_REGION_CATALOGUE",
    show_envvar=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="JSON file of regions (see docs/configuration.md). Default: Alibaba Cloud's public regions.",
)
@click.option(
    "--transition-delay",
    envvar="CENFLOW_TRANSITION_DELAY",
    show_envvar=True,
    type=click.FloatRange(0, 3600),
    default=1.0,
    show_default=True,
    help="Seconds an asynchronous change (Creating, Modifying, Deleting, ...) takes before a "
    "worker completes it. 0 completes it as soon as a worker sees it.",
)
@click.option(
    "--flowlog-quota",
    envvar="CENFLOW_FLOWLOG_QUOTA",
    show_envvar=True,
    type=click.IntRange(0),
    default=1000,
    show_default=True,
    help="Flow logs an account may have; CreateFlowlog beyond it fails with QuotaExceeded.FlowlogCount.",
)
@click.option(
    "--default-retention-days",
    envvar="CENFLOW_DEFAULT_RETENTION_DAYS",
    show_envvar=True,
    type=click.IntRange(1, 3650),
    default=30,
    show_default=True,
    help="Retention of logstores created automatically by CreateFlowlog.",
)
@click.option(
    "--workers/--no-workers",
    envvar="CENFLOW_WORKERS",
    show_envvar=True,
    default=True,
    show_default=True,
    help="Run the task workers in this process. Disable when separate `cenflow worker` processes share the database.",
)
@collector_options
@click.option(
    "--collector/--no-collector",
    "run_collector",
    envvar="CENFLOW_COLLECTOR",
    show_envvar=True,
    default=True,
    show_default=True,
    help="Run a NetFlow/IPFIX collector in this process. Disable when `cenflow collector` processes do it.",
)
@logging_options
def serve(
    host: str,
    port: int,
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
    root_access_key_id: str | None,
    root_access_key_secret: str | None,
    master_key_file: Path | None,
    signature_window: int,
    idempotency_ttl_hours: int,
    region_catalogue: Path | None,
    transition_delay: float,
    flowlog_quota: int,
    default_retention_days: int,
    workers: bool,
    flow_port: int,
    flow_lateness: float,
    spool: bool,
    collector_id: str,
    heap_retain: int,
    run_collector: bool,
    log_level: str,
    log_format: str,
) -> None:
    """Start the API server (and, in the same process, the workers) on embedded defaults.

    State lives in DATA_DIR (SQLite) unless --database-url points to PostgreSQL.  GET /healthz
    answers 200 once calls are accepted; GET /metrics serves Prometheus metrics.  SIGINT or
    SIGTERM stops the server gracefully: in-flight calls finish first.
    """
    import uvicorn

    from cenflow.app import build_runtime, create_app
    from cenflow.collector.heap import retain_freed_memory

    configure_logging(log_level, log_format)
    if run_collector:
        retain_freed_memory(heap_retain << 20)
    settings = Settings(
        data_dir=data_dir,
        host=host,
        port=port,
        database_url=database_url,
        account_id=account_id,
        root_access_key_id=root_access_key_id,
        root_access_key_secret=root_access_key_secret,
        master_key_file=master_key_file,
        signature_window_minutes=signature_window,
        idempotency_ttl_hours=idempotency_ttl_hours,
        region_catalogue=region_catalogue,
        transition_delay=transition_delay,
        flowlog_quota=flowlog_quota,
        default_retention_days=default_retention_days,
        workers=workers,
        flow_port=flow_port if run_collector else None,
        flow_lateness=flow_lateness,
        spool=spool,
        collector_id=collector_id,
        log_level=log_level,
        log_format=log_format,
    )
    try:
        runtime = build_runtime(settings)
    except (ValueError, PermissionError) as exc:
        raise click.ClickException(str(exc)) from exc
    app = create_app(runtime)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        server_header=False,
    )


def _register() -> None:
    from cenflow.cli.admin import db_group, worker_command
    from cenflow.cli.dataplane import collector_command, replay_command
    from cenflow.cli.iam import iam_group
    from cenflow.cli.logs import logs
    from cenflow.cli.sls import sls_group
    from cenflow.cli.topology import topology_group

    for command in (sls_group, db_group, worker_command, collector_command, replay_command, logs, topology_group):
        cli.add_command(command)
    cli.add_command(iam_group)


_register()


def main() -> None:
    cli(auto_envvar_prefix=None)


if __name__ == "__main__":
    main()
