"""Helpers of the data-plane end-to-end tests: real exporters, a UDP tee, nfcapd/nfdump, the
topology CLI, metrics and records of a running ``cenflow serve``.

Everything polls with a deadline; nothing sleeps to synchronise.
"""

from __future__ import annotations

import contextlib
import csv
import io
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cenflow.logstore import LogStore
from tests.flow.samples import GENERATED, truth
from tests.harness import HOST, CenflowServer, free_port

T = TypeVar("T")
Sums = dict[str, tuple[int, int]]  # "src|dst|sport|dport|proto" -> (packets, bytes)

# Flow times of traffic_small.pcap: the 60 s windows 22:13 and 22:14 UTC of 2023-11-14.
TRAFFIC_WINDOWS = (1_699_999_980, 1_700_000_040)
# The server flags of every data-plane test: windows close a second after their end (or after a
# second without data), flow logs settle at once.
FAST = ("--flow-lateness", "1", "--transition-delay", "0")


# -- waiting -----------------------------------------------------------------------------------
def wait_until(probe: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something other than ``None``/``False``; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)  # poll interval; the loop is bounded by the deadline


# -- metrics -----------------------------------------------------------------------------------
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_samples(server: CenflowServer) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of ``GET /metrics``: (name, labels, value)."""
    with server.http() as http:
        response = http.get("/metrics")
    response.raise_for_status()
    samples = []
    for line in response.text.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(_LABEL.findall(match.group(2) or ""))
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def metric(server: CenflowServer, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    return sum(
        value
        for sample, have, value in metric_samples(server)
        if sample == name and all(have.get(k) == v for k, v in labels.items())
    )


def wait_for_metric(
    server: CenflowServer, name: str, predicate: Callable[[float], bool], timeout: float = 20.0, **labels: str
) -> float:
    def probe() -> float | None:
        value = metric(server, name, **labels)
        return value if predicate(value) else None

    return wait_until(probe, timeout, f"{name} to satisfy the condition")


def wait_for_datagrams(server: CenflowServer, at_least: float, timeout: float = 20.0) -> float:
    """Until the collector has spooled and decoded ``at_least`` datagrams in all."""
    return wait_for_metric(server, "cenflow_flow_datagrams_total", lambda v: v >= at_least, timeout)


def wait_for_active_flowlogs(server: CenflowServer, count: int, timeout: float = 20.0) -> None:
    """Until the collector serves exactly ``count`` Active flow logs (it re-reads them every second)."""
    wait_for_metric(server, "cenflow_flow_active_flowlogs", lambda v: v == count, timeout)


def wait_for_settled_windows(server: CenflowServer, timeout: float = 20.0) -> None:
    """Until only the live window of each Active flow log is open and the writer holds none: the
    collector counts handed-over windows as pending before it stops counting them as open."""

    def probe() -> bool:
        samples = metric_samples(server)
        if not any(name == "cenflow_flow_open_windows" for name, _labels, _value in samples):
            return False  # no tick yet in this process
        names = ("cenflow_flow_open_windows", "cenflow_flow_active_flowlogs", "cenflow_flow_pending_windows")
        total = dict.fromkeys(names, 0.0)
        for name, _labels, value in samples:
            if name in total:
                total[name] += value
        settled = total["cenflow_flow_open_windows"] <= total["cenflow_flow_active_flowlogs"]
        return settled and total["cenflow_flow_pending_windows"] == 0

    wait_until(probe, timeout, "the collector's windows to be written")


# -- records -----------------------------------------------------------------------------------
def records(
    server: CenflowServer,
    project: str,
    logstore: str,
    where: str | None = None,
    from_ts: int | None = None,
    to_ts: int | None = None,
) -> list[dict[str, Any]]:
    """What the log store holds (``LogStore.query_rows``: fields without a value left out)."""
    store = LogStore.in_data_dir(server.data_dir)
    if not store.exists(project, logstore):
        return []
    return store.query_rows(project, logstore, from_ts, to_ts, where)


def ok_records(server: CenflowServer, project: str, logstore: str, **options: Any) -> list[dict[str, Any]]:
    return records(server, project, logstore, where="\"log-status\" = 'OK'", **options)


def wait_for_records(
    server: CenflowServer,
    project: str,
    logstore: str,
    predicate: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 20.0,
    where: str | None = None,
) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        rows = records(server, project, logstore, where)
        return rows if predicate(rows) else None

    return wait_until(probe, timeout, f"records in {project}/{logstore}")


def flow_key(row: Mapping[str, Any]) -> str:
    return f"{row['srcaddr']}|{row['dstaddr']}|{row['srcport']}|{row['dstport']}|{row['protocol']}"


def sums(rows: Iterable[Mapping[str, Any]]) -> Sums:
    """Packets and bytes per 5-tuple."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(flow_key(row), [0, 0])
        total[0] += int(row["packets"])
        total[1] += int(row["bytes"])
    return {key: (p, b) for key, (p, b) in totals.items()}


def packets_of(rows: Iterable[Mapping[str, Any]]) -> int:
    return sum(int(row.get("packets", 0)) for row in rows)


def scaled(values: Sums, factor: int) -> Sums:
    return {key: (p * factor, b * factor) for key, (p, b) in values.items()}


def normalised(values: Mapping[str, tuple[int, int]]) -> Sums:
    """Keys with canonical address texts, so different printers of IPv6 compare equal."""
    result: Sums = {}
    for key, value in values.items():
        src, dst, rest = key.split("|", 2)
        canonical = f"{ipaddress.ip_address(src)}|{ipaddress.ip_address(dst)}|{rest}"
        result[canonical] = value
    return result


# -- the lab: traffic_small.pcap behind one router ---------------------------------------------
TRAFFIC = GENERATED / "traffic_small.pcap"
# The capture's sources (10/8, 2001:db8:00xx::) and destinations (192.168/16, 2001:db8:ffxx::).
SRC_CIDR = ("10.0.0.0/8", "2001:db8::/40")
DST_CIDR = ("192.168.0.0/16", "2001:db8:ff00::/40")
LAB_PROJECT = "lab-flows"


def lab_topology(name: str = "lab", exporter: str = HOST, logstore: str = "lab-flows") -> dict[str, Any]:
    """A CEN ``name`` whose router ``name`` is bound to ``exporter``, with the attachments ``src``
    and ``dst`` behind which traffic_small.pcap's sources and destinations live, and a whole-router
    flow log ``<name>-all`` (60 s windows) into ``lab-flows/<logstore>``: each flow of the capture is
    recorded ``in`` on src and ``out`` on dst."""
    short = name.replace("-", "")
    attachments = [vpc("src", f"vpc-{short}src", cidr=SRC_CIDR), vpc("dst", f"vpc-{short}dst", cidr=DST_CIDR)]
    flowlogs = [flowlog(f"{name}-all", LAB_PROJECT, logstore)]
    return {"name": name, "transit_routers": [router(name, exporter, attachments, flowlogs)]}


def truth_sums() -> Sums:
    return normalised(truth())


def directions(rows: Iterable[Mapping[str, Any]]) -> dict[str, Sums]:
    """The OK records' per-5-tuple sums, per direction."""
    ok = [r for r in rows if r.get("log-status") == "OK"]
    return {d: sums(r for r in ok if r["direction"] == d) for d in ("in", "out")}


# -- the topology CLI --------------------------------------------------------------------------
def apply_topology(server: CenflowServer, document: Mapping[str, Any], directory: Path) -> dict[str, str]:
    """Run ``cenflow topology apply FILE --json`` against the server; the ids it reports."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"topology-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.safe_dump(dict(document), sort_keys=False))
    assert server.access_key_id is not None
    assert server.access_key_secret is not None
    result = run_cli(
        "topology",
        "apply",
        str(path),
        "--endpoint",
        server.endpoint,
        "--access-key-id",
        server.access_key_id,
        "--access-key-secret",
        server.access_key_secret,
        "--timeout",
        "30",
        "--json",
    )
    ids: dict[str, str] = json.loads(result.stdout)
    return ids


def run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``cenflow ARGS`` as a process; fails the test with its output when it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "cenflow.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=_cli_environment(),
    )
    assert result.returncode == 0, f"cenflow {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
    return result


def _cli_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CENFLOW_", "ALIBABA_CLOUD_"))}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def router(
    name: str,
    exporter: str | Sequence[str],
    attachments: Sequence[Mapping[str, Any]],
    flowlogs: Sequence[Mapping[str, Any]],
    region: str = "cn-hangzhou",
) -> dict[str, Any]:
    return {
        "region": region,
        "name": name,
        "exporter": exporter if isinstance(exporter, str) else list(exporter),
        "attachments": list(attachments),
        "flowlogs": list(flowlogs),
    }


def vpc(name: str, vpc_id: str, cidr: Sequence[str] = (), ifindex: Sequence[int] = ()) -> dict[str, Any]:
    """A VPC attachment bound by ``cidr`` (the networks behind it) and/or ``ifindex``."""
    attachment: dict[str, Any] = {"type": "vpc", "name": name, "vpc_id": vpc_id}
    if cidr:
        attachment["cidr"] = list(cidr)
    if ifindex:
        attachment["ifindex"] = list(ifindex)
    return attachment


def flowlog(
    name: str, project: str, logstore: str, *, attachment: str | None = None, fmt: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "project": project, "logstore": logstore, "interval": 60}
    if attachment is not None:
        entry["attachment"] = attachment
    if fmt is not None:
        entry["format"] = fmt
    return entry


def single_cen(name: str, *routers: Mapping[str, Any]) -> dict[str, Any]:
    return {"cens": [{"name": name, "transit_routers": list(routers)}]}


# -- the SDK ----------------------------------------------------------------------------------
def flowlog_status(server: CenflowServer, flow_log_id: str) -> str:
    found = server.client("stackA-v3").invoke(
        "DescribeFlowlogs", {"RegionId": "cn-hangzhou", "FlowLogId": flow_log_id}
    )["FlowLogs"]["FlowLog"]
    return str(found[0]["Status"])


def set_flowlog_active(server: CenflowServer, flow_log_id: str, active: bool, cen_id: str) -> float:
    """ActiveFlowLog / DeactiveFlowLog, then wait until the API reports it settled; returns the
    monotonic time it was first seen settled."""
    action = "ActiveFlowLog" if active else "DeactiveFlowLog"
    server.client("stackA-v3").invoke(action, {"RegionId": "cn-hangzhou", "CenId": cen_id, "FlowLogId": flow_log_id})
    wanted = "Active" if active else "Inactive"
    wait_until(lambda: flowlog_status(server, flow_log_id) == wanted, 20.0, f"{flow_log_id} to be {wanted}")
    return time.monotonic()


# -- sending -----------------------------------------------------------------------------------
def send(datagrams: Sequence[bytes], port: int, source: str = HOST) -> tuple[str, int]:
    """Send ``datagrams`` in order from one socket bound to ``source``; returns its address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        for payload in datagrams:
            sock.sendto(payload, (HOST, port))
        address: tuple[str, int] = sock.getsockname()
    return address


@dataclass
class UdpTee:
    """A UDP relay: what arrives on ``HOST:port`` is forwarded, in order, to every target, from one
    socket bound to ``source`` (so all copies come from one exporter address and port)."""

    targets: Sequence[tuple[str, int]]
    source: str = HOST
    forwarded: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _large_buffer(self._in)
        self._in.bind((HOST, 0))
        self._in.settimeout(0.05)
        self.port: int = self._in.getsockname()[1]
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._out.bind((self.source, 0))

    def __enter__(self) -> UdpTee:
        self._thread = threading.Thread(target=self._run, name="udp-tee", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._in.close()
        self._out.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                payload = self._in.recv(65535)
            except TimeoutError:
                continue
            for target in self.targets:
                self._out.sendto(payload, target)
            self.forwarded += 1

    def wait_forwarded(self, count: int, timeout: float = 10.0) -> None:
        wait_until(lambda: self.forwarded >= count, timeout, f"the tee to forward {count} datagrams")


def _large_buffer(sock: socket.socket) -> None:
    for option in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
        with contextlib.suppress(PermissionError, OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, 16 << 20)
            return


# -- softflowd ---------------------------------------------------------------------------------
SOFTFLOWD_VERSIONS = {"v5": "5", "v9": "9", "ipfix": "10"}


def softflowd(pcap: Path, port: int, version: str, *, sampling: int | None = None, host: str = HOST) -> int:
    """Run softflowd on ``pcap`` exporting to ``host:port``; returns how many datagrams it sent.

    ``-a`` takes packet times from the capture and ``-A milli`` makes IPFIX carry absolute times;
    softflowd exits at the end of the file (see ../shared/testdata/README.md).
    """
    args = ["softflowd", "-r", str(pcap), "-n", f"{host}:{port}", "-v", SOFTFLOWD_VERSIONS[version]]
    if version != "v5":
        args.append("-6")
    args += ["-a", "-A", "milli", "-d"]
    if sampling is not None:
        args += ["-s", str(sampling)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"softflowd failed ({result.returncode}):\n{output}"
    match = re.search(r"Flows exported: \d+ \(\d+ records\) in (\d+) packets \((\d+) failures\)", output)
    assert match, f"unexpected softflowd output:\n{output}"
    assert match.group(2) == "0", f"softflowd failed to send:\n{output}"
    return int(match.group(1))


# -- nfcapd / nfdump ---------------------------------------------------------------------------
_PROTOCOLS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "IPv6-ICMP": 58}


class Nfcapd:
    """nfcapd in the foreground on a free UDP port of ``HOST``, writing into ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log = directory.parent / f"{directory.name}.log"
        self.records = 0  # flow records nfdump read (set by ``sums``)

    def __enter__(self) -> Nfcapd:
        for _attempt in range(5):
            self.port = free_port(socket.SOCK_DGRAM)
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    ["nfcapd", "-b", HOST, "-p", str(self.port), "-w", str(self.directory)],
                    stdout=log,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                )
            if self._wait_bound(self.process):
                return self
        raise AssertionError(f"nfcapd did not start:\n{self.log.read_text(errors='replace')}")

    def _wait_bound(self, process: subprocess.Popen[bytes]) -> bool:
        """Whether nfcapd bound its port (``False``: it exited, e.g. the port was taken)."""
        wait_until(
            lambda: _udp_socket(self.port) is not None or process.poll() is not None, 10.0, "nfcapd to bind its port"
        )
        return process.poll() is None

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def finish(self) -> None:
        """Wait until nfcapd has read everything queued for it, then stop it (it writes its file)."""
        wait_until(lambda: (_udp_socket(self.port) or (0, 0))[1] == 0, 10.0, "nfcapd to drain its socket")
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(20)

    def sums(self) -> Sums:
        """What nfdump decodes from the files nfcapd wrote, per 5-tuple (ICMP ports 0)."""
        result = subprocess.run(
            ["nfdump", "-R", str(self.directory), "-o", "csv"], capture_output=True, text=True, timeout=60, check=True
        )
        lines = result.stdout.splitlines()
        header = lines[0].split(",")
        column = {name: i for i, name in enumerate(header)}
        totals: dict[str, list[int]] = {}
        self.records = 0
        for row in csv.reader(io.StringIO("\n".join(lines[1:]))):
            if len(row) != len(header):
                break  # the summary after the records
            protocol = _PROTOCOLS.get(row[column["pr"]].strip()) or int(row[column["pr"]])
            sport, dport = int(row[column["sp"]]), int(row[column["dp"]])
            if protocol in (1, 58):
                sport = dport = 0
            src, dst = ipaddress.ip_address(row[column["sa"]]), ipaddress.ip_address(row[column["da"]])
            self.records += 1
            total = totals.setdefault(f"{src}|{dst}|{sport}|{dport}|{protocol}", [0, 0])
            total[0] += int(row[column["ipkt"]])
            total[1] += int(row[column["ibyt"]])
        return {key: (p, b) for key, (p, b) in totals.items()}


def _udp_socket(port: int) -> tuple[int, int] | None:
    """(inode, bytes queued to read) of the UDP socket bound to ``port`` on loopback, if any."""
    wanted = f"{port:04X}"
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{wanted}"):
            return int(fields[9]), int(fields[4].split(":")[1], 16)
    return None


def export_capture(server: CenflowServer, pcap: Path, source: str, version: str = "v9") -> int:
    """softflowd exports ``pcap`` to the server through a tee sending from ``source`` (the exporter
    address the server sees); returns once the server has decoded every datagram."""
    before = metric(server, "cenflow_flow_datagrams_total")
    with UdpTee([(HOST, server.flow_port)], source=source) as tee:
        sent = softflowd(pcap, tee.port, version)
        tee.wait_forwarded(sent)
    wait_for_datagrams(server, before + sent)
    return sent


Binding = tuple[tuple[str, ...], str, str]  # (cidrs, region of the network behind, kind: vpc|vbr|peer)


def expected_records(
    truth: Mapping[str, tuple[int, int]], attachments: Mapping[str, Binding], router_region: str = "cn-hangzhou"
) -> dict[tuple[str, str, str], tuple[int, int, str, str]]:
    """The binding rules of docs/topology.md (cidr mode), written independently of the collector:
    (attachment, direction, 5-tuple) -> (packets, bytes, src-region-id, dst-region-id)."""

    def owner(address: str) -> str | None:
        ip = ipaddress.ip_address(address)
        for name, (cidrs, _region, _kind) in attachments.items():
            if any(ip in ipaddress.ip_network(c) for c in cidrs):
                return name
        return None

    result: dict[tuple[str, str, str], tuple[int, int, str, str]] = {}
    for key, (packets, octets) in truth.items():
        src, dst = key.split("|")[:2]
        ingress, egress = owner(src), owner(dst)
        src_region = attachments[ingress][1] if ingress else router_region
        dst_region = attachments[egress][1] if egress else router_region
        if ingress and attachments[ingress][2] != "peer":
            result[(ingress, "in", key)] = (packets, octets, src_region, dst_region)
        if egress:
            result[(egress, "out", key)] = (packets, octets, src_region, dst_region)
    return result


def recorded(
    rows: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> dict[tuple[str, str, str], tuple[int, int, str, str]]:
    """OK records summed per (attachment name, direction, 5-tuple), with their regions;
    ``names`` maps attachment ids to names.  Fails when one key carries two different regions."""
    result: dict[tuple[str, str, str], tuple[int, int, str, str]] = {}
    for row in rows:
        if row.get("log-status") != "OK":
            continue
        key = (names[row["attachment-id"]], row["direction"], flow_key(row))
        packets, octets, src_region, dst_region = result.get(key, (0, 0, row["src-region-id"], row["dst-region-id"]))
        assert (src_region, dst_region) == (row["src-region-id"], row["dst-region-id"]), row
        result[key] = (packets + int(row["packets"]), octets + int(row["bytes"]), src_region, dst_region)
    return result
