"""End-to-end harness: the real ``cenflow serve`` in a subprocess, and the official SDKs against it.

``CenflowServer`` starts the server on a free loopback port with a temporary data directory and a
known root AccessKey, waits for ``GET /healthz`` (polling with a deadline), captures its stderr
log to a file, and stops it with SIGTERM (asserting a clean exit).  It can restart on the same
data directory, be SIGKILLed, and take extra CLI flags and environment variables.

``SdkClient`` hides the three SDK stacks of the protocol reference behind one small interface so
that a test can run across all of them; ``api_error``/``sdk_failure`` turn each stack's exception
into an ``ApiFailure`` (code, HTTP status, message, request id).  ``SdkClient.signing`` pins the
timestamp and nonce the SDK signs (stale requests, exact replays).

``sign_rpc_v1``/``sign_v3``/``encode_query`` build raw signed requests for what no SDK sends.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import httpx

CBN_VERSION = "2017-09-12"
HOST = "127.0.0.1"

# The root key every harness server is started with (unless a test asks for a generated one).
ROOT_ACCESS_KEY_ID = "LTAI5tHarnessRootKey0001"
ROOT_ACCESS_KEY_SECRET = "HarnessRootSecret0123456789abc"

# The SDK stacks of docs/reference: A with its default V3 signature, A with RPC v1, and C.
STACK_A_V3 = "stackA-v3"
STACK_A_V2 = "stackA-v2"
STACK_C = "stackC"
STACKS = (STACK_A_V3, STACK_A_V2, STACK_C)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
# What uvicorn logs once the application's lifespan shutdown finished and the process is ending.
SHUTDOWN_MARKERS = ("Application shutdown complete.", "Finished server process")


class ServerError(AssertionError):
    """The server did not start, or did not stop cleanly; the message ends with its log."""


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A TCP (or, with ``SOCK_DGRAM``, UDP) port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def utc_timestamp(when: datetime | None = None) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``, the format both signatures carry."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base_environment() -> dict[str, str]:
    # A developer's own CENFLOW_* settings must not leak into the server under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENFLOW_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["CENFLOW_LOG_FORMAT"] = "json"
    env["CENFLOW_LOG_LEVEL"] = "INFO"
    return env


@dataclass
class CenflowServer:
    """One ``cenflow serve`` process (and its successors after restarts) on one data directory.

    ``access_key_id``/``access_key_secret`` are passed as ``CENFLOW_ROOT_ACCESS_KEY_*``; give
    ``None`` for both to let the server generate a key into ``DATA_DIR/credentials`` (the harness
    then reads it from there).  ``args`` are extra ``serve`` flags, ``env`` extra variables.
    """

    data_dir: Path
    log_path: Path
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    access_key_id: str | None = ROOT_ACCESS_KEY_ID
    access_key_secret: str | None = ROOT_ACCESS_KEY_SECRET
    port: int = 0
    # The UDP port of the in-process NetFlow/IPFIX collector (CENFLOW_FLOW_PORT); 0: pick a free one.
    flow_port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    starts: int = field(default=0, init=False)
    _log_offset: int = field(default=0, init=False, repr=False)

    @classmethod
    def in_directory(cls, base: Path, **options: Any) -> CenflowServer:
        """A server (not started) with ``base/data`` as data directory and ``base/server.log``;
        ``options`` are the other fields (``args=[...]``, ``env={...}``, ...)."""
        return cls(data_dir=base / "data", log_path=base / "server.log", **options)

    def __enter__(self) -> CenflowServer:
        return self if self.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- addresses ----------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT``: what the SDKs take (no scheme) and sign as the host."""
        return f"{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None, "server not started"
        return self.process.pid

    # -- lifecycle ----------------------------------------------------------------------------
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "cenflow.cli.main",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]

    def environment(self) -> dict[str, str]:
        env = _base_environment()
        env["CENFLOW_FLOW_PORT"] = str(self.flow_port)  # the default (2055) would clash between servers
        if self.access_key_id is not None and self.access_key_secret is not None:
            env["CENFLOW_ROOT_ACCESS_KEY_ID"] = self.access_key_id
            env["CENFLOW_ROOT_ACCESS_KEY_SECRET"] = self.access_key_secret
        env.update(self.env)
        return env

    def start(self, timeout: float = START_TIMEOUT) -> CenflowServer:
        """Start the process and return once ``/healthz`` answers 200."""
        assert not self.running, "server already running"
        pick_port, pick_flow_port = self.port == 0, self.flow_port == 0
        for _attempt in range(5):
            if pick_port:
                self.port = free_port()
            if pick_flow_port:
                self.flow_port = free_port(socket.SOCK_DGRAM)
            if self._spawn_and_wait(timeout):
                break
            # Lost the race for a port to another process: try others.
            if not (pick_port or pick_flow_port):
                raise ServerError(f"port {self.port} is taken\n{self.log_tail()}")
        else:
            raise ServerError(f"could not find a free port\n{self.log_tail()}")
        if self.access_key_id is None:
            creds = self.credentials()
            self.access_key_id = creds["access_key_id"]
            self.access_key_secret = creds["access_key_secret"]
        return self

    def _spawn_and_wait(self, timeout: float) -> bool:
        """``False`` when the port was already in use; raises if the server fails otherwise."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.environment(),
                start_new_session=True,  # a Ctrl-C in the test terminal is not the server's
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    if "address already in use" in self.current_log().lower():
                        self.process = None
                        return False
                    raise ServerError(f"server exited with {self.process.returncode} at start\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if http.get(f"{self.base_url}/healthz").status_code == 200:
                        return True
                time.sleep(0.05)  # poll interval, not synchronisation: the loop checks a deadline
        self._terminate(signal.SIGKILL)
        raise ServerError(f"server not healthy within {timeout}s\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait, and assert a clean exit; returns the exit status.

        Clean means: the application's shutdown ran to completion, and the process ended with
        status 0 or by the SIGTERM itself.  (uvicorn re-raises a captured SIGTERM once its
        graceful shutdown is done, so a clean stop shows as -15, i.e. 143 in a shell.)
        """
        code = self._terminate(signal.SIGTERM, timeout)
        log = self.current_log()
        if code not in (0, -signal.SIGTERM) or not all(marker in log for marker in SHUTDOWN_MARKERS):
            raise ServerError(f"server did not stop cleanly (exit status {code})\n{self.log_tail()}")
        return code

    def kill(self) -> int:
        """SIGKILL (a crash): no shutdown code runs.  Returns the (negative) exit status."""
        return self._terminate(signal.SIGKILL)

    def _terminate(self, sig: signal.Signals, timeout: float = STOP_TIMEOUT) -> int:
        process = self.process
        assert process is not None, "server not started"
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise ServerError(f"server did not exit within {timeout}s of {sig.name}\n{self.log_tail()}") from None
        return int(process.returncode)

    def restart(
        self,
        *,
        kill: bool = False,
        args: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CenflowServer:
        """Stop (SIGTERM, or SIGKILL with ``kill``) and start again on the same data directory and
        port; ``args``/``env`` replace the extra flags and variables for the new process."""
        if self.running:
            if kill:
                self.kill()
            else:
                self.stop()
        if args is not None:
            self.args = tuple(args)
        if env is not None:
            self.env = dict(env)
        return self.start()

    def close(self) -> None:
        """Teardown: stop cleanly if still running (asserting a clean exit)."""
        if self.running:
            self.stop()

    # -- the log ------------------------------------------------------------------------------
    def log_text(self) -> str:
        """Everything every process of this server wrote to stderr/stdout so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def current_log(self) -> str:
        """What the current (latest) process wrote."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as handle:
            handle.seek(self._log_offset)
            return handle.read().decode("utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines (the harness starts the server with ``CENFLOW_LOG_FORMAT=json``)."""
        records = []
        for line in self.log_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    records.append(record)
        return records

    def wait_for_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first log record matching ``predicate``, polling the file until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.log_records():
                if predicate(record):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching log record within {timeout}s\n{self.log_tail()}")
            time.sleep(0.05)

    def request_log(self, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The ``rpc`` access-log record of one request."""
        return self.wait_for_log(lambda r: r.get("event") == "rpc" and r.get("request_id") == request_id, timeout)

    def assert_no_errors(self) -> None:
        """A server that logged an error (an unhandled exception, a failed background job) has a bug."""
        errors = [r for r in self.log_records() if r.get("level") in ("error", "critical")]
        assert not errors, f"the server logged errors: {errors[:3]}"

    # -- state --------------------------------------------------------------------------------
    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials"

    def credentials(self) -> dict[str, str]:
        """``DATA_DIR/credentials`` (written when the server generated its root key)."""
        values: dict[str, str] = {}
        for line in self.credentials_path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip()
        return values

    # -- clients ------------------------------------------------------------------------------
    def http(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on the server's base URL (close it, or use it as a context manager)."""
        kwargs.setdefault("timeout", 15.0)
        return httpx.Client(base_url=self.base_url, **kwargs)

    def client(
        self,
        stack: str,
        *,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
    ) -> SdkClient:
        """An official SDK client of ``stack`` (one of ``STACKS``) pointed at this server."""
        key_id = access_key_id if access_key_id is not None else self.access_key_id
        secret = access_key_secret if access_key_secret is not None else self.access_key_secret
        assert key_id is not None, "no root key known"
        assert secret is not None, "no root key known"
        return SdkClient(stack, self.endpoint, key_id, secret)


# -- the SDK stacks ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiFailure:
    """An API error as any SDK reports it."""

    code: str
    status: int
    message: str
    request_id: str | None
    # The error body when the SDK keeps it (stack A does; stack C keeps only code and message).
    body: dict[str, Any] | None = None
    # What the SDK raised (stack A: ClientException/ServerException; stack C: ServerException).
    exception: BaseException | None = field(default=None, repr=False, compare=False)


def sdk_failure(exc: BaseException) -> ApiFailure:
    """Normalise an exception of any stack; re-raises what is not a server-reported error."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from aliyunsdkcore.acs_exception.exceptions import ServerException as StackCServerException

    if isinstance(exc, AlibabaCloudException):
        data = dict(exc.data or {})
        return ApiFailure(
            code=str(exc.code),
            status=int(exc.status_code),
            message=str(data.get("Message", exc.message)),
            request_id=exc.request_id,
            body={k: v for k, v in data.items() if k != "statusCode"},
            exception=exc,
        )
    if isinstance(exc, StackCServerException):
        return ApiFailure(
            code=exc.get_error_code(),
            status=int(exc.get_http_status()),
            message=exc.get_error_msg(),
            request_id=exc.get_request_id(),
            exception=exc,
        )
    raise exc


def api_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> ApiFailure:
    """Run an SDK call that must fail with an API error, and return that error normalised."""
    try:
        result = call(*args, **kwargs)
    except Exception as exc:
        return sdk_failure(exc)
    raise AssertionError(f"expected an API error, got a success: {result!r}")


class SdkClient:
    """One SDK client, the same small interface for every stack.

    ``sdk`` is the underlying client (``alibabacloud_cbn20170912.client.Client`` or
    ``aliyunsdkcore.client.AcsClient``) for anything the interface does not cover.
    """

    def __init__(self, stack: str, endpoint: str, access_key_id: str, access_key_secret: str) -> None:
        if stack not in STACKS:
            raise ValueError(f"unknown SDK stack {stack!r}")
        self.stack = stack
        self.endpoint = endpoint
        self.access_key_id = access_key_id
        self.sdk: Any
        if stack == STACK_C:
            from aliyunsdkcore.client import AcsClient

            self.sdk = AcsClient(access_key_id, access_key_secret, "cn-hangzhou", timeout=15, connect_timeout=5)
        else:
            from alibabacloud_cbn20170912.client import Client
            from alibabacloud_tea_openapi.utils_models import Config

            config = Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                endpoint=endpoint,
                protocol="http",
                read_timeout=15_000,
            )
            if stack == STACK_A_V2:
                config.signature_algorithm = "v2"
            self.sdk = Client(config)

    def __repr__(self) -> str:
        return f"SdkClient({self.stack}, {self.endpoint}, {self.access_key_id})"

    @property
    def is_stack_c(self) -> bool:
        return self.stack == STACK_C

    # -- typed operations (the generated request classes) ---------------------------------------
    def describe_child_instance_regions(
        self, *, product_type: str | None = None, accept_language: str | None = None
    ) -> dict[str, Any]:
        if self.is_stack_c:
            from aliyunsdkcbn.request.v20170912.DescribeChildInstanceRegionsRequest import (
                DescribeChildInstanceRegionsRequest,
            )

            request = DescribeChildInstanceRegionsRequest()
            if product_type is not None:
                request.set_ProductType(product_type)
            if accept_language is not None:
                request.set_AcceptLanguage(accept_language)
            return self._do_stack_c(request)
        from alibabacloud_cbn20170912 import models

        response = self.sdk.describe_child_instance_regions(
            models.DescribeChildInstanceRegionsRequest(product_type=product_type, accept_language=accept_language)
        )
        body: dict[str, Any] = response.body.to_map()
        return body

    def invoke(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Call ``action`` through the SDK's generated request class and client method.

        ``params`` use the API's names (``{"FlowLogId": "...", "Tag": [{"Key": "k", "Value": "v"}],
        "ResourceId": ["a"]}``): stack A builds its model with ``from_map`` and calls the
        snake_case method; stack C calls the request's ``set_<Name>`` (or plural ``set_<Name>s``
        for repeat lists) setters, and ``add_query_param`` for a scalar without a setter
        (``RegionId``: without it stack C sends its client region, ``cn-hangzhou``).
        """
        params = dict(params or {})
        if self.is_stack_c:
            module = importlib.import_module(f"aliyunsdkcbn.request.v20170912.{action}Request")
            request = getattr(module, f"{action}Request")()
            for name, value in params.items():
                setter = getattr(request, f"set_{name}", None) or getattr(request, f"set_{name}s", None)
                if setter is not None:
                    setter(value)
                elif isinstance(value, str | int | bool):
                    # No request class has set_RegionId: the reference's way is a query param.
                    request.add_query_param(name, str(value))
                else:
                    raise AttributeError(f"stack C's {action}Request has no setter for {name}")
            return self._do_stack_c(request)
        from alibabacloud_cbn20170912 import models

        model = getattr(models, f"{action}Request")().from_map(params)
        response = getattr(self.sdk, _snake_case(action))(model)
        body: dict[str, Any] = response.body.to_map()
        return body

    # -- any action (CommonRequest / call_api) --------------------------------------------------
    def call(
        self,
        action: str,
        params: Mapping[str, str] | None = None,
        *,
        version: str = CBN_VERSION,
    ) -> dict[str, Any]:
        """Call ``action`` with flat query parameters the way each SDK's generic API does."""
        params = dict(params or {})
        if self.is_stack_c:
            from aliyunsdkcore.request import CommonRequest

            request = CommonRequest(domain=self.endpoint, version=version, action_name=action, product="Cbn")
            request.set_method("POST")
            request.set_protocol_type("http")
            for name, value in params.items():
                request.add_query_param(name, value)
            return self._do_stack_c(request)
        from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
        from darabonba.runtime import RuntimeOptions

        api = Params(
            action=action,
            version=version,
            protocol="HTTP",
            pathname="/",
            method="POST",
            auth_type="AK",
            style="RPC",
            req_body_type="formData",
            body_type="json",
        )
        result = self.sdk.call_api(api, OpenApiRequest(query=params), RuntimeOptions())
        body: dict[str, Any] = result["body"]
        return body

    def _do_stack_c(self, request: Any) -> dict[str, Any]:
        request.set_endpoint(self.endpoint)
        raw = self.sdk.do_action_with_exception(request)
        body: dict[str, Any] = json.loads(raw)
        return body

    # -- controlling what the SDK signs ---------------------------------------------------------
    @contextlib.contextmanager
    def signing(self, *, timestamp: str | None = None, nonce: str | None = None) -> Iterator[None]:
        """Pin the timestamp and/or nonce this stack's signer puts in requests.

        With both pinned the SDK sends byte-identical signed requests (same query, headers and
        signature), which is what a replay is.
        """
        patches: list[Any] = []
        if self.is_stack_c:
            from aliyunsdkcore.utils import parameter_helper

            if timestamp is not None:
                patches.append(mock.patch.object(parameter_helper, "get_iso_8061_date", return_value=timestamp))
            if nonce is not None:
                patches.append(mock.patch.object(parameter_helper, "get_uuid", return_value=nonce))
        else:
            from alibabacloud_tea_openapi.utils import Utils

            if timestamp is not None:
                patches.append(mock.patch.object(Utils, "get_timestamp", return_value=timestamp))
            if nonce is not None:
                patches.append(mock.patch.object(Utils, "get_nonce", return_value=nonce))
        with contextlib.ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            yield


# -- raw signed requests (for what no SDK sends: fuzzing, hand-made edge cases) -----------------
def encode_query(params: Mapping[str, str]) -> str:
    """RFC 3986 percent-encoding of every key and value, as stack C puts them on the wire."""
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in params.items())


def sign_rpc_v1(
    params: Mapping[str, str],
    *,
    access_key_id: str,
    access_key_secret: str,
    action: str | None = None,
    version: str | None = CBN_VERSION,
    method: str = "POST",
    timestamp: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """``params`` plus the RPC v1 common parameters and ``Signature`` (computed with cenflow's
    own signer, which the unit tests check against the SDKs')."""
    from cenflow.wire.signing import rpc_signature, rpc_string_to_sign

    signed: dict[str, str] = {}
    if action is not None:
        signed["Action"] = action
    if version is not None:
        signed["Version"] = version
    signed.update(
        {
            "Format": "JSON",
            "Timestamp": timestamp or utc_timestamp(),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "AccessKeyId": access_key_id,
        }
    )
    signed.update(params)
    signed["Signature"] = rpc_signature(access_key_secret, rpc_string_to_sign(method, signed))
    return signed


def sign_v3(
    query: Mapping[str, str],
    *,
    host: str,
    access_key_id: str,
    access_key_secret: str,
    action: str,
    version: str = CBN_VERSION,
    method: str = "POST",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers of a V3 (ACS3-HMAC-SHA256) request, ``Authorization`` included; every header
    given or generated is signed, as stack A does."""
    from cenflow.wire.signing import V3_ALGORITHM, v3_canonical_request, v3_signature, v3_string_to_sign

    payload = hashlib.sha256(body).hexdigest()
    signed = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": timestamp or utc_timestamp(),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": payload,
        "accept": "application/json",
    }
    signed.update({k.lower(): v for k, v in (headers or {}).items()})
    names = tuple(sorted(signed))
    canonical = v3_canonical_request(method, "/", dict(query), signed, names, payload)
    signature = v3_signature(access_key_secret, v3_string_to_sign(canonical))
    signed["authorization"] = (
        f"{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return signed


def _snake_case(action: str) -> str:
    """``ActiveFlowLog`` -> ``active_flow_log``: stack A's method names."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


@contextlib.contextmanager
def checked_server(base: Path, *args: str) -> Iterator[CenflowServer]:
    """A started server in ``base`` (extra ``serve`` flags ``args``) shared by a module's or the
    session's tests; on exit it stops cleanly and fails the tests if it logged an error."""
    with CenflowServer.in_directory(base, args=list(args)) as server:
        yield server
    server.assert_no_errors()
