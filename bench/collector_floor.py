"""The floor peer of ``bench/collector.py``: the least work a collector that writes CEN records does.

It is cenflow's own fast parts with everything around them left out: the receiver
(``recvmmsg`` in C), the decoder (``decode_run`` in C, templates in memory), the addresses as
text (C), and the log store's Parquet writer with the window files' settings.  Each flow record
becomes the two CEN records the benchmark's topology gives it (``in`` at the VPC attachment,
``out`` at the VBR attachment), written as they come, 262,144 rows to a file.

Left out: the spool (no datagram is kept before decoding, so a crash loses whatever was
received), binding by exporter and interface (the two attachments are constants), capture
windows and their aggregation (a record is written as it arrives; ``start``/``end`` are its
60 s window's bounds), NODATA/SKIPDATA records, fsync, late data, checkpoints and the log
store's commit protocol.  What it measures is a generous lower bound for cenflow's CPU per record
with the same parts on this machine: ``floor/nfcapd`` bounds what cenflow's design (Python
orchestrating C parts, Parquet output) can reach against nfcapd.

``stop_after`` measures the stages: ``decode`` (receive and decode only), ``records`` (the record
columns built, then dropped), ``write`` (everything, the default).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

# Imported before the receiver reports ready, as `cenflow collector` has its modules loaded.
from cenflow.collector.receiver import UdpReceiver
from cenflow.collector.records import address_texts
from cenflow.flow.decoder import FlowDecoder
from cenflow.logstore.constants import constant_dictionary
from cenflow.logstore.parquet_io import write_table

FILE_ROWS = 262_144
WINDOW_SECONDS = 60
ACCOUNT_ID = "1357924680135792"
CEN_ID = "cen-floor"
TRANSIT_ROUTER_ID = "tr-floor"
REGION = "cn-hangzhou"
ATTACHMENTS = {"in": "tr-attach-floorvpc", "out": "tr-attach-floorvbr"}


def _records(flows: Any) -> list[pa.Table]:
    """The two CEN record tables (``in`` and ``out``) of one decoded batch; columns are shared."""
    n = len(flows)
    start = (flows.start_ms // 1000 // WINDOW_SECONDS * WINDOW_SECONDS).astype(np.int64)
    common = {
        "account-id": constant_dictionary(ACCOUNT_ID, n),
        "cen-id": constant_dictionary(CEN_ID, n),
        "src-region-id": constant_dictionary(REGION, n),
        "srcaddr": address_texts(flows.src_addr),
        "srcport": pa.array(flows.src_port.astype(np.int32)),
        "dst-region-id": constant_dictionary(REGION, n),
        "dstaddr": address_texts(flows.dst_addr),
        "dstport": pa.array(flows.dst_port.astype(np.int32)),
        "protocol": pa.array(flows.protocol.astype(np.int32)),
        "packets": pa.array(flows.packets.astype(np.int64)),
        "bytes": pa.array(flows.bytes.astype(np.int64)),
        "start": pa.array(start),
        "end": pa.array(start + WINDOW_SECONDS),
        "tr-id": constant_dictionary(TRANSIT_ROUTER_ID, n),
        "tcp-flags": pa.array(flows.tcp_flags.astype(np.int32)),
        "log-status": constant_dictionary("OK", n),
        "type": pa.DictionaryArray.from_arrays(
            pa.array((flows.ip_version == 6).astype(np.int32)), pa.array(["IPv4", "IPv6"])
        ),
        "flow-log-id": constant_dictionary("flowlog-floor", n),
        "window-start": pa.array(start),
    }
    tables = []
    for direction in ("in", "out"):
        attachment = constant_dictionary(ATTACHMENTS[direction], n)
        tables.append(pa.table({**common, "attachment-id": attachment, "direction": constant_dictionary(direction, n)}))
    return tables


class ParquetSink:
    def __init__(self, directory: Path, *, write: bool = True) -> None:
        self.directory = directory
        self.write = write
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.files = 0
        self.rows = 0

    def add(self, tables: list[pa.Table]) -> None:
        self.pending += tables
        self.pending_rows += sum(t.num_rows for t in tables)
        if self.pending_rows >= FILE_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        table = pa.concat_tables(self.pending).combine_chunks()
        if self.write:
            with (self.directory / f"floor.{self.files}.parquet").open("wb") as handle:
                write_table(handle, table)
        self.files += 1
        self.rows += table.num_rows
        self.pending, self.pending_rows = [], 0


def run(host: str, port: int, directory: Path, ready: Any, stop_after: str = "write") -> dict[str, Any]:
    """Receive until SIGTERM, then drain what the socket holds; returns the counts."""
    directory.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    receiver = UdpReceiver(host, port)
    decoder = FlowDecoder()
    sink = ParquetSink(directory, write=stop_after == "write")
    ready(receiver.buffer_bytes)
    packets = octets = 0
    while True:
        received = receiver.receive(512, 0.05)
        if not received:
            if stop.is_set():
                break
            continue
        flows = decoder.decode(received, now=received[-1][3], options=False).flows
        if len(flows):
            if stop_after != "decode":
                sink.add(_records(flows))
            packets += int(flows.packets.sum())
            octets += int(flows.bytes.sum())
    sink.flush()
    counters = decoder.counters.snapshot()
    return {
        "datagrams": counters["datagrams"],
        "records": counters["flow_records"],
        "rows_written": sink.rows,
        "files": sink.files,
        "packets": packets,
        "bytes": octets,
    }
