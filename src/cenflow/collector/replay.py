"""Feeding the export datagrams of a packet capture to a collector, as if received.

Offline (default): the datagrams go straight into a collector of their own (writer id
``replay``), with their original exporter addresses and with the capture's timestamps as the
clock, so windows close in capture time and the result does not depend on how fast the file is
read.  Re-running the same replay replaces its windows instead of doubling them.  With
``send_to``, the payloads are sent over UDP to a running collector instead (the exporter is then
this host).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cenflow.collector.service import Collector, CollectorSettings
from cenflow.flow.decoder import Datagram
from cenflow.flow.pcap import read_udp
from cenflow.store.database import Database

REPLAY_WRITER = "replay"


@dataclass(frozen=True)
class ReplayReport:
    datagrams: int
    windows_written: int


def replay_offline(
    path: Path,
    database: Database,
    data_dir: Path,
    *,
    lateness: float = 30.0,
    port: int | None = None,
    progress: Callable[[int], None] = lambda _n: None,
) -> ReplayReport:
    settings = CollectorSettings(
        data_dir=data_dir, collector_id=REPLAY_WRITER, lateness=lateness, spool=False, background_writes=False
    )
    collector = Collector(settings, database)
    collector.refresh()
    datagrams = 0
    batch: list[Datagram] = []
    last_time = 0.0
    for packet in read_udp(path):
        if port is not None and packet.dst_port != port:
            continue
        if batch and (len(batch) >= settings.batch_size or packet.timestamp - last_time > 1.0):
            collector.process_offline(batch, last_time)
            collector.tick(last_time)
            batch = []
        batch.append(Datagram(packet.payload, packet.src, packet.src_port))
        last_time = packet.timestamp
        datagrams += 1
        if datagrams % 10_000 == 0:
            progress(datagrams)
    if batch:
        collector.process_offline(batch, last_time)
    collector.drain()
    progress(datagrams)
    return ReplayReport(datagrams, collector.flusher.written)


def replay_send(path: Path, host: str, port: int, *, rate: float | None = None, only_port: int | None = None) -> int:
    """Send the capture's export payloads to ``host:port``; ``rate`` datagrams/s, or as fast as possible."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sent = 0
    started = time.monotonic()
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        for packet in read_udp(path):
            if only_port is not None and packet.dst_port != only_port:
                continue
            sock.sendto(packet.payload, (host, port))
            sent += 1
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)  # pacing the sender, not synchronisation
    return sent
