"""Collector throughput over loopback: cenflow's collector against nfcapd, netflume and a floor.

What it does:

1. **Traffic.**  Writes a headers-only pcap of ``--flows`` flows (IPv4 90 % / IPv6 10 %; TCP 70 %,
   UDP 25 %, ICMP 5 %; 1-50 packets each, over ``--span`` seconds; sources in 10.0.0.0/8 and
   fd00:a::/32, destinations in 192.168.0.0/16 and fd00:b::/32) and has softflowd export it
   (``softflowd -r … -v 9|10 -6 -a -A milli``) to a UDP socket of this process that keeps the
   datagrams: softflowd's own shape, four data templates interleaved, a few records per set.
2. **Stream.**  Repeats each export ``--repeat`` times as one exporter's continuous stream:
   headers moved on (sequence numbers, sysUptime, export time), every flow time shifted by one
   span per repetition, and the second byte of each source address XOR'd with the repetition
   number, so every repetition brings new 5-tuples (no aggregation gain: the costly case).
   The stream ends in the recent past, so capture windows close as it advances.
3. **Peers**, each a receiver process pinned to CPU 0, fed by the same sender process (a Python
   ``send`` loop on a connected socket, pinned to CPU 1) from 127.0.0.1:
   - ``cenflow``: ``Collector`` + ``UdpReceiver`` + ``CollectorThread`` as ``cenflow collector``
     builds them (spool on, 64 MiB receive buffer, root gets it), against a data dir set up by
     ``cenflow serve`` + ``cenflow topology apply``: one transit router tagged with exporter
     127.0.0.1, a VPC attachment (the sources) and a VBR attachment (the destinations), and an
     Active 60 s flow log on the router, so every flow is bound twice (``in`` and ``out``),
     windowed and written to the log store;
   - ``floor`` (``bench/collector_floor.py``): cenflow's C receiver and decoder, each record built
     as its two CEN records and written with the log store's Parquet settings, and nothing else
     (no spool, binding, windows, aggregation or fsync): the least work a collector that writes
     these records as Parquet does with cenflow's parts (``--floor-stop-after decode|records``
     stops it earlier, to measure the stages);
   - ``nfcapd`` (``-B 64 MiB``: it asks with ``SO_RCVBUF``, which the kernel caps at
     ``net.core.rmem_max``) writing to a temporary directory; records from its stop line;
   - ``netflume``: its ``Collector`` (UDP socket + ``Decoder``), iterating ``messages()`` and
     counting the flows (64 MiB ``rcvbuf`` asked, capped the same way).
4. **Trials.**  *max*: the stream offered as fast as the sender goes; the receiver's rate is
   records / (time from the first datagram sent until its socket queue is empty).  *lossless*:
   paced offers at falling fractions of that rate (1.0, 0.9, 0.8, …) until one is lossless:
   every datagram and record counted by the receiver, no kernel drops, and the socket queue empty
   within ``--lag`` seconds of the last datagram (it kept up, rather than its buffer hiding a
   backlog); when the offer at 1.0 is lossless already, rising ones (1.1, 1.2, …, up to what the
   sender can do) until one is not, and the last lossless offer counts.  CPU is the receiver
   process's user + system time (all threads) from ready to exit, so cenflow's includes spooling,
   binding, windows and the final log-store writes.
5. **Report**: medians over ``--rounds``; CPU-seconds per million records, records/s, ratios.

netflume, ~40x slower, gets the first ``--netflume-records`` records of the stream.  A peer whose
rate is the sender's rate is limited by the sender (reported with ``>=``).

Run: ``.venv/bin/python bench/collector.py`` (``--quick`` for a smoke run; ``--help`` for
options).  Needs softflowd and nfdump (``scripts/system-deps.sh``) and netflume
(``pip install -e '.[bench]'``); a missing peer is skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HOST = "127.0.0.1"
RECEIVER_CPU = 0
SENDER_CPU = 1
BUFFER_BYTES = 64 << 20
ROOT_KEY = ("LTAI5tBenchCollector0001", "BenchCollectorSecret0123456789ab")
PROJECT, LOGSTORE = "bench-flows", "hz-flows"
TOPOLOGY = f"""\
cens:
  - name: bench
    transit_routers:
      - region: cn-hangzhou
        name: hz
        exporter: {HOST}
        attachments:
          - type: vpc
            name: web
            vpc_id: vpc-bench
            cidr: [10.0.0.0/8, "fd00:a::/32"]
          - type: vbr
            name: dc
            vbr_id: vbr-bench
            cidr: [192.168.0.0/16, "fd00:b::/32"]
        flowlogs:
          - name: hz-all
            project: {PROJECT}
            logstore: {LOGSTORE}
            interval: 60
"""
VENV_BIN = Path(sys.executable).parent


# -- traffic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    pcap: bytes
    flows: int
    packets: int
    octets: int  # IP total length, as softflowd counts
    start: int  # unix seconds of the first packet
    span: int  # seconds from the first packet to after the last one


def generate_traffic(flows: int, span: float, start: int, seed: int = 1) -> Traffic:
    """A headers-only Ethernet pcap of ``flows`` distinct flows (see the module docstring)."""
    rng = np.random.default_rng(seed)
    ipv6 = rng.random(flows) < 0.1
    protocol = rng.choice(np.array([6, 17, 1], dtype=np.int64), size=flows, p=[0.7, 0.25, 0.05])
    count = np.minimum(1 + rng.pareto(1.5, flows).astype(np.int64), 50)
    first = rng.random(flows) * span
    gap = rng.random(flows) * 0.5
    src_ports = rng.integers(1024, 65535, flows)
    dst_ports = rng.choice(np.array([53, 80, 123, 443, 514, 3306, 8080]), size=flows)
    # Distinct 5-tuples: the flow number is spread over the source address.
    order = rng.permutation(flows)
    flow_index = np.repeat(np.arange(flows), count)
    packet_number = np.arange(len(flow_index)) - np.repeat(np.cumsum(count) - count, count)
    times = first[flow_index] + packet_number * gap[flow_index]
    by_time = np.argsort(times, kind="stable")
    sizes = rng.integers(40, 1500, len(flow_index))
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    octets = 0
    eth4 = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    eth6 = eth4[:12] + b"\x86\xdd"
    for packet in by_time.tolist():
        f = int(flow_index[packet])
        n = int(order[f])
        proto = int(protocol[f])
        number = int(packet_number[packet])
        last = number == int(count[f]) - 1
        if proto == 6:
            flags = 0x02 if number == 0 else (0x11 if last else 0x18)
            l4 = struct.pack(">HHIIBBHHH", int(src_ports[f]), int(dst_ports[f]), number, 0, 0x50, flags, 8192, 0, 0)
            length = max(int(sizes[packet]), 40)
        elif proto == 17:
            length = max(int(sizes[packet]), 28)
            l4 = struct.pack(">HHHH", int(src_ports[f]), int(dst_ports[f]), length - 20, 0)
        else:
            length = 84
            l4 = struct.pack(">BBHHH", 128 if ipv6[f] else 8, 0, 0, n & 0xFFFF, number)
        if ipv6[f]:
            src = b"\xfd\x00\x00\x0a" + bytes(8) + n.to_bytes(4, "big")
            dst = b"\xfd\x00\x00\x0b" + bytes(10) + (n % 50_000).to_bytes(2, "big")
            header = struct.pack(">IHBB", 0x60000000, length - 20, 58 if proto == 1 else proto, 64) + src + dst
            frame = eth6 + header + l4
            ip_length = length + 20  # the same payload behind a 40-byte header
        else:
            src4 = (10 << 24) | (n & 0xFFFFFF)
            dst4 = (192 << 24) | (168 << 16) | (n % 50_000 & 0xFFFF)
            header = struct.pack(">BBHHHBBHII", 0x45, 0, length, number & 0xFFFF, 0x4000, 64, proto, 0, src4, dst4)
            frame = eth4 + header + l4
            ip_length = length
        octets += ip_length
        when = start + float(times[packet])
        seconds = int(when)
        out.append(struct.pack("<IIII", seconds, int((when - seconds) * 1e6), len(frame), 14 + ip_length) + frame)
    return Traffic(b"".join(out), flows, len(flow_index), octets, start, int(np.ceil(times.max())) + 1)


@dataclass(frozen=True)
class Export:
    version: int
    payloads: list[bytes]
    records: int  # flow records softflowd says it exported
    summary: str  # softflowd's line


def softflowd_export(traffic: Traffic, version: int, workdir: Path) -> Export:
    """softflowd's export of the traffic, received on a local socket and kept."""
    pcap = workdir / "traffic.pcap"
    pcap.write_bytes(traffic.pcap)
    sock = _udp_socket(0, buffer_bytes=256 << 20)
    port = sock.getsockname()[1]
    received: list[bytes] = []
    done = threading.Event()

    def keep() -> None:
        sock.settimeout(0.2)
        while True:
            try:
                received.append(sock.recv(65535))
            except TimeoutError:
                if done.is_set():
                    return

    reader = threading.Thread(target=keep)
    reader.start()
    command = ["softflowd", "-r", str(pcap), "-n", f"{HOST}:{port}", "-v", str(version), "-6", "-a", "-d"]
    command += ["-A", "milli", "-m", str(2 * traffic.flows + 1024), "-p", str(workdir / "softflowd.pid")]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    done.set()
    reader.join()
    sock.close()
    line = next((x.strip() for x in result.stdout.splitlines() if "Flows exported" in x), "")
    records = int(line.split("(")[1].split()[0]) if line else -1
    return Export(version, received, records, line)


# -- the stream ------------------------------------------------------------------------------

# Where a value sits in the concatenated datagrams, by what a repetition does to it.
_ADD_S, _ADD_MS32, _ADD_MS64, _SEQUENCE, _XOR = range(5)


@dataclass
class Stream:
    name: str
    payload: npt.NDArray[np.uint8]  # all datagrams, back to back
    lengths: npt.NDArray[np.int64]
    records: int  # flow records
    packets: int  # sums over the flow records
    octets: int

    @property
    def datagrams(self) -> int:
        return int(self.lengths.shape[0])

    def save(self, path: Path) -> None:
        self.payload.tofile(path.with_suffix(".bin"))
        np.save(path.with_suffix(".npy"), self.lengths)


def load_payloads(path: Path, count: int | None) -> list[bytes]:
    data = path.with_suffix(".bin").read_bytes()
    lengths = np.load(path.with_suffix(".npy"))[:count]
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [data[s:e] for s, e in zip(starts, ends, strict=True)]


def _positions(export: Export) -> dict[int, list[int]]:
    """Offsets (into the concatenated payloads) of the values a repetition moves on."""
    found: dict[int, list[int]] = {k: [] for k in range(5)}
    layouts: dict[int, tuple[int, list[tuple[int, int, int]]]] = {}  # template -> (size, [(ie, off, len)])
    base = 0
    for payload in export.payloads:
        if export.version == 9:
            found[_ADD_MS32].append(base + 4)  # sysUptime
            found[_ADD_S].append(base + 8)  # unix_secs
            found[_SEQUENCE].append(base + 12)
            offset, end = 20, len(payload)
        else:
            found[_ADD_S].append(base + 4)  # export time
            found[_SEQUENCE].append(base + 8)
            offset, end = 16, struct.unpack_from(">H", payload, 2)[0]
        while offset + 4 <= end:
            set_id, length = struct.unpack_from(">HH", payload, offset)
            body, set_end = offset + 4, offset + length
            if length < 4:
                raise ValueError("bad set length in softflowd's export")
            if set_id in ((0, 2)[export.version == 10],):
                while body + 4 <= set_end:
                    template_id, count = struct.unpack_from(">HH", payload, body)
                    body += 4
                    fields, size = [], 0
                    for _ in range(count):
                        ie, width = struct.unpack_from(">HH", payload, body)
                        body += 4
                        if ie & 0x8000:
                            body += 4
                        fields.append((ie & 0x7FFF, size, width))
                        size += width
                    layouts[template_id] = (size, fields)
            elif set_id >= 256 and set_id in layouts:
                size, fields = layouts[set_id]
                record = body
                while record + size <= set_end:
                    for ie, at, width in fields:
                        where = base + record + at
                        if ie in (150, 151):
                            found[_ADD_S].append(where)
                        elif ie in (152, 153):
                            found[_ADD_MS64].append(where)
                        elif ie in (21, 22):
                            found[_ADD_MS32].append(where)
                        elif ie == 8 and width == 4:
                            found[_XOR].append(where + 1)
                        elif ie == 27 and width == 16:
                            found[_XOR].append(where + 5)
                    record += size
            offset = set_end
        base += len(payload)
    return found


def _add(buffer: npt.NDArray[np.uint8], where: npt.NDArray[np.int64], width: int, amount: int) -> None:
    """Add ``amount`` to the big-endian unsigned values at ``where`` (wrapping)."""
    if not where.size:
        return
    index = where[:, None] + np.arange(width)
    values = np.ascontiguousarray(buffer[index]).view(f">u{width}").reshape(-1).astype(np.uint64)
    values += np.uint64(amount % (1 << 64))
    if width < 8:
        values &= np.uint64((1 << (8 * width)) - 1)
    buffer[index] = values.astype(f">u{width}").view(np.uint8).reshape(-1, width)


def build_stream(export: Export, traffic: Traffic, repeat: int, end_before: int) -> Stream:
    """``repeat`` passes of the export as one exporter's stream ending before ``end_before``."""
    base = np.frombuffer(b"".join(export.payloads), dtype=np.uint8)
    lengths = np.array([len(p) for p in export.payloads], dtype=np.int64)
    positions = {k: np.array(v, dtype=np.int64) for k, v in _positions(export).items()}
    # softflowd's v9 sequence counts datagrams; its IPFIX sequence counts records, its own included.
    per_pass = len(export.payloads) if export.version == 9 else struct.unpack_from(">I", export.payloads[-1], 8)[0]
    first_shift = end_before - traffic.start - repeat * traffic.span
    out = np.empty(base.size * repeat, dtype=np.uint8)
    for rep in range(repeat):
        buffer = base.copy()
        shift = first_shift + rep * traffic.span
        _add(buffer, positions[_ADD_S], 4, shift)
        _add(buffer, positions[_ADD_MS32], 4, shift * 1000)
        _add(buffer, positions[_ADD_MS64], 8, shift * 1000)
        _add(buffer, positions[_SEQUENCE], 4, rep * per_pass)
        buffer[positions[_XOR]] ^= np.uint8(rep & 0xFF)
        out[rep * base.size : (rep + 1) * base.size] = buffer
    name = "v9" if export.version == 9 else "ipfix"
    return Stream(
        name, out, np.tile(lengths, repeat), export.records * repeat, traffic.packets * repeat, traffic.octets * repeat
    )


# -- processes -------------------------------------------------------------------------------


def _udp_socket(port: int, buffer_bytes: int = BUFFER_BYTES, force: bool = True) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    options = [getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF] if force else [socket.SO_RCVBUF]
    for option in options:
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, buffer_bytes)
            break
        except PermissionError:
            continue
    sock.bind((HOST, port))
    return sock


def free_port(kind: socket.SocketKind = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def socket_state(port: int) -> tuple[int, int] | None:
    """(bytes queued, datagrams dropped) of the UDP socket bound to HOST:port, from /proc/net/udp."""
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 13 and fields[1] == local:
            return int(fields[4].split(":")[1], 16), int(fields[12])
    return None


def cpu_seconds(pid: int) -> float:
    """User + system time of a live process, all threads (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(cpu: int) -> Callable[[], None]:
    def pin() -> None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})

    return pin


def _wait_cpu(process: subprocess.Popen[str], timeout: float) -> float:
    """Reap the process; its total CPU seconds (all threads)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            process.kill()
            deadline = time.monotonic() + 30
        time.sleep(0.01)


@dataclass
class Received:
    datagrams: int
    records: int
    cpu: float  # seconds from ready to exit
    extra: dict[str, Any] = field(default_factory=dict)


class Peer:
    name = ""
    buffer_note = ""

    def start(self, port: int, trial: int) -> subprocess.Popen[str]:
        raise NotImplementedError

    def wait_ready(self, process: subprocess.Popen[str], port: int) -> None:
        deadline = time.monotonic() + 60
        while socket_state(port) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: {process.stderr.read() if process.stderr else ''}")
            time.sleep(0.02)
        time.sleep(0.2)

    def finish(self, process: subprocess.Popen[str], trial: int, cpu_at_ready: float) -> Received:
        raise NotImplementedError


class WorkerPeer(Peer):
    """A receiver that runs as this script in a worker role and reports JSON on stdout."""

    role = ""

    def command(self, port: int, trial: int) -> list[str]:
        return [sys.executable, __file__, "--role", self.role, "--port", str(port)]

    def start(self, port: int, trial: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(port, trial),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_pin(RECEIVER_CPU),
        )

    def wait_ready(self, process: subprocess.Popen[str], port: int) -> None:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"{self.name} did not start: {line}{process.stderr.read() if process.stderr else ''}")
        self.buffer_note = json.loads(line.split(" ", 1)[1]).get("buffer", "")
        time.sleep(0.2)

    def finish(self, process: subprocess.Popen[str], trial: int, cpu_at_ready: float) -> Received:
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        output = process.stdout.read()
        cpu = _wait_cpu(process, 300)
        done = [line for line in output.splitlines() if line.startswith("DONE ")]
        if process.returncode != 0 or not done:
            raise RuntimeError(f"{self.name} failed: {output} {process.stderr.read() if process.stderr else ''}")
        report = json.loads(done[0][5:])
        return Received(report.pop("datagrams"), report.pop("records"), cpu - cpu_at_ready, report)


class CenflowPeer(WorkerPeer):
    name = "cenflow"
    role = "cenflow"

    def __init__(self, data_dir: Path, spool: bool) -> None:
        self.data_dir = data_dir
        self.spool = spool

    def command(self, port: int, trial: int) -> list[str]:
        command = [*super().command(port, trial), "--data-dir", str(self.data_dir)]
        command += ["--collector-id", f"bench-{trial}"] + ([] if self.spool else ["--no-spool"])
        return command

    def finish(self, process: subprocess.Popen[str], trial: int, cpu_at_ready: float) -> Received:
        received = super().finish(process, trial, cpu_at_ready)
        shutil.rmtree(self.data_dir / "collector" / f"bench-{trial}", ignore_errors=True)
        return received

    def stored(self, trial: int) -> tuple[int, int, int]:
        """(OK records, packets, bytes) the trial wrote to the log store; then removes them."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        rows = packets = octets = 0
        root = self.data_dir / "logstore" / PROJECT / LOGSTORE
        mine = [p for p in root.glob("dt=*/hour=*/w.*.parquet") if _writer(p) in (f"bench-{trial}", f"bench-{trial}_")]
        for path in mine:
            table = pq.read_table(path, columns=["packets", "bytes", "log-status"])
            ok = table.filter(pc.equal(table["log-status"], "OK"))
            rows += ok.num_rows
            packets += int(pc.sum(ok["packets"]).as_py() or 0)
            octets += int(pc.sum(ok["bytes"]).as_py() or 0)
            path.unlink()
        return rows, packets, octets


def _writer(path: Path) -> str:
    """The collector id of a window file (late parts keep only the id and a trailing ``_``)."""
    writer = path.name.removesuffix(".parquet").split(".", 3)[3]
    return writer.split("late")[0] if "_late" in writer else writer


class NetflumePeer(WorkerPeer):
    name = "netflume"
    role = "netflume"


class FloorPeer(WorkerPeer):
    """``bench/collector_floor.py``: cenflow's C parts and Parquet writer, nothing around them."""

    name = "floor"
    role = "floor"

    def __init__(self, workdir: Path, stop_after: str) -> None:
        self.workdir = workdir
        self.stop_after = stop_after

    def command(self, port: int, trial: int) -> list[str]:
        directory = str(self.workdir / f"floor-{trial}")
        return [*super().command(port, trial), "--data-dir", directory, "--floor-stop-after", self.stop_after]

    def finish(self, process: subprocess.Popen[str], trial: int, cpu_at_ready: float) -> Received:
        received = super().finish(process, trial, cpu_at_ready)
        shutil.rmtree(self.workdir / f"floor-{trial}", ignore_errors=True)
        return received


class NfcapdPeer(Peer):
    name = "nfcapd"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def start(self, port: int, trial: int) -> subprocess.Popen[str]:
        directory = self.workdir / f"nfcapd-{trial}"
        directory.mkdir()
        command = ["nfcapd", "-w", str(directory), "-p", str(port), "-b", HOST, "-t", "3600", "-I", "bench"]
        return subprocess.Popen(
            [*command, "-B", str(BUFFER_BYTES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_pin(RECEIVER_CPU),
        )

    def finish(self, process: subprocess.Popen[str], trial: int, cpu_at_ready: float) -> Received:
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        output = process.stdout.read()
        cpu = _wait_cpu(process, 120)
        shutil.rmtree(self.workdir / f"nfcapd-{trial}", ignore_errors=True)
        stats = next((x for x in output.splitlines() if x.startswith("Ident:")), "")
        buffer = next((x for x in output.splitlines() if "set setsockopt, SO_RCVBUF to" in x), "")
        self.buffer_note = buffer.split(" to ")[-1] if buffer else "?"
        if not stats:
            raise RuntimeError(f"nfcapd printed no statistics: {output}")
        values = {k.strip(): v.strip() for k, v in (p.split(":", 1) for p in stats.split(",") if ":" in p)}
        flows = int(values["Ident"].split("Flows:")[1]) if "Flows:" in values.get("Ident", "") else int(values["Flows"])
        return Received(-1, flows, cpu - cpu_at_ready, {"packets": int(values.get("Packets", -1))})


# -- trials ----------------------------------------------------------------------------------


@dataclass
class Trial:
    peer: str
    stream: str
    offered: float  # datagrams/s asked, 0 = as fast as possible
    sent: int
    send_seconds: float
    datagrams: int  # as the receiver counted them (-1 when it does not say)
    records: int
    expected_records: int
    drops: int
    lag: float  # seconds from the last datagram sent to an empty socket queue
    peak_queue: int  # bytes
    cpu: float
    wall: float  # first datagram sent -> socket queue empty
    extra: dict[str, Any]

    @property
    def complete(self) -> bool:
        return (
            self.drops == 0
            and self.records == self.expected_records
            and self.datagrams in (-1, self.sent)
            and self.sent > 0
        )

    @property
    def rate(self) -> float:
        return self.records / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_per_million(self) -> float:
        return self.cpu / self.records * 1e6 if self.records else float("inf")


class Bench:
    def __init__(self, workdir: Path, streams: dict[str, Stream], lag: float, netflume_records: int) -> None:
        self.workdir = workdir
        self.streams = streams
        self.lag = lag
        self.netflume_records = netflume_records
        self.trials = 0
        self.sender_port = free_port()

    def count_for(self, peer: Peer, stream: Stream) -> int:
        if peer.name != "netflume":
            return stream.datagrams
        per = stream.records / stream.datagrams
        return min(stream.datagrams, max(1, int(self.netflume_records / per)))

    def run(self, peer: Peer, stream: Stream, rate: float) -> Trial:
        self.trials += 1
        trial, port = self.trials, free_port()
        count = self.count_for(peer, stream)
        expected = _records_in(stream, count)
        process = peer.start(port, trial)
        try:
            peer.wait_ready(process, port)
            cpu_at_ready = cpu_seconds(process.pid)
            sender = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--role",
                    "send",
                    "--stream",
                    str(self.workdir / stream.name),
                    "--port",
                    str(port),
                    "--source-port",
                    str(self.sender_port),
                    "--rate",
                    str(rate),
                    "--count",
                    str(count),
                ],
                stdout=subprocess.PIPE,
                text=True,
                preexec_fn=_pin(SENDER_CPU),
            )
            assert sender.stdout is not None
            line = sender.stdout.readline()  # "GO <monotonic start>" once the payloads are loaded
            started = float(line.split()[1])
            peak = 0
            while sender.poll() is None:
                state = socket_state(port)
                peak = max(peak, state[0] if state else 0)
                time.sleep(0.005)
            report = json.loads(sender.stdout.read().strip().splitlines()[-1])
            sent_end = started + report["seconds"]
            # Wait for the queue to stay empty (the receiver read everything that arrived).
            empty_since = None
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                state = socket_state(port)
                queued = state[0] if state else 0
                peak = max(peak, queued)
                now = time.monotonic()
                if queued == 0:
                    empty_since = empty_since or now
                    if now - empty_since >= 0.05:
                        break
                else:
                    empty_since = None
                time.sleep(0.002)
            drained = empty_since or time.monotonic()
            state = socket_state(port)
            drops = state[1] if state else -1
        except BaseException:
            process.kill()
            raise
        received = peer.finish(process, trial, cpu_at_ready)
        extra = dict(received.extra)
        if isinstance(peer, CenflowPeer):
            extra["stored"] = peer.stored(trial)
        return Trial(
            peer.name,
            stream.name,
            rate,
            report["sent"],
            report["seconds"],
            received.datagrams,
            received.records,
            expected,
            drops,
            max(0.0, drained - sent_end),
            peak,
            received.cpu,
            max(1e-9, drained - started),
            extra,
        )

    def lossless(self, peer: Peer, stream: Stream, capacity_dgrams: float, sender_max: float) -> Trial | None:
        """The fastest lossless paced trial: falling fractions of the measured capacity until one
        is lossless or, when the capacity itself is, rising ones until one is not.

        The max-rate trial measures a receiver that is dropping datagrams, which can cost more
        than receiving them; paced at that rate, a receiver may keep up with more.
        """
        found: Trial | None = None
        for fraction in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2):
            trial = self._paced(peer, stream, min(capacity_dgrams * fraction, sender_max))
            if self._kept_up(trial):
                found = trial
                break
        if found is None or found.offered < min(capacity_dgrams, sender_max):
            return found
        fraction = 1.0
        while found.offered < sender_max:
            fraction += 0.1
            trial = self._paced(peer, stream, min(capacity_dgrams * fraction, sender_max))
            if not self._kept_up(trial):
                break
            found = trial
        return found

    def _paced(self, peer: Peer, stream: Stream, rate: float) -> Trial:
        trial = self.run(peer, stream, rate)
        print(f"    {_describe(trial)}", file=sys.stderr)
        return trial

    def _kept_up(self, trial: Trial) -> bool:
        return trial.complete and trial.lag <= self.lag


def _records_in(stream: Stream, count: int) -> int:
    if count >= stream.datagrams:
        return stream.records
    # Count what the receiver must report: the decoder's flow records of the first datagrams.
    from cenflow.flow import Datagram, FlowDecoder

    decoder = FlowDecoder()
    ends = np.cumsum(stream.lengths[:count]).tolist()
    starts = [0, *ends[:-1]]
    data = stream.payload.tobytes()
    records = 0
    batch: list[Datagram] = []
    for s, e in zip(starts, ends, strict=True):
        batch.append(Datagram(data[s:e], HOST, 0))
        if len(batch) == 512:
            records += len(decoder.decode(batch).flows)
            batch = []
    return records + (len(decoder.decode(batch).flows) if batch else 0)


def _describe(t: Trial) -> str:
    offered = "max" if not t.offered else f"{t.offered:,.0f} dgram/s"
    state = "lossless" if t.complete and t.lag >= 0 else "LOSS"
    return (
        f"{t.peer:<9}{t.stream:<6} offered {offered:<18} sent {t.sent:>8,} in {t.send_seconds:6.2f}s  "
        f"records {t.records:>10,}/{t.expected_records:<10,} drops {t.drops:<6} lag {t.lag:5.2f}s "
        f"peak queue {t.peak_queue / 2**20:6.1f} MiB  cpu {t.cpu:6.2f}s  {t.rate:>11,.0f} rec/s  {state}"
    )


# -- setup -----------------------------------------------------------------------------------


def setup_cenflow(data_dir: Path) -> None:
    """A data dir with the bench topology, made by ``cenflow serve`` and ``cenflow topology apply``."""
    port = free_port(socket.SOCK_STREAM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENFLOW_")}
    env |= {"CENFLOW_ROOT_ACCESS_KEY_ID": ROOT_KEY[0], "CENFLOW_ROOT_ACCESS_KEY_SECRET": ROOT_KEY[1]}
    cenflow = str(VENV_BIN / "cenflow")
    serve = subprocess.Popen(
        [
            cenflow,
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--no-collector",
            "--transition-delay",
            "0",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
                break
            if serve.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cenflow serve did not start: {serve.stderr.read() if serve.stderr else ''}")
            time.sleep(0.1)
        topology = data_dir.parent / "topology.yaml"
        topology.write_text(TOPOLOGY)
        subprocess.run(
            [
                cenflow,
                "topology",
                "apply",
                str(topology),
                "--endpoint",
                f"{HOST}:{port}",
                "--access-key-id",
                ROOT_KEY[0],
                "--access-key-secret",
                ROOT_KEY[1],
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(60)


# -- roles (subprocesses) --------------------------------------------------------------------


def role_send(args: argparse.Namespace) -> int:
    payloads = load_payloads(Path(args.stream), args.count)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, args.source_port))
    sock.connect((HOST, args.port))
    send = sock.send
    rate = args.rate
    start = time.monotonic()
    print(f"GO {start}", flush=True)
    sent = 0
    if not rate:
        for payload in payloads:
            send(payload)
        sent = len(payloads)
    else:
        step = 16
        for i in range(0, len(payloads), step):
            target = start + i / rate
            while (now := time.monotonic()) < target:
                if target - now > 0.001:
                    time.sleep(target - now - 0.0005)
            for payload in payloads[i : i + step]:
                send(payload)
            sent += len(payloads[i : i + step])
    seconds = time.monotonic() - start
    print(json.dumps({"sent": sent, "seconds": seconds}), flush=True)
    return 0


def _wait_for_term() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def role_cenflow(args: argparse.Namespace) -> int:
    """``cenflow collector``'s process, with its counters printed when it stops."""
    from prometheus_client import REGISTRY

    from cenflow.cli.state import open_database
    from cenflow.collector.heap import DEFAULT_RETAIN_MIB, retain_freed_memory
    from cenflow.collector.receiver import UdpReceiver
    from cenflow.collector.runner import CollectorThread
    from cenflow.collector.service import Collector, CollectorSettings
    from cenflow.observability import configure_logging

    configure_logging("warning", "json")
    retain_freed_memory(int(os.environ.get("CENFLOW_HEAP_RETAIN", DEFAULT_RETAIN_MIB)) << 20)  # as the CLI reads it
    database = open_database(Path(args.data_dir), None)
    settings = CollectorSettings(data_dir=Path(args.data_dir), collector_id=args.collector_id, spool=args.spool)
    collector = Collector(settings, database)
    receiver = UdpReceiver(HOST, args.port)
    thread = CollectorThread(collector, receiver)
    thread.start()
    print(f"READY {json.dumps({'buffer': receiver.buffer_bytes})}", flush=True)
    _wait_for_term()
    thread.stop(600)
    counters = collector.decoder.counters.snapshot()
    metrics: dict[str, float] = {}
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name.startswith("cenflow_flow") and sample.name.endswith("_total"):
                metrics[sample.name] = metrics.get(sample.name, 0) + sample.value
    report = {
        "datagrams": counters["datagrams"],
        "records": counters["flow_records"],
        "decode_errors": counters["decode_errors"],
        "sequence_gaps": counters["sequence_gaps"],
        "windows_written": metrics.get("cenflow_flow_windows_written_total", 0),
        "rows_written": metrics.get("cenflow_flowlog_records_written_total", 0),
        "unattributed": metrics.get("cenflow_flow_unattributed_records_total", 0),
        "unknown_exporter": metrics.get("cenflow_flow_unknown_exporter_records_total", 0),
        "late_parts": metrics.get("cenflow_flow_late_parts_total", 0),
    }
    print(f"DONE {json.dumps(report)}", flush=True)
    return 0


def role_floor(args: argparse.Namespace) -> int:
    from collector_floor import run  # bench/ is sys.path[0] when this file runs as a script

    def ready(buffer: int) -> None:
        print(f"READY {json.dumps({'buffer': buffer})}", flush=True)

    report = run(HOST, args.port, Path(args.data_dir), ready, args.floor_stop_after)
    print(f"DONE {json.dumps(report)}", flush=True)
    return 0


def role_netflume(args: argparse.Namespace) -> int:
    import netflume

    collector = netflume.Collector(port=args.port, bind=HOST, rcvbuf=BUFFER_BYTES, timeout=0.05)  # type: ignore[no-untyped-call]
    buffer = collector.socket.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    signal.signal(signal.SIGTERM, lambda *_: collector.stop())  # type: ignore[no-untyped-call]
    print(f"READY {json.dumps({'buffer': buffer})}", flush=True)
    datagrams = records = 0
    for message in collector.messages():  # type: ignore[no-untyped-call]
        datagrams += 1
        records += len(message.flows)
    # Datagrams that did not decode are not yielded; the decoder's own count covers them.
    stats = dict(collector.stats)
    collector.close()  # type: ignore[no-untyped-call]
    print(f"DONE {json.dumps({'datagrams': datagrams, 'records': records, 'stats': stats}, default=str)}", flush=True)
    return 0


# -- main ------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flows", type=int, default=50_000, help="flows in the generated capture")
    parser.add_argument("--span", type=float, default=28.0, help="seconds the capture's flows start over")
    parser.add_argument("--repeat", type=int, default=100, help="passes of softflowd's export in the stream")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--protocols", default="v9,ipfix", help="comma-separated: v9, ipfix")
    parser.add_argument("--peers", default="cenflow,floor,nfcapd,netflume", help="comma-separated")
    parser.add_argument(
        "--floor-stop-after",
        choices=("decode", "records", "write"),
        default="write",
        help="the floor peer's last stage: receive and decode, build the records, or write them (default)",
    )
    parser.add_argument("--netflume-records", type=int, default=750_000, help="records of the stream netflume gets")
    parser.add_argument("--lag", type=float, default=0.25, help="seconds a lossless trial may take to drain")
    parser.add_argument("--no-search", action="store_true", help="only the max-rate trials")
    parser.add_argument("--no-spool", action="store_true", help="run cenflow with --no-spool")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--quick", action="store_true", help="small stream, one round, no search")
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--source-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stream", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--collector-id", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.spool = not args.no_spool
    roles: dict[str, Callable[[argparse.Namespace], int]] = {
        "send": role_send,
        "cenflow": role_cenflow,
        "netflume": role_netflume,
        "floor": role_floor,
    }
    if args.role:
        return roles[args.role](args)
    if args.quick:
        args.flows, args.repeat, args.rounds, args.no_search = 5_000, 10, 1, True
        args.netflume_records = min(args.netflume_records, 50_000)

    with contextlib.ExitStack() as stack:
        if args.keep:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cenflow-bench-")))
        return _bench(args, workdir)


def _bench(args: argparse.Namespace, workdir: Path) -> int:
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    missing = [tool for tool, peer in (("softflowd", None), ("nfcapd", "nfcapd")) if not shutil.which(tool)]
    if "softflowd" in missing:
        print("softflowd is not installed (scripts/system-deps.sh)", file=sys.stderr)
        return 1
    if "nfcapd" in missing and "nfcapd" in wanted:
        print("nfcapd not installed: skipped", file=sys.stderr)
        wanted.remove("nfcapd")
    if "netflume" in wanted:
        try:
            import netflume  # noqa: F401
        except ImportError:
            print("netflume not installed: skipped", file=sys.stderr)
            wanted.remove("netflume")

    now = int(time.time())
    traffic_start = 1_700_000_000
    clock = time.perf_counter()
    traffic = generate_traffic(args.flows, args.span, traffic_start)
    streams: dict[str, Stream] = {}
    summaries: dict[str, str] = {}
    for name in [p.strip() for p in args.protocols.split(",") if p.strip()]:
        export = softflowd_export(traffic, 9 if name == "v9" else 10, workdir)
        summaries[name] = export.summary
        stream = build_stream(export, traffic, args.repeat, now - 120)
        stream.save(workdir / stream.name)
        streams[name] = stream
    print(
        f"traffic: {traffic.flows:,} flows, {traffic.packets:,} packets over {traffic.span} s; "
        f"built in {time.perf_counter() - clock:.1f} s",
        file=sys.stderr,
    )
    for name, summary in summaries.items():
        print(f"  softflowd {name}: {summary}", file=sys.stderr)

    peers: list[Peer] = []
    if "cenflow" in wanted:
        data_dir = workdir / "data"
        setup_cenflow(data_dir)
        peers.append(CenflowPeer(data_dir, args.spool))
    if "floor" in wanted:
        peers.append(FloorPeer(workdir, args.floor_stop_after))
    if "nfcapd" in wanted:
        peers.append(NfcapdPeer(workdir))
    if "netflume" in wanted:
        peers.append(NetflumePeer())

    bench = Bench(workdir, streams, args.lag, args.netflume_records)
    results: dict[tuple[str, str], dict[str, list[float]]] = {}
    sender_max: dict[str, float] = {}
    notes: list[str] = []
    for round_number in range(args.rounds):
        print(f"round {round_number + 1}/{args.rounds}", file=sys.stderr)
        for stream in streams.values():
            for peer in peers:
                top = bench.run(peer, stream, 0.0)
                print(f"    {_describe(top)} {top.extra}", file=sys.stderr)
                cell = results.setdefault((stream.name, peer.name), {})
                if not top.complete:
                    notes.append(f"{peer.name} {stream.name}: max-rate trial incomplete: {_describe(top)}")
                cell.setdefault("max_rate", []).append(top.rate)
                cell.setdefault("cpu_m", []).append(top.cpu_per_million)
                cell.setdefault("send_rate", []).append(top.sent / top.send_seconds)
                sender_max[stream.name] = max(sender_max.get(stream.name, 0.0), top.sent / top.send_seconds)
                if isinstance(peer, CenflowPeer):
                    rows, packets, octets = top.extra["stored"]
                    exact = packets == 2 * _scaled(stream.packets, top) and octets == 2 * _scaled(stream.octets, top)
                    if not exact:
                        notes.append(
                            f"cenflow {stream.name}: stored sums differ: packets {packets:,} "
                            f"(expected {2 * stream.packets:,}), bytes {octets:,} (expected {2 * stream.octets:,})"
                        )
                    cell.setdefault("rows", []).append(rows)
                if args.no_search:
                    continue
                dgram_rate = top.datagrams / top.wall if top.datagrams > 0 else top.sent / top.wall
                found = bench.lossless(peer, stream, dgram_rate, sender_max[stream.name])
                cell.setdefault("lossless", []).append(found.records / found.send_seconds if found else 0.0)
                if found:
                    cell.setdefault("lossless_cpu_m", []).append(found.cpu_per_million)

    _report(args, streams, peers, results, notes, traffic)
    return 0


def _scaled(total: int, trial: Trial) -> int:
    return total if trial.expected_records else 0


def _report(
    args: argparse.Namespace,
    streams: dict[str, Stream],
    peers: list[Peer],
    results: dict[tuple[str, str], dict[str, list[float]]],
    notes: list[str],
    traffic: Traffic,
) -> None:
    cpu = Path("/proc/cpuinfo").read_text().split("model name")[1].split("\n")[0].strip(" :\t")
    print(
        f"collector ingest over loopback, median of {args.rounds} round(s); {os.cpu_count()} CPUs ({cpu}); "
        f"receiver on CPU {RECEIVER_CPU}, sender on CPU {SENDER_CPU}"
    )
    for stream in streams.values():
        per = stream.records / stream.datagrams
        print(
            f"\n{stream.name}: {stream.datagrams:,} datagrams, {stream.records:,} flow records "
            f"({per:.1f} per datagram), {traffic.flows:,} flows x {args.repeat} passes"
        )
        header = f"  {'peer':<10}{'buffer':>10}{'max rec/s':>14}{'lossless rec/s':>16}{'CPU-s/M rec':>13}"
        print(header + f"{'sender rec/s':>14}")
        for peer in peers:
            cell = results.get((stream.name, peer.name), {})
            max_rate = _median(cell.get("max_rate", []))
            sender = _median(cell.get("send_rate", [])) * per
            limited = ">=" if max_rate >= 0.9 * sender else "  "
            lossless = _median(cell.get("lossless", [])) if cell.get("lossless") else float("nan")
            buffer = peer.buffer_note if isinstance(peer.buffer_note, str) else f"{int(peer.buffer_note) >> 20} MiB"
            if isinstance(peer.buffer_note, str) and peer.buffer_note.isdigit():
                buffer = f"{int(peer.buffer_note) >> 20} MiB"
            print(
                f"  {peer.name:<10}{buffer:>10}{limited}{max_rate:>12,.0f}{lossless:>16,.0f}"
                f"{_median(cell.get('cpu_m', [])):>13.3f}{sender:>14,.0f}"
            )
        names = {p.name for p in peers}
        if {"floor", "nfcapd"} <= names:
            floor, nfcapd = results[(stream.name, "floor")], results[(stream.name, "nfcapd")]
            print(f"  floor/nfcapd: CPU per record {_median(floor['cpu_m']) / _median(nfcapd['cpu_m']):.2f}x")
        if "cenflow" in names:
            ours = results[(stream.name, "cenflow")]
            for other in ("floor", "nfcapd", "netflume"):
                if other not in names:
                    continue
                theirs = results[(stream.name, other)]
                cpu_ratio = _median(ours["cpu_m"]) / _median(theirs["cpu_m"])
                rate_ratio = _median(ours["max_rate"]) / _median(theirs["max_rate"])
                line = f"  cenflow/{other}: CPU per record {cpu_ratio:.2f}x, max rate {rate_ratio:.2f}x"
                if ours.get("lossless") and theirs.get("lossless"):
                    line += f", lossless rate {_median(ours['lossless']) / _median(theirs['lossless']):.2f}x"
                print(line)
            if ours.get("rows"):
                print(f"  cenflow wrote {_median(ours['rows']):,.0f} records (OK rows) per run; sums exact")
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
