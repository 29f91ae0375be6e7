"""Options shared by several subcommands, each also read from a ``CENFLOW_*`` variable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cenflow.collector.heap import DEFAULT_RETAIN_MIB

F = TypeVar("F", bound=Callable[..., Any])


def data_options(func: F) -> F:
    """``--data-dir`` and ``--database-url``: where the state lives."""
    func = click.option(
        "--database-url",
        envvar="CENFLOW_DATABASE_URL",
        show_envvar=True,
        default=None,
        help="SQLAlchemy URL of the state database, e.g. postgresql+psycopg://user@host/cenflow. "
        "Default: SQLite at DATA_DIR/cenflow.db.",
    )(func)
    func = click.option(
        "--data-dir",
        envvar="CENFLOW_DATA_DIR",
        show_envvar=True,
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("./var"),
        show_default=True,
        help="Directory for the database, master key, generated credentials and flow-log files.",
    )(func)
    return func


def logging_options(func: F) -> F:
    func = click.option(
        "--log-format",
        envvar="CENFLOW_LOG_FORMAT",
        show_envvar=True,
        type=click.Choice(["json", "text"]),
        default="json",
        show_default=True,
        help="json: one JSON object per line (for log shippers); text: for people.",
    )(func)
    func = click.option(
        "--log-level",
        envvar="CENFLOW_LOG_LEVEL",
        show_envvar=True,
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
        default="INFO",
        show_default=True,
        help="Lowest level of log records written to standard error.",
    )(func)
    return func


def collector_options(func: F) -> F:
    """The data plane's options, shared by ``serve`` and ``collector``."""
    options = [
        click.option(
            "--flow-port",
            envvar="CENFLOW_FLOW_PORT",
            show_envvar=True,
            type=click.IntRange(0, 65535),
            default=2055,
            show_default=True,
            help="UDP port receiving NetFlow v5/v9 and IPFIX (on the --host address; 0 picks a free port).",
        ),
        click.option(
            "--flow-lateness",
            envvar="CENFLOW_FLOW_LATENESS",
            show_envvar=True,
            type=click.FloatRange(0, 3600),
            default=30.0,
            show_default=True,
            help="Seconds a capture window waits past its end for late flows before it is written.",
        ),
        click.option(
            "--spool/--no-spool",
            envvar="CENFLOW_SPOOL",
            show_envvar=True,
            default=True,
            show_default=True,
            help="Write received datagrams to DATA_DIR/collector/<id>/spool before decoding, so a crash "
            "loses at most the batch being read (see docs/dataplane.md).",
        ),
        click.option(
            "--collector-id",
            envvar="CENFLOW_COLLECTOR_ID",
            show_envvar=True,
            default="collector-1",
            show_default=True,
            help="Stable name of this collector: its state directory and the writer id of its records. "
            "Give each collector process its own.",
        ),
        click.option(
            "--heap-retain",
            envvar="CENFLOW_HEAP_RETAIN",
            show_envvar=True,
            type=click.IntRange(0, 2047),
            default=DEFAULT_RETAIN_MIB,
            show_default=True,
            metavar="MIB",
            help="MiB of freed memory a collecting process keeps for reuse instead of returning it to "
            "the kernel at once (glibc malloc settings: 10-15 % less CPU per record; the process may stay "
            "that much larger after a burst). 0 keeps the C library's defaults.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func
