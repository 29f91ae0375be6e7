"""What the ``cenflow iam`` commands share: options, the opened state, output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Connection

from cenflow.bootstrap import ensure_account_id
from cenflow.cli.options import data_options
from cenflow.cli.state import open_database
from cenflow.config import Settings
from cenflow.errors import ApiError
from cenflow.iam.keys import KeyStore, PrincipalLookup
from cenflow.iam.secrets import SecretBox
from cenflow.store.database import Database

F = TypeVar("F", bound=Callable[..., Any])
PRINCIPAL_KINDS = {"user": "User", "group": "Group", "role": "Role"}


def account_options(func: F) -> F:
    """``--data-dir``, ``--database-url`` and ``--account-id``: whose state to change."""
    func = click.option(
        "--account-id",
        envvar="CENFLOW_ACCOUNT_ID",
        show_envvar=True,
        default=None,
        help="The server's account id. Default: DATA_DIR/account-id (created on first use, as `serve` does).",
    )(func)
    return data_options(func)


def master_key_option(func: F) -> F:
    return click.option(
        "--master-key-file",
        envvar="CENFLOW_MASTER_KEY_FILE",
        show_envvar=True,
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The key AccessKey secrets are sealed with; must be the server's. Default: DATA_DIR/master.key.",
    )(func)


def format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json (one object) for scripts.",
    )(func)


class State:
    def __init__(self, data_dir: Path, database_url: str | None, account_id: str | None) -> None:
        self.settings = Settings(data_dir=data_dir, database_url=database_url, account_id=account_id)
        self.database: Database = open_database(data_dir, database_url)
        self.account_id = ensure_account_id(self.settings)

    def key_store(self, master_key_file: Path | None) -> KeyStore:
        path = master_key_file or self.settings.resolved_master_key_file
        return KeyStore(self.database, SecretBox.from_file(path), PrincipalLookup(self.account_id))

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction whose RAM errors become a one-line CLI error (exit status 1)."""
        try:
            with self.database.write() as tx:
                yield tx
        except ApiError as error:
            raise click.ClickException(f"{error.code}: {error.message}") from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.database.read() as tx:
                yield tx
        except ApiError as error:
            raise click.ClickException(f"{error.code}: {error.message}") from None


def now() -> datetime:
    return datetime.now(UTC)


def emit(fmt: str, value: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(value, ensure_ascii=False) if fmt == "json" else text)
