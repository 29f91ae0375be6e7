"""``cenflow topology``: set up CEN resources and binding tags from one declarative file."""

from __future__ import annotations

import configparser
import json
import os
from pathlib import Path

import click
import yaml

from cenflow.client import RpcClient, RpcError
from cenflow.topology.apply import Applier
from cenflow.topology.spec import TopologyError, parse


@click.group("topology")
def topology_group() -> None:
    """Describe CENs, transit routers, attachments, flow logs and exporter bindings in a file."""


def client_from(data_dir: Path, endpoint: str | None, key_id: str | None, secret: str | None) -> RpcClient:
    """Credentials from the options, else the root key cenflow generated into DATA_DIR/credentials."""
    if not (key_id and secret):
        key_id = key_id or os.environ.get("CENFLOW_ROOT_ACCESS_KEY_ID")
        secret = secret or os.environ.get("CENFLOW_ROOT_ACCESS_KEY_SECRET")
    credentials = data_dir / "credentials"
    if not (key_id and secret) and credentials.exists():
        parser = configparser.ConfigParser()
        parser.read(credentials)
        section = parser["default"]
        key_id, secret = section.get("access_key_id"), section.get("access_key_secret")
        endpoint = endpoint or section.get("endpoint")
    if not (key_id and secret):
        raise click.UsageError("no credentials: pass --access-key-id/--access-key-secret or run beside DATA_DIR")
    return RpcClient(endpoint or "127.0.0.1:8080", key_id, secret)


@topology_group.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--endpoint",
    envvar="CENFLOW_ENDPOINT",
    show_envvar=True,
    default=None,
    help="host:port of the cenflow API (default: from DATA_DIR/credentials, else 127.0.0.1:8080).",
)
@click.option("--access-key-id", envvar="ALIBABA_CLOUD_ACCESS_KEY_ID", show_envvar=True, default=None)
@click.option("--access-key-secret", envvar="ALIBABA_CLOUD_ACCESS_KEY_SECRET", show_envvar=True, default=None)
@click.option(
    "--data-dir",
    envvar="CENFLOW_DATA_DIR",
    show_envvar=True,
    type=click.Path(path_type=Path),
    default=Path("./var"),
    show_default=True,
    help="Where to find generated root credentials.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=120.0,
    show_default=True,
    help="Seconds to wait for each resource to settle.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the ids of every resource as JSON.")
def apply_command(
    file: Path,
    endpoint: str | None,
    access_key_id: str | None,
    access_key_secret: str | None,
    data_dir: Path,
    timeout: float,
    as_json: bool,
) -> None:
    """Create what FILE describes and is missing, and set its cenflow:* binding tags.

    Idempotent: run it again after editing the file.  Resources the file does not mention are
    left alone.  See docs/topology.md for the format and the binding rules.
    """
    try:
        cens = parse(yaml.safe_load(file.read_text()))
    except (yaml.YAMLError, TopologyError, ValueError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    client = client_from(data_dir, endpoint, access_key_id, access_key_secret)
    applier = Applier(client, timeout=timeout, progress=lambda m: click.echo(m, err=True))
    try:
        report = applier.apply(cens)
    except (RpcError, TimeoutError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.ids, indent=2))
    else:
        for path, resource_id in report.ids.items():
            click.echo(f"{path:<50} {resource_id}")
        click.echo(f"{len(report.created)} created, {len(report.existing)} already present", err=True)
