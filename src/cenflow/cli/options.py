"""Options shared by several subcommands, each also read from a ``CENFLOW_*`` variable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

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
