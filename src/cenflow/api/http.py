"""The ASGI side of the RPC endpoint: HTTP request in, Alibaba JSON response out.

Everything that can go wrong with a request becomes an Alibaba error envelope.  An unexpected
exception is logged with its traceback here, and the caller sees only ``InternalError`` and the
request id to quote.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from cenflow.api.batching import CallRunner
from cenflow.api.gateway import CallOutcome, Gateway
from cenflow.errors import ApiError
from cenflow.observability import API_LATENCY, API_REQUESTS
from cenflow.wire import errors as e
from cenflow.wire.params import parse_form
from cenflow.wire.request import WireRequest

log = logging.getLogger("cenflow.api")

MAX_BODY_BYTES = 1 << 20
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
_JSON_CONTENT_TYPE = JSON_CONTENT_TYPE.encode()
DEFAULT_HOST_ID = "cbn.aliyuncs.com"


def new_request_id() -> str:
    """Alibaba's shape: 32 upper-case hex digits in UUID groups (a third of ``uuid4``'s CPU)."""
    digits = os.urandom(16).hex().upper()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class RpcEndpoint:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.calls = CallRunner(gateway)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as a bare ASGI app (``app.RpcFirst`` routes ``GET``/``POST /`` here
        directly; Starlette's router, the other methods of ``/``).

        It reads the body and writes the response with plain ASGI messages: Starlette's request
        and response objects cost more CPU than the rest of the HTTP handling (bench/api.py)."""
        started = time.perf_counter()
        request_id = new_request_id()
        try:
            body = await receive_body(scope, receive)
        except ApiError as error:
            status, payload = self._error(error, request_id, None, started)
        except _Disconnected:
            return  # nobody to answer
        else:
            status, payload = await self._answer(scope, body, request_id, started)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", _JSON_CONTENT_TYPE), (b"content-length", b"%d" % len(payload))],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _answer(self, scope: Scope, body: bytes, request_id: str, started: float) -> tuple[int, bytes]:
        outcome: CallOutcome | None = None
        wire: WireRequest | None = None
        try:
            wire = wire_request(scope, body)
            outcome = await self.calls.call(wire, request_id)
        except ApiError as error:
            return self._error(error, request_id, wire, started)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            return self._error(e.INTERNAL_ERROR(), request_id, wire, started)
        self._log(
            wire,
            outcome.operation.product.name,
            "200",
            200,
            request_id,
            started,
            outcome.caller.access_key_id,
        )
        return 200, _dumps(outcome.body)

    async def read(self, request: Request) -> WireRequest:
        """The request as the protocol sees it (for the other authenticated HTTP APIs)."""
        try:
            body = await receive_body(request.scope, request.receive)
        except _Disconnected as exc:
            raise ClientDisconnect() from exc
        return wire_request(request.scope, body)

    def render_error(self, error: ApiError) -> Response:
        status, payload = self._error(error, new_request_id(), None, time.perf_counter())
        return Response(payload, status, media_type=JSON_CONTENT_TYPE)

    def method_not_allowed(self, request: Request) -> Response:
        """The envelope for an HTTP method the RPC endpoint does not serve (routing refused it)."""
        return self.render_error(e.METHOD_NOT_ALLOWED(method=request.method[:16]))

    def _error(self, error: ApiError, request_id: str, wire: WireRequest | None, started: float) -> tuple[int, bytes]:
        product = self.gateway.registry.product_for(_safe_version(wire)) if wire else None
        host_id = product.host_id if product else DEFAULT_HOST_ID
        product_name = product.name if product else "Cbn"
        body: dict[str, Any] = {
            "RequestId": request_id,
            "HostId": host_id,
            "Code": error.code,
            "Message": error.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product={product_name}&requestId={request_id}",
            **error.extra,
        }
        self._log(wire, product_name, error.code, error.status, request_id, started, None, error.message)
        return error.status, _dumps(body)

    def _log(
        self,
        wire: WireRequest | None,
        product: str,
        code: str,
        status: int,
        request_id: str,
        started: float,
        access_key_id: str | None,
        message: str | None = None,
    ) -> None:
        elapsed = time.perf_counter() - started
        action = _safe_action(wire) or "-"
        # Only registered actions become label values: callers must not be able to grow the
        # metric's cardinality by inventing actions or codes.
        known = wire is not None and (_safe_version(wire), action) in self.gateway.registry.operations
        _requests_counter(product, action if known else "-", code).inc()
        _latency_histogram(product).observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            fields: dict[str, Any] = {
                "request_id": request_id,
                "product": product,
                "action": action[:128],
                "status": status,
                "code": code,
                "duration_ms": round(elapsed * 1000, 3),
                "source_ip": wire.source_ip if wire else None,
            }
            if access_key_id:
                fields["access_key_id"] = access_key_id
            if message and status >= 400:
                fields["error"] = message[:300]
            log.info("rpc", extra=fields)


# The labelled children, looked up once: ``labels()`` takes a lock and builds a key every call.
# Both caches are bounded by the label values ``_log`` lets through (registered actions, codes).
@functools.cache
def _requests_counter(product: str, action: str, code: str) -> Counter:
    return API_REQUESTS.labels(product, action, code)


@functools.cache
def _latency_histogram(product: str) -> Histogram:
    return API_LATENCY.labels(product)


def _safe_version(wire: WireRequest) -> str | None:
    try:
        return wire.version
    except ApiError:
        return wire.headers.get("x-acs-version")


def _safe_action(wire: WireRequest | None) -> str | None:
    if wire is None:
        return None
    try:
        return wire.action
    except ApiError:
        return wire.headers.get("x-acs-action")


class _Disconnected(Exception):
    """The client went away before its request body arrived."""


async def receive_body(scope: Scope, receive: Receive) -> bytes:
    """The whole request body, refused past ``MAX_BODY_BYTES`` (declared or actual)."""
    method = scope["method"]
    if method not in ("GET", "POST"):
        raise e.METHOD_NOT_ALLOWED(method=method[:16])
    for name, value in scope["headers"]:
        if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY_BYTES):
            raise e.REQUEST_TOO_LARGE(limit=MAX_BODY_BYTES)
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected()
        chunk = message.get("body", b"")
        if chunk:
            body = chunk if not body else body + chunk
            if len(body) > MAX_BODY_BYTES:
                raise e.REQUEST_TOO_LARGE(limit=MAX_BODY_BYTES)
        if not message.get("more_body", False):
            return body


def wire_request(scope: Scope, body: bytes) -> WireRequest:
    """The request as the protocol sees it: parameters decoded, header names lower-cased."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    form: dict[str, str] = {}
    if body:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            form = parse_form(body, where="request body")
        elif content_type not in ("", "application/octet-stream"):
            raise e.UNSUPPORTED_MEDIA(content_type=content_type[:64])
    client = scope.get("client")
    return WireRequest(
        method=scope["method"],
        path=scope.get("raw_path", b"/").decode("latin-1").split("?")[0] or "/",
        query=parse_form(scope.get("query_string", b""), where="query string"),
        form=form,
        headers=headers,
        body=body,
        source_ip=client[0] if client else "",
        # The scope's scheme, not a URL object: building one cost more than the rest of reading
        # the request (uvicorn's proxy-headers support sets it from X-Forwarded-Proto for
        # trusted proxies).
        secure=scope.get("scheme") == "https",
    )


def _dumps(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as Alibaba sends it.

    orjson takes about 0.4 µs for a DescribeFlowlogs answer, the json module 6 µs."""
    return orjson.dumps(body)
