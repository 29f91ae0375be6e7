"""``cenflow db`` and ``cenflow worker``: schema management and stand-alone task workers."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from cenflow.cli.options import data_options, logging_options
from cenflow.cli.state import open_database
from cenflow.observability import configure_logging
from cenflow.store.migrate import current_revision, head_revision


@click.group("db")
def db_group() -> None:
    """Manage the state database schema (migrations run automatically at every start)."""


@db_group.command("upgrade")
@data_options
def db_upgrade(data_dir: Path, database_url: str | None) -> None:
    """Bring the database to the current schema."""
    database = open_database(data_dir, database_url)
    click.echo(f"schema at revision {current_revision(database)}")


@db_group.command("status")
@data_options
def db_status(data_dir: Path, database_url: str | None) -> None:
    """Show the database's schema revision and the newest one this cenflow knows."""
    from cenflow.config import Settings
    from cenflow.store.database import Database

    database = Database(Settings(data_dir=data_dir, database_url=database_url).resolved_database_url)
    click.echo(f"current: {current_revision(database)}\nhead:    {head_revision()}")


@click.command("worker")
@data_options
@logging_options
def worker_command(data_dir: Path, database_url: str | None, log_level: str, log_format: str) -> None:
    """Run task workers only (no API), sharing the queue with other processes.

    Use with `cenflow serve --no-workers` when API and workers run as separate processes or on
    separate machines against one PostgreSQL database.  SIGINT/SIGTERM stop it after the task
    in hand.
    """
    from cenflow.jobs.queue import TaskQueue
    from cenflow.jobs.worker import Worker

    configure_logging(log_level, log_format)
    worker = Worker(TaskQueue(open_database(data_dir, database_url, long_running=True)))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await worker.serve(stop)

    asyncio.run(run())
