"""``cenflow collector`` and ``cenflow replay``: the data plane's commands."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from cenflow.cli.options import collector_options, data_options, logging_options
from cenflow.cli.state import open_database
from cenflow.observability import configure_logging


@click.command("collector")
@click.option(
    "--host",
    envvar="CENFLOW_HOST",
    show_envvar=True,
    default="127.0.0.1",
    show_default=True,
    help="Address the collector listens on.",
)
@collector_options
@click.option(
    "--reuse-port",
    is_flag=True,
    default=False,
    help="Set SO_REUSEPORT so several collector processes share the port (the kernel keeps "
    "each exporter on one process). Give each its own --collector-id.",
)
@data_options
@logging_options
def collector_command(
    host: str,
    flow_port: int,
    flow_lateness: float,
    spool: bool,
    collector_id: str,
    heap_retain: int,
    reuse_port: bool,
    data_dir: Path,
    database_url: str | None,
    log_level: str,
    log_format: str,
) -> None:
    """Run a NetFlow v5/v9 / IPFIX collector as its own process.

    It reads the Active flow logs and the tagged topology from the same data dir or database as
    `cenflow serve`, and writes records into the flow logs' logstores.  SIGINT/SIGTERM stop it
    gracefully: every open capture window is written first.
    """
    from cenflow.collector.heap import retain_freed_memory
    from cenflow.collector.receiver import UdpReceiver
    from cenflow.collector.runner import CollectorThread
    from cenflow.collector.service import Collector, CollectorSettings

    configure_logging(log_level, log_format)
    retain_freed_memory(heap_retain << 20)
    database = open_database(data_dir, database_url, long_running=True)
    settings = CollectorSettings(data_dir=data_dir, collector_id=collector_id, lateness=flow_lateness, spool=spool)
    thread = CollectorThread(Collector(settings, database), UdpReceiver(host, flow_port, reuse_port=reuse_port))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    thread.start()
    try:
        asyncio.run(run())
    finally:
        thread.stop()


@click.command("replay")
@click.argument("capture", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--port",
    "only_port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Only datagrams sent to this UDP port in the capture (default: every UDP datagram).",
)
@click.option(
    "--send",
    "send_to",
    metavar="HOST:PORT",
    default=None,
    help="Send the payloads over UDP to a running collector instead of processing them here.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=1),
    default=None,
    help="With --send: datagrams per second (default: as fast as possible).",
)
@click.option(
    "--lateness",
    type=click.FloatRange(0),
    default=30.0,
    show_default=True,
    help="Seconds of capture time a window waits for late flows.",
)
@data_options
@logging_options
def replay_command(
    capture: Path,
    only_port: int | None,
    send_to: str | None,
    rate: float | None,
    lateness: float,
    data_dir: Path,
    database_url: str | None,
    log_level: str,
    log_format: str,
) -> None:
    """Feed the NetFlow/IPFIX datagrams found in CAPTURE (pcap or pcapng) as if received.

    By default they are processed here, against DATA_DIR's flow logs and topology, with their
    original exporter addresses and the capture's own clock; records go to the logstores of the
    Active flow logs.  Replaying a file again replaces its records instead of adding them twice.
    """
    from cenflow.collector.replay import replay_offline, replay_send

    configure_logging(log_level, log_format)
    if send_to is not None:
        host, _, port = send_to.rpartition(":")
        if not host or not port.isdigit():
            raise click.BadParameter("expected HOST:PORT", param_hint="--send")
        sent = replay_send(capture, host.strip("[]"), int(port), rate=rate, only_port=only_port)
        click.echo(f"sent {sent} datagrams to {send_to}")
        return
    database = open_database(data_dir, database_url)

    def progress(count: int) -> None:
        click.echo(f"\r{count} datagrams", nl=False, err=True)

    report = replay_offline(capture, database, data_dir, lateness=lateness, port=only_port, progress=progress)
    click.echo("", err=True)
    click.echo(f"replayed {report.datagrams} datagrams, wrote {report.windows_written} windows")
