"""Control-plane throughput: signed Cbn calls per second against moto and a bare endpoint.

One run starts every peer as its own process on a free loopback port of this machine:

- ``cenflow serve`` on three seeded data directories: ``--small`` flow logs (10), ``--pool``
  flow logs (the smallest database the mutation workload can cycle through, see below) and
  ``--large`` flow logs (100,000), all with ``--transition-delay 0``;
- ``moto_server`` answering EC2 ``DescribeFlowLogs`` (one VPC, ``--small`` flow logs), SigV4
  signed the way botocore signs;
- a bare Starlette ``POST /`` returning a fixed small JSON body, served by uvicorn with the
  settings ``cenflow serve`` uses (same event loop and HTTP implementation, one worker);
- the *floor* (``bench/api_floor.py``): a plain ASGI callable on the same server settings doing
  only the work no implementation may skip (signature, timestamp, a durable nonce; for
  ``DescribeFlowlogs`` by id one read of a copy of the small dataset's database; for the
  mutations a status update and a task row), and ``floor-memory``, the same with nonces in
  memory (not a correct server: it shows what durable replay protection costs).  ``floor/bare``
  is about the most an implementation on this server stack can reach against the bare endpoint.

Every scenario is driven by the same load generator at the same concurrency: a callback-driven
asyncio HTTP/1.1 client holding ``--concurrency`` keep-alive connections, each with one request
in flight, writing pre-built request bytes.  Requests are signed before each timed round (V3
ACS3-HMAC-SHA256 by default, as the official SDK does; ``--signature v1`` for RPC HMAC-SHA1)
with the SDK's own signing functions, unique nonces and a current timestamp, so signing is not
timed.  Every response's status is checked and a sample of bodies is parsed and checked, so an
error is never counted as throughput.

Mutations alternate ActiveFlowLog and DeactiveFlowLog over a pool of flow logs: each flow log
is revisited only after every other pool member had a request, and before each round the
benchmark waits for the task queue to drain and reads every pool member's settled status, so
each counted request is a valid transition.  Anything else (IncorrectStatus on a flow log still
Modifying) is counted as a non-200 and shown.

The machine is shared and has few cores: each round runs every scenario once, in a shuffled
order, and the report gives medians over rounds and the median of per-round ratios
(cenflow/moto, cenflow/bare, large/small), which drift much less than absolute numbers.

Run: ``.venv/bin/python bench/api.py`` (``--quick`` for a smoke run; ``--help`` for options).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

HOST = "127.0.0.1"
CBN_VERSION = "2017-09-12"
REGION = "cn-hangzhou"
ACCOUNT_ID = "1357924680135792"
ACCESS_KEY_ID = "LTAI5tBenchRootKey000001"
ACCESS_KEY_SECRET = "BenchRootSecret0123456789abcde"
AWS_REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
BARE_BODY = b'{"RequestId":"00000000-0000-0000-0000-000000000000","Success":"true"}'
PAGE_SIZE = 10
START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 60.0

Validator = Callable[[bytes], bool]


# --- peers ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: exited with {process.returncode}\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status < 500:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url}: not ready within {timeout}s\n{log.read_text()[-3000:]}")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Peer:
    name: str
    command: list[str]
    health_path: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        log = self.workdir / f"{self.name}.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CENFLOW_")}
        environment.update(self.env)
        with log.open("ab") as handle:
            self.process = subprocess.Popen(  # the commands are ours: sys.executable and fixed flags
                [part.replace("{port}", str(self.port)) for part in self.command],
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=handle,
                env=environment,
                start_new_session=True,
            )
        wait_http(f"http://{self.host}{self.health_path}", self.process, log)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


# --- the bare endpoint (``--serve-bare``: run in its own process like the other peers) ---------
def serve_bare(port: int) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def root(request: Request) -> Response:
        await request.body()
        return Response(BARE_BODY, 200, media_type="application/json;charset=utf-8")

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/", root, methods=["GET", "POST"]), Route("/healthz", healthz, methods=["GET"])])
    serve_like_cenflow(app, port)


def serve_like_cenflow(app: Any, port: int) -> None:
    """``app`` on ``port`` with the server settings of ``cenflow serve``."""
    import uvicorn

    # The keyword arguments ``cenflow serve`` passes (cenflow/cli/main.py); loop and http stay on
    # uvicorn's "auto", as there, so both pick the same implementations (uvloop, httptools).
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        server_header=False,
    )


# --- seeding a cenflow data directory ---------------------------------------------------------
_ALPHABET = string.ascii_lowercase + string.digits


def _rid(rng: random.Random, prefix: str, length: int) -> str:
    return prefix + "".join(rng.choices(_ALPHABET, k=length))


def seed_cenflow(data_dir: Path, count: int, rng: random.Random) -> list[str]:
    """Migrate a fresh database and insert ``count`` Active flow logs in one transaction.

    One CEN with one Enterprise transit router in REGION, ``count`` attached VPC attachments
    and one flow log per attachment (the schema allows one flow log per scope), delivering to
    the default project and logstore of the account, which exist.  Returns the flow log ids in
    creation order.
    """
    from cenflow.api.cbn.flowlogs import DEFAULT_LOGSTORE, default_project
    from cenflow.domain import flowlogs as rules
    from cenflow.domain.network import AttachmentKind
    from cenflow.domain.states import AttachmentStatus, CenStatus, FlowLogStatus, TransitRouterStatus
    from cenflow.store import tables
    from cenflow.store.database import Database
    from cenflow.store.migrate import upgrade

    data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(f"sqlite:///{(data_dir / 'cenflow.db').resolve()}")
    upgrade(database)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    cen_id, tr_id = _rid(rng, "cen-", 18), _rid(rng, "tr-", 21)
    project, logstore = default_project(ACCOUNT_ID, REGION), DEFAULT_LOGSTORE
    attachment_rows: list[dict[str, Any]] = []
    flowlog_rows: list[dict[str, Any]] = []
    for index in range(count):
        attachment_id, vpc_id = _rid(rng, "tr-attach-", 18), _rid(rng, "vpc-", 21)
        created = now + timedelta(milliseconds=index)
        details = {
            "VpcId": vpc_id,
            "VpcOwnerId": int(ACCOUNT_ID),
            "ChargeType": "POSTPAY",
            "ZoneMappings": [{"ZoneId": f"{REGION}-h", "VSwitchId": _rid(rng, "vsw-", 21)}],
            "Options": {},
        }
        attachment_rows.append(
            {
                "attachment_id": attachment_id,
                "account_id": ACCOUNT_ID,
                "kind": AttachmentKind.VPC.value,
                "instance_id": vpc_id,
                "cen_id": cen_id,
                "transit_router_id": tr_id,
                "region_id": REGION,
                "name": f"bench-{index}",
                "description": "",
                "status": AttachmentStatus.ATTACHED.value,
                "auto_publish_route": False,
                "details": json.dumps(details),
                "created_at": created,
            }
        )
        flowlog_rows.append(
            {
                "flow_log_id": _rid(rng, "flowlog-", 20),
                "account_id": ACCOUNT_ID,
                "region_id": REGION,
                "cen_id": cen_id,
                "transit_router_id": tr_id,
                "attachment_id": attachment_id,
                "scope_id": attachment_id,
                "name": f"bench-{index}",
                "description": "seeded by bench/api.py",
                "project_name": project,
                "logstore_name": logstore,
                "interval": rules.DEFAULT_INTERVAL,
                "log_format": "",
                "version": rules.CURRENT_VERSION,
                "status": FlowLogStatus.ACTIVE.value,
                "created_at": created,
            }
        )
    with database.write() as tx:
        tx.execute(
            tables.cens.insert(),
            [
                {
                    "cen_id": cen_id,
                    "account_id": ACCOUNT_ID,
                    "name": "bench",
                    "description": "",
                    "protection_level": "REDUCED",
                    "ipv6_level": "DISABLED",
                    "resource_group_id": "",
                    "status": CenStatus.ACTIVE.value,
                    "created_at": now,
                }
            ],
        )
        tx.execute(
            tables.transit_routers.insert(),
            [
                {
                    "transit_router_id": tr_id,
                    "account_id": ACCOUNT_ID,
                    "cen_id": cen_id,
                    "region_id": REGION,
                    "name": "bench",
                    "description": "",
                    "type": "Enterprise",
                    "status": TransitRouterStatus.ACTIVE.value,
                    "support_multicast": False,
                    "cidrs": "[]",
                    "created_at": now,
                }
            ],
        )
        tx.execute(
            tables.sls_projects.insert(),
            [{"project_name": project, "account_id": ACCOUNT_ID, "region_id": REGION, "created_at": now}],
        )
        tx.execute(
            tables.sls_logstores.insert(),
            [{"project_name": project, "logstore_name": logstore, "retention_days": 30, "created_at": now}],
        )
        if attachment_rows:
            tx.execute(tables.attachments.insert(), attachment_rows)
            tx.execute(tables.flowlogs.insert(), flowlog_rows)
    with database.write() as tx:
        tx.exec_driver_sql("ANALYZE")
    database.dispose()
    (data_dir / "account-id").write_text(ACCOUNT_ID + "\n")
    return [row["flow_log_id"] for row in flowlog_rows]


class CenflowPeer(Peer):
    """``cenflow serve`` on a seeded data directory."""

    def __init__(
        self, name: str, workdir: Path, data_dir: Path, count: int, flow_log_ids: list[str], collector: bool
    ) -> None:
        super().__init__(
            name=name,
            command=[
                sys.executable,
                "-m",
                "cenflow.cli.main",
                "serve",
                "--host",
                HOST,
                "--port",
                "{port}",
                "--data-dir",
                str(data_dir),
                "--account-id",
                ACCOUNT_ID,
                "--transition-delay",
                "0",
                "--flowlog-quota",
                str(max(1000, count * 2)),
                "--log-level",
                "WARNING",
                # The API alone by default: an in-process collector re-reads every Active flow
                # log each second (data plane), which is not what this benchmark measures.
                *(["--flow-port", "0"] if collector else ["--no-collector"]),
            ],
            health_path="/healthz",
            workdir=workdir,
            env={"CENFLOW_ROOT_ACCESS_KEY_ID": ACCESS_KEY_ID, "CENFLOW_ROOT_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET},
        )
        self.data_dir = data_dir
        self.count = count
        self.flow_log_ids = flow_log_ids
        self.cen_id = ""

    def database(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "cenflow.db", timeout=30)

    def load_cen_id(self) -> None:
        with contextlib.closing(self.database()) as db:
            self.cen_id = db.execute("SELECT cen_id FROM cens").fetchone()[0]

    def wait_settled(self) -> None:
        """Until no task is queued and no flow log is in a transient state."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        with contextlib.closing(self.database()) as db:
            while time.monotonic() < deadline:
                (tasks,) = db.execute("SELECT count(*) FROM tasks").fetchone()
                (transient,) = db.execute(
                    "SELECT count(*) FROM flowlogs WHERE status NOT IN ('Active', 'Inactive')"
                ).fetchone()
                if tasks == 0 and transient == 0:
                    return
                time.sleep(0.05)
        raise RuntimeError(f"{self.name}: tasks did not drain within {DRAIN_TIMEOUT}s")

    def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        with contextlib.closing(self.database()) as db:
            rows = db.execute("SELECT flow_log_id, status FROM flowlogs").fetchall()
        wanted = set(ids)
        return {fid: status for fid, status in rows if fid in wanted}


def moto_peer(workdir: Path) -> Peer:
    return Peer(
        name="moto",
        command=[sys.executable, "-c", "from moto.server import main; main()", "-H", HOST, "-p", "{port}"],
        health_path="/moto-api/",
        workdir=workdir,
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": AWS_REGION},
    )


def seed_moto(peer: Peer, count: int) -> list[str]:
    import boto3  # type: ignore[import-untyped]

    ec2 = boto3.client(
        "ec2",
        region_name=AWS_REGION,
        endpoint_url=f"http://{peer.host}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids: list[str] = []
    for index in range(count):
        created = ec2.create_flow_logs(
            ResourceIds=[vpc_id],
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=f"bench-{index}",
            DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/flow-logs",
        )
        ids.extend(created["FlowLogIds"])
    return ids


def floor_peer(workdir: Path, database: Path, *, durable: bool) -> Peer:
    name = "floor" if durable else "floor-memory"
    return Peer(
        name=name,
        command=[
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve-floor",
            "{port}",
            "--floor-db",
            str(database),
            *([] if durable else ["--floor-memory"]),
        ],
        health_path="/healthz",
        workdir=workdir,
    )


def bare_peer(workdir: Path) -> Peer:
    return Peer(
        name="bare",
        command=[sys.executable, str(Path(__file__).resolve()), "--serve-bare", "{port}"],
        health_path="/healthz",
        workdir=workdir,
    )


# --- building signed requests -----------------------------------------------------------------
def http_request(method: str, host: str, target: str, headers: Sequence[tuple[str, str]], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{name}: {value}" for name, value in headers if name.lower() != "host")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class CbnSigner:
    """Signs Cbn RPC calls the way the official SDK does, with the SDK's signing functions."""

    def __init__(self, host: str, scheme: str) -> None:
        from alibabacloud_tea_openapi.utils import Utils

        self._utils = Utils
        self.host = host
        self.scheme = scheme
        self.user_agent = Utils.get_user_agent(None)

    def sign(self, action: str, params: dict[str, str], timestamp: str) -> bytes:
        nonce = uuid.uuid4().hex
        if self.scheme == "v3":
            return self._v3(action, params, timestamp, nonce)
        return self._v1(action, params, timestamp, nonce)

    def _v3(self, action: str, params: dict[str, str], timestamp: str, nonce: str) -> bytes:
        # alibabacloud_tea_openapi Client.do_request (RPC style, ACS3-HMAC-SHA256): parameters in
        # the query string, empty body, and every header below signed.
        headers = {
            "host": self.host,
            "x-acs-version": CBN_VERSION,
            "x-acs-action": action,
            "user-agent": self.user_agent,
            "x-acs-date": timestamp,
            "x-acs-signature-nonce": nonce,
            "accept": "application/json",
            "x-acs-content-sha256": EMPTY_SHA256,
        }
        request = argparse.Namespace(method="POST", pathname="/", query=params, headers=headers)
        headers["Authorization"] = self._utils.get_authorization(
            request, "ACS3-HMAC-SHA256", EMPTY_SHA256, ACCESS_KEY_ID, ACCESS_KEY_SECRET
        )
        target = "/?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote) if params else "/"
        return http_request("POST", self.host, target, list(headers.items()))

    def _v1(self, action: str, params: dict[str, str], timestamp: str, nonce: str) -> bytes:
        # Client.do_rpcrequest (RPC v1, HMAC-SHA1): everything, the signature too, in the query.
        query = {
            "Action": action,
            "Format": "json",
            "Version": CBN_VERSION,
            "Timestamp": timestamp,
            "SignatureNonce": nonce,
            **params,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "AccessKeyId": ACCESS_KEY_ID,
        }
        query["Signature"] = self._utils.get_rpcsignature(query, "POST", ACCESS_KEY_SECRET)
        headers = [
            ("x-acs-version", CBN_VERSION),
            ("x-acs-action", action),
            ("user-agent", self.user_agent),
        ]
        return http_request(
            "POST", self.host, "/?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote), headers
        )


def sigv4_requests(host: str, bodies: Sequence[dict[str, str]]) -> list[bytes]:
    """EC2 query-protocol requests signed with SigV4 by botocore, as boto3 sends them."""
    from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    credentials = Credentials("testing", "testing")
    result = []
    for params in bodies:
        body = urllib.parse.urlencode({"Action": "DescribeFlowLogs", "Version": "2016-11-15", **params}).encode()
        request = AWSRequest(
            method="POST",
            url=f"http://{host}/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "User-Agent": "Boto3/bench"},
        )
        SigV4Auth(credentials, "ec2", AWS_REGION).add_auth(request)
        headers = [(k, str(v)) for k, v in request.headers.items() if k.lower() != "content-length"]
        result.append(http_request("POST", host, "/", headers, body))
    return result


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- response checks --------------------------------------------------------------------------
def json_check(predicate: Callable[[dict[str, Any]], bool]) -> Validator:
    def check(body: bytes) -> bool:
        try:
            document = json.loads(body)
        except ValueError:
            return False
        return isinstance(document, dict) and bool(predicate(document))

    return check


def describe_check(total: int | None, items: int) -> Validator:
    return json_check(
        lambda d: (total is None or d.get("TotalCount") == str(total)) and len(d["FlowLogs"]["FlowLog"]) == items
    )


def moto_check(items: int) -> Validator:
    return lambda body: b"<DescribeFlowLogsResponse" in body and body.count(b"<flowLogId>") == items


SUCCESS_CHECK = json_check(lambda d: d.get("Success") in ("true", True) and "RequestId" in d)
BARE_CHECK = json_check(lambda d: d.get("Success") == "true")


# --- the load generator -----------------------------------------------------------------------
@dataclass
class Tally:
    completed: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    invalid: int = 0
    samples: list[bytes] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


class RequestSource:
    """The requests of a round: used once each (signed, with nonces), or cycled (unsigned peers)."""

    def __init__(self, requests: Sequence[bytes], cycle: bool) -> None:
        self.requests = requests
        self.cycle = cycle
        self.position = 0

    def next(self) -> bytes | None:
        if self.position >= len(self.requests):
            if not self.cycle:
                return None
            self.position = 0
        request = self.requests[self.position]
        self.position += 1
        return request


class Connection(asyncio.Protocol):
    """One keep-alive connection with one request in flight; sends the next one on completion."""

    SAMPLE_EVERY = 64

    def __init__(self, run: Round) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.busy = False
        self.closed = asyncio.get_running_loop().create_future()
        self.responses = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.run.tally.statuses[-1] = self.run.tally.statuses.get(-1, 0) + 1
            self.busy = False
            self.run.finished(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def send_next(self) -> bool:
        request = self.run.source.next() if self.run.sending else None
        if request is None or self.transport is None or self.transport.is_closing():
            return False
        self.busy = True
        self.sent_at = time.perf_counter()
        self.transport.write(request)
        return True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            start = head.find(b"content-length:")
            if start < 0:  # every peer here answers with a Content-Length
                raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
            line_end = head.find(b"\r\n", start)
            length = int(head[start + 15 : line_end if line_end >= 0 else len(head)])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            status = int(head[9:12])
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            self.complete(status, body, b"connection: close" in head)

    def complete(self, status: int, body: bytes, closing: bool) -> None:
        tally = self.run.tally
        if self.run.measuring:
            tally.latencies.append(time.perf_counter() - self.sent_at)
        tally.completed += 1
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        self.responses += 1
        if status != 200:
            if len(tally.samples) < 3:
                tally.samples.append(body[:400])
        elif (self.responses == 1 or tally.completed % self.SAMPLE_EVERY == 0) and not self.run.validator(body):
            tally.invalid += 1
            if len(tally.samples) < 3:
                tally.samples.append(body[:400])
        self.busy = False
        if closing:  # a peer without keep-alive (moto): the slot continues on a new connection
            assert self.transport is not None
            self.transport.close()
            self.run.replace()
            return
        if not self.send_next():
            self.run.finished(self)


class Round:
    def __init__(self, host: str, port: int, source: RequestSource, validator: Validator, concurrency: int) -> None:
        self.host, self.port = host, port
        self.source = source
        self.validator = validator
        self.concurrency = concurrency
        self.tally = Tally()
        self.sending = True
        self.measuring = False
        self.idle: asyncio.Event | None = None
        self.active = 0
        self.connections: list[Connection] = []
        self.pending: set[asyncio.Future[None]] = set()

    def finished(self, connection: Connection | None) -> None:
        del connection
        self.active -= 1
        if self.active <= 0 and self.idle is not None:
            self.idle.set()

    async def connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        _transport, protocol = await loop.create_connection(lambda: Connection(self), self.host, self.port)
        self.connections.append(protocol)
        return protocol

    def replace(self) -> None:
        async def reopen() -> None:
            try:
                connection = await self.connect()
            except OSError:
                self.tally.statuses[-1] = self.tally.statuses.get(-1, 0) + 1
                self.finished(None)
                return
            if not connection.send_next():
                self.finished(connection)

        self.pending.add(task := asyncio.ensure_future(reopen()))
        task.add_done_callback(self.pending.discard)

    async def run(self, warmup: float, duration: float, server_pid: int) -> Measurement:
        self.idle = asyncio.Event()
        connections = [await self.connect() for _ in range(self.concurrency)]
        self.active = len(connections)
        for connection in connections:
            if not connection.send_next():
                self.finished(connection)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), warmup)
        self.measuring = True
        start_count, start_time = self.tally.completed, time.perf_counter()
        start_cpu, start_client = process_cpu_seconds(server_pid), time.process_time()
        exhausted = False
        try:
            await asyncio.wait_for(self.idle.wait(), duration)
            exhausted = True
        except TimeoutError:
            pass
        end_count, end_time = self.tally.completed, time.perf_counter()
        end_cpu, end_client = process_cpu_seconds(server_pid), time.process_time()
        self.measuring = False
        self.sending = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), 30)
        await asyncio.gather(*self.pending, return_exceptions=True)
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.close()
        await asyncio.gather(*(c.closed for c in self.connections))
        elapsed = end_time - start_time
        requests = end_count - start_count
        return Measurement(
            rate=requests / elapsed if elapsed > 0 else 0.0,
            requests=requests,
            elapsed=elapsed,
            server_cpu=(end_cpu - start_cpu) / requests if requests else float("nan"),
            client_cpu=(end_client - start_client) / elapsed if elapsed > 0 else float("nan"),
            latencies=sorted(self.tally.latencies),
            tally=self.tally,
            exhausted=exhausted,
        )


@dataclass
class Measurement:
    rate: float
    requests: int
    elapsed: float
    server_cpu: float  # server CPU seconds per request
    client_cpu: float  # load generator CPU seconds per second
    latencies: list[float]
    tally: Tally
    exhausted: bool

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(p * len(self.latencies)))]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.tally.statuses.items() if status != 200) + self.tally.invalid


# --- scenarios --------------------------------------------------------------------------------
@dataclass
class Scenario:
    key: str
    label: str
    peer: Peer
    build: Callable[[int], tuple[RequestSource, Validator]]  # number of requests wanted
    operation: str  # the row of the ratio table
    dataset: str  # "bare", "moto", "small", "pool", "large"
    prepare: Callable[[], None] = lambda: None
    results: list[Measurement] = field(default_factory=list)
    estimate: float = 6000.0  # requests/s, to size the next round's batch (first: above any peer's rate)


def spread(ids: Sequence[str], count: int) -> list[str]:
    """``count`` ids spread evenly over ``ids`` (not just the newest rows)."""
    if count >= len(ids):
        return list(ids)
    step = len(ids) / count
    return [ids[int(i * step)] for i in range(count)]


def cenflow_scenarios(peer: CenflowPeer, dataset: str, signer: CbnSigner, pool_size: int) -> list[Scenario]:
    ids = peer.flow_log_ids
    targets = spread(ids, min(len(ids), 4096))
    # Pages of 10, so that both datasets answer a full page: the same response, and the same
    # need for a TotalCount (a short last page needs no count), whatever the table size.
    page_items = min(PAGE_SIZE, len(ids))
    size = f"{peer.count:,}"

    def describe_by_id(n: int) -> tuple[RequestSource, Validator]:
        stamp = now_stamp()
        rng = random.Random(n)
        requests = [
            signer.sign(
                "DescribeFlowlogs",
                {"RegionId": REGION, "CenId": peer.cen_id, "FlowLogId": rng.choice(targets)},
                stamp,
            )
            for _ in range(n)
        ]
        return RequestSource(requests, cycle=False), describe_check(1, 1)

    def first_page(n: int) -> tuple[RequestSource, Validator]:
        stamp = now_stamp()
        params = {"RegionId": REGION, "PageNumber": "1", "PageSize": str(PAGE_SIZE)}
        requests = [signer.sign("DescribeFlowlogs", params, stamp) for _ in range(n)]
        return RequestSource(requests, cycle=False), describe_check(len(ids), page_items)

    pool = spread(ids, min(pool_size, len(ids)))

    def toggles(n: int) -> tuple[RequestSource, Validator]:
        state = peer.statuses(pool)
        stamp = now_stamp()
        requests = []
        for visit in range(n):
            flow_log_id = pool[visit % len(pool)]
            active = (state[flow_log_id] == "Active") != bool((visit // len(pool)) % 2)
            action = "DeactiveFlowLog" if active else "ActiveFlowLog"
            requests.append(signer.sign(action, {"RegionId": REGION, "FlowLogId": flow_log_id}, stamp))
        return RequestSource(requests, cycle=False), SUCCESS_CHECK

    scenarios = []
    if dataset in ("small", "large"):
        scenarios += [
            Scenario(
                f"{dataset}.describe-id",
                f"DescribeFlowlogs by FlowLogId, {size} flow logs",
                peer,
                describe_by_id,
                "DescribeFlowlogs by FlowLogId",
                dataset,
            ),
            Scenario(
                f"{dataset}.describe-page",
                f"DescribeFlowlogs first page of {PAGE_SIZE}, {size} flow logs",
                peer,
                first_page,
                "DescribeFlowlogs first page",
                dataset,
            ),
        ]
    if dataset in ("pool", "large"):
        scenarios.append(
            Scenario(
                f"{dataset}.toggle",
                f"Active/DeactiveFlowLog, pool {len(pool):,} of {size}",
                peer,
                toggles,
                "Active/DeactiveFlowLog",
                "small" if dataset == "pool" else dataset,
                prepare=peer.wait_settled,
            )
        )
    return scenarios


def moto_scenarios(peer: Peer, flow_log_ids: list[str]) -> list[Scenario]:
    def by_id(n: int) -> tuple[RequestSource, Validator]:
        del n
        bodies = [{"FlowLogId.1": fid} for fid in flow_log_ids]
        return RequestSource(sigv4_requests(peer.host, bodies), cycle=True), moto_check(1)

    def everything(n: int) -> tuple[RequestSource, Validator]:
        del n
        return RequestSource(sigv4_requests(peer.host, [{}]), cycle=True), moto_check(len(flow_log_ids))

    count = len(flow_log_ids)
    return [
        Scenario(
            "moto.describe-id", f"moto EC2 DescribeFlowLogs by FlowLogId, {count}", peer, by_id, "moto-id", "moto"
        ),
        Scenario("moto.describe-all", f"moto EC2 DescribeFlowLogs, all {count}", peer, everything, "moto-all", "moto"),
    ]


def bare_scenario(peer: Peer, signer: CbnSigner) -> Scenario:
    def build(n: int) -> tuple[RequestSource, Validator]:
        del n
        stamp = now_stamp()
        # The bytes of a signed DescribeFlowlogs, so the HTTP layer parses the same request.
        requests = [
            signer.sign("DescribeFlowlogs", {"RegionId": REGION, "FlowLogId": "flowlog-x"}, stamp) for _ in range(64)
        ]
        return RequestSource(requests, cycle=True), BARE_CHECK

    return Scenario("bare", "bare Starlette POST / (fixed JSON)", peer, build, "bare", "bare")


def floor_scenarios(peer: Peer, signer: CbnSigner, cen_id: str, flow_log_ids: Sequence[str]) -> list[Scenario]:
    def describe(n: int) -> tuple[RequestSource, Validator]:
        stamp = now_stamp()
        rng = random.Random(n)
        requests = [
            signer.sign(
                "DescribeFlowlogs", {"RegionId": REGION, "CenId": cen_id, "FlowLogId": rng.choice(flow_log_ids)}, stamp
            )
            for _ in range(n)
        ]
        return RequestSource(requests, cycle=False), describe_check(1, 1)

    def toggles(n: int) -> tuple[RequestSource, Validator]:
        stamp = now_stamp()
        requests = [
            signer.sign(
                ("ActiveFlowLog", "DeactiveFlowLog")[(visit // len(flow_log_ids)) % 2],
                {"RegionId": REGION, "FlowLogId": flow_log_ids[visit % len(flow_log_ids)]},
                stamp,
            )
            for visit in range(n)
        ]
        return RequestSource(requests, cycle=False), SUCCESS_CHECK

    what = "least work" if peer.name == "floor" else "memory nonces"
    label = f"{peer.name}: DescribeFlowlogs by id, {what}"
    scenarios = [Scenario(f"{peer.name}.describe-id", label, peer, describe, "DescribeFlowlogs by FlowLogId", "floor")]
    if peer.name == "floor":
        label = f"floor: Active/DeactiveFlowLog, {what}"
        scenarios.append(Scenario("floor.toggle", label, peer, toggles, "Active/DeactiveFlowLog", "floor"))
    return scenarios


# --- the run ----------------------------------------------------------------------------------
def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (as the servers use), for a cheaper load generator."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def measure(scenario: Scenario, args: argparse.Namespace) -> Measurement:
    scenario.prepare()
    wanted = int(scenario.estimate * (args.warmup + args.duration) * 1.4) + args.concurrency * 4
    source, validator = scenario.build(wanted)
    run = Round(HOST, scenario.peer.port, source, validator, args.concurrency)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        result = runner.run(run.run(args.warmup, args.duration, scenario.peer.pid))
    scenario.results.append(result)
    scenario.estimate = max(scenario.estimate * 0.5, result.rate, 200.0)
    return result


def median(values: Sequence[float]) -> float:
    finite = [v for v in values if v == v]
    return statistics.median(finite) if finite else float("nan")


def ratio_rows(scenarios: dict[str, Scenario], rounds: int) -> list[tuple[str, str, list[float]]]:
    """(label, what, per-round ratios) for the ratio table."""

    def per_round(a: str, b: str) -> list[float]:
        if a not in scenarios or b not in scenarios:
            return []
        left, right = scenarios[a].results, scenarios[b].results
        return [left[i].rate / right[i].rate for i in range(min(rounds, len(left), len(right))) if right[i].rate > 0]

    rows = []
    for op, small, large, moto in (
        ("DescribeFlowlogs by FlowLogId", "small.describe-id", "large.describe-id", "moto.describe-id"),
        ("DescribeFlowlogs first page", "small.describe-page", "large.describe-page", "moto.describe-all"),
        ("Active/DeactiveFlowLog", "pool.toggle", "large.toggle", "moto.describe-id"),
    ):
        rows.append((op, "small/moto", per_round(small, moto)))
        rows.append((op, "large/moto", per_round(large, moto)))
        rows.append((op, "small/bare", per_round(small, "bare")))
        rows.append((op, "large/bare", per_round(large, "bare")))
        rows.append((op, "large/small", per_round(large, small)))
    for op, floor, cenflow in (
        ("DescribeFlowlogs by FlowLogId", "floor.describe-id", "small.describe-id"),
        ("Active/DeactiveFlowLog", "floor.toggle", "pool.toggle"),
    ):
        rows.append((op, "floor/bare", per_round(floor, "bare")))
        rows.append((op, "small/floor", per_round(cenflow, floor)))
    rows.append(("Describe by id, memory nonces", "floor/bare", per_round("floor-memory.describe-id", "bare")))
    return rows


TARGETS = {"moto": 10.0, "bare": 0.5, "small": 0.85}
# Not targets: what the floor shows.  Rows with no target print "-".
REFERENCE_ONLY = {"floor/bare", "small/floor"}


def report(scenarios: dict[str, Scenario], args: argparse.Namespace, sizes: dict[str, int], seconds: float) -> None:
    print()
    print(
        f"cenflow control-plane API benchmark: {args.rounds} round(s) x {args.duration:g}s "
        f"(+{args.warmup:g}s warm-up), {args.concurrency} keep-alive connections, signature {args.signature}, "
        f"{os.cpu_count()} CPUs, {seconds:.0f}s in all"
    )
    print(f"datasets: small={sizes['small']:,}  pool={sizes['pool']:,}  large={sizes['large']:,} flow logs")
    print()
    header = (
        f"{'scenario':<52} {'req/s':>8} {'min':>7} {'max':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'srv µs/req':>10} {'gen CPU':>7} {'non-200':>8}"
    )
    print(header)
    print("-" * len(header))
    for scenario in scenarios.values():
        rates = [m.rate for m in scenario.results]
        errors = sum(m.errors for m in scenario.results)
        exhausted = " (batch ran out)" if any(m.exhausted for m in scenario.results) else ""
        print(
            f"{scenario.label:<52} {median(rates):>8.0f} {min(rates):>7.0f} {max(rates):>7.0f} "
            f"{median([m.percentile(0.5) * 1000 for m in scenario.results]):>7.2f} "
            f"{median([m.percentile(0.99) * 1000 for m in scenario.results]):>7.2f} "
            f"{median([m.server_cpu * 1e6 for m in scenario.results]):>10.0f} "
            f"{median([m.client_cpu for m in scenario.results]):>6.0%} "
            f"{errors:>8}{exhausted}"
        )
        for m in scenario.results:
            for sample in m.tally.samples[:1]:
                print(f"    first non-200/invalid body: {sample[:300]!r}  statuses={m.tally.statuses}")
                break
    print()
    print("ratios of requests/s (median of per-round ratios; 'small' is the pool dataset for mutations)")
    print(f"{'operation':<32} {'ratio':<12} {'median':>8} {'min':>7} {'max':>7}  target")
    for op, what, values in ratio_rows(scenarios, args.rounds):
        if not values:
            continue
        if what in REFERENCE_ONLY:
            goal = "-"
        else:
            target = TARGETS[what.split("/")[1]]
            goal = f">= {target:g} " + ("ok" if median(values) >= target else "MISSED")
        print(f"{op:<32} {what:<12} {median(values):>8.2f} {min(values):>7.2f} {max(values):>7.2f}  {goal}")


def run(args: argparse.Namespace) -> None:
    # SIGTERM (a timeout, a CI runner) unwinds like Ctrl-C, so the peers are stopped below.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    started = time.monotonic()
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="cenflow-bench-"))
    peers: list[Peer] = []
    try:
        sizes = {"small": args.small, "pool": args.pool, "large": args.large}
        cenflow_peers: dict[str, CenflowPeer] = {}
        for dataset, count in sizes.items():
            t0 = time.monotonic()
            ids = seed_cenflow(workdir / dataset, count, rng)
            print(f"seeded {count:,} flow logs for '{dataset}' in {time.monotonic() - t0:.1f}s", flush=True)
            cenflow_peers[dataset] = CenflowPeer(
                f"cenflow-{dataset}", workdir, workdir / dataset, count, ids, args.with_collector
            )
        # The floor reads a copy of the small dataset's database, taken before cenflow opens it.
        floors = []
        for durable in (True, False):
            copy = workdir / f"floor-{'durable' if durable else 'memory'}.db"
            shutil.copyfile(workdir / "small" / "cenflow.db", copy)
            floors.append(floor_peer(workdir, copy, durable=durable))
        moto, bare = moto_peer(workdir), bare_peer(workdir)
        peers = [bare, *floors, moto, *cenflow_peers.values()]
        for peer in peers:
            peer.start()
        for cenflow_peer in cenflow_peers.values():
            cenflow_peer.load_cen_id()
        moto_ids = seed_moto(moto, args.small)
        print(f"peers up: {', '.join(f'{p.name}={p.host} (pid {p.pid})' for p in peers)}", flush=True)

        signers: dict[str, CbnSigner] = {}
        scenario_list = [bare_scenario(bare, CbnSigner(cenflow_peers["small"].host, args.signature))]
        small = cenflow_peers["small"]
        for floor in floors:
            floor_signer = CbnSigner(small.host, args.signature)
            scenario_list += floor_scenarios(floor, floor_signer, small.cen_id, small.flow_log_ids)
        scenario_list += moto_scenarios(moto, moto_ids)
        for dataset, cenflow_peer in cenflow_peers.items():
            signers[dataset] = CbnSigner(cenflow_peer.host, args.signature)
            scenario_list += cenflow_scenarios(cenflow_peer, dataset, signers[dataset], args.pool)
        if args.only:
            scenario_list = [s for s in scenario_list if any(part in s.key for part in args.only.split(","))]
        scenarios = {s.key: s for s in scenario_list}

        # Warm every server (imports, caches, SQLite pages) before the first timed round.
        warm = argparse.Namespace(**{**vars(args), "warmup": 0.2, "duration": min(1.0, args.duration)})
        for scenario in scenario_list:
            measure(scenario, warm)
            scenario.results.clear()
        for index in range(args.rounds):
            order = list(scenario_list)
            rng.shuffle(order)
            for scenario in order:
                result = measure(scenario, args)
                print(
                    f"round {index + 1}/{args.rounds} {scenario.key:<22} {result.rate:>8.0f} req/s"
                    f"  non-200={result.errors}",
                    flush=True,
                )
        report(scenarios, args, sizes, time.monotonic() - started)
    finally:
        for peer in peers:
            peer.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short smoke run: 1 round of 1s, large=5,000")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every scenario (default 5)")
    parser.add_argument("--duration", type=float, default=None, help="timed seconds per scenario and round (default 5)")
    parser.add_argument("--warmup", type=float, default=None, help="untimed seconds before each (default 1)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="keep-alive connections, one request in flight each"
    )
    parser.add_argument("--signature", choices=("v3", "v1"), default="v3", help="Cbn signature scheme (default v3)")
    parser.add_argument("--small", type=int, default=10, help="flow logs of the small dataset")
    parser.add_argument("--large", type=int, default=None, help="flow logs of the large dataset (default 100,000)")
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        help="flow logs the mutations cycle through; also the size of the small dataset for mutations (default 4,000)",
    )
    parser.add_argument(
        "--with-collector",
        action="store_true",
        help="run cenflow serve with its in-process NetFlow collector (on a free UDP port) instead of --no-collector",
    )
    parser.add_argument("--only", default="", help="comma-separated substrings of scenario keys to run")
    parser.add_argument("--seed", type=int, default=20170912)
    parser.add_argument("--keep", action="store_true", help="keep the data directories and server logs")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--floor-db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (1 if quick else 5)
    args.duration = args.duration or (1.0 if quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if quick else 1.0)
    args.large = args.large or (5_000 if quick else 100_000)
    args.pool = args.pool or (1_000 if quick else 4_000)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if args.serve_floor:
        from api_floor import floor_app  # bench/ is sys.path[0] when this file runs as a script

        app = floor_app(args.floor_db, ACCESS_KEY_ID, ACCESS_KEY_SECRET, ACCOUNT_ID, durable=not args.floor_memory)
        serve_like_cenflow(app, args.serve_floor)
        return
    run(args)


if __name__ == "__main__":
    main()
