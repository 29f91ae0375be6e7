"""``GET /api/projects/{project}/logstores/{logstore}/records``: flow-log records as JSON lines.

Callers authenticate like RPC callers (an ACS3-HMAC-SHA256 signature over this path, with
nonce and timestamp) or, for curl and scripts on a trusted network, with HTTP Basic
``AccessKeyId:AccessKeySecret``.  The call is authorised as the RAM action
``log:GetLogStoreLogs`` on ``acs:log:*:{account}:project/{project}/logstore/{logstore}``.

Query parameters: ``from`` and ``to`` (Unix seconds or ISO-8601; windows starting in
``[from, to)``), ``where`` (a SQL boolean expression over the CEN fields, e.g.
``"direction" = 'in' AND dstport = 443``), ``limit``.  Errors use Alibaba's JSON envelope.

Beside it, ``.../top`` (top talkers by ``srcaddr``, ``dstaddr`` or ``pair``, by ``bytes`` or
``packets``) and ``.../traffic`` (bytes, packets and flows per ``bucket`` seconds) answer the
console's questions as JSON, under the same authentication and authorisation.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TypeVar

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from cenflow.api.http import RpcEndpoint, new_request_id
from cenflow.errors import ApiError, ErrorSpec
from cenflow.iam.enforcer import Enforcer, now_context
from cenflow.iam.principal import Principal
from cenflow.logstore import METRICS, TALKER_KEYS, LogStore, LogstoreError
from cenflow.logstore.errors import InvalidName, QueryError
from cenflow.wire import errors as e
from cenflow.wire.auth import Authenticator, KeyResolver
from cenflow.wire.request import WireRequest

ACTION = "log:GetLogStoreLogs"
LOGSTORE_NOT_FOUND = ErrorSpec("LogStoreNotExist", "logstore {logstore} does not exist in project {project}", 404)
INVALID_QUERY = ErrorSpec("InvalidParameter", "{detail}")
WRONG_SECRET = ErrorSpec(
    "InvalidAccessKeySecret",
    "The AccessKeySecret is incorrect. Please check your AccessKeyId and AccessKeySecret.",
    401,
)
NOT_FOUND = ErrorSpec("NotFound", "No API at {path}.", 404)
UNAUTHENTICATED = ErrorSpec(
    "Unauthorized", "Sign the request (ACS3-HMAC-SHA256) or use HTTP Basic with an AccessKey.", 401
)


Choice = TypeVar("Choice", bound=str)


def _choice(value: str, allowed: tuple[Choice, ...], name: str) -> Choice:
    for option in allowed:
        if value == option:
            return option
    raise INVALID_QUERY(detail=f'"{name}" must be one of {", ".join(allowed)}.')


def _positive(value: str, name: str) -> int:
    if not (value.isdigit() and 0 < int(value) <= 1_000_000):
        raise INVALID_QUERY(detail=f'"{name}" must be a positive integer.')
    return int(value)


def parse_time(value: str, name: str) -> int:
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise INVALID_QUERY(detail=f'"{name}" must be Unix seconds or ISO-8601, not "{text[:40]}".') from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


class RecordsEndpoint:
    def __init__(
        self,
        rpc: RpcEndpoint,
        authenticator: Authenticator,
        keys: KeyResolver,
        enforcer: Enforcer,
        logstore: LogStore,
    ) -> None:
        self.rpc = rpc
        self.authenticator = authenticator
        self.keys = keys
        self.enforcer = enforcer
        self.logstore = logstore
        self.database = rpc.gateway.services.database

    async def _admit(self, request: Request) -> tuple[str, str, int | None, int | None]:
        """Authenticate, authorise, and read the common parameters; raises ``ApiError``."""
        project = request.path_params["project"]
        logstore = request.path_params["logstore"]
        wire = await self.rpc.read(request)
        principal = await run_in_threadpool(self._authenticate, wire)
        await run_in_threadpool(self._authorize, principal, wire, project, logstore)
        params = request.query_params
        from_ts = parse_time(params["from"], "from") if params.get("from") else None
        to_ts = parse_time(params["to"], "to") if params.get("to") else None
        if not self.logstore.exists(project, logstore):
            raise LOGSTORE_NOT_FOUND(project=project[:63], logstore=logstore[:63])
        return project, logstore, from_ts, to_ts

    async def analytics(self, request: Request) -> Response:
        """``.../top?by=srcaddr|dstaddr|pair&metric=bytes|packets&limit=`` and
        ``.../traffic?bucket=<seconds>``: JSON ``{"rows": [...]}``."""
        kind = request.path_params["kind"]
        params = request.query_params
        if kind not in ("top", "traffic"):
            return self.rpc.render_error(NOT_FOUND(path=request.url.path[:200]))
        try:
            project, logstore, from_ts, to_ts = await self._admit(request)
            where = params.get("where") or None
            if kind == "top":
                limit = _positive(params.get("limit", "10"), "limit")
                by = _choice(params.get("by", "srcaddr"), TALKER_KEYS, "by")
                metric = _choice(params.get("metric", "bytes"), METRICS, "metric")
                table = await run_in_threadpool(
                    lambda: self.logstore.top_talkers(
                        project, logstore, by=by, metric=metric, from_ts=from_ts, to_ts=to_ts, where=where, limit=limit
                    )
                )
            else:
                bucket = _positive(params.get("bucket", "60"), "bucket")
                table = await run_in_threadpool(
                    lambda: self.logstore.traffic(
                        project, logstore, bucket_seconds=bucket, from_ts=from_ts, to_ts=to_ts, where=where
                    )
                )
        except ApiError as error:
            return self.rpc.render_error(error)
        except (QueryError, InvalidName) as error:
            return self.rpc.render_error(INVALID_QUERY(detail=str(error)))
        except LogstoreError:
            return self.rpc.render_error(e.SERVICE_UNAVAILABLE())
        return JSONResponse({"rows": table.to_pylist()})

    async def handle(self, request: Request) -> Response:
        try:
            project, logstore, from_ts, to_ts = await self._admit(request)
            params = request.query_params
            limit = params.get("limit")
            if limit is not None:
                _positive(limit, "limit")
            stream = await run_in_threadpool(
                self.logstore.stream_json_lines,
                project,
                logstore,
                from_ts,
                to_ts,
                where=params.get("where") or None,
                limit=int(limit) if limit else None,
                lines_per_item=500,
            )
        except ApiError as error:
            return self.rpc.render_error(error)
        except (QueryError, InvalidName) as error:
            return self.rpc.render_error(INVALID_QUERY(detail=str(error)))
        except LogstoreError:
            return self.rpc.render_error(e.SERVICE_UNAVAILABLE())

        async def body() -> AsyncIterator[bytes]:
            with stream:
                async for chunk in iterate_in_threadpool(iter(stream)):
                    yield chunk

        return StreamingResponse(
            body(), media_type="application/x-ndjson", headers={"x-acs-request-id": new_request_id()}
        )

    def _authenticate(self, wire: WireRequest) -> Principal:
        header = wire.header("authorization") or ""
        if header.startswith("Basic "):
            try:
                key_id, sep, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise UNAUTHENTICATED() from exc
            if not sep:
                raise UNAUTHENTICATED()
            resolved = self.keys.resolve(key_id, None)
            if not hmac.compare_digest(resolved.secret.encode(), secret.encode()):
                raise WRONG_SECRET()
            return resolved.principal
        if not header:
            raise UNAUTHENTICATED()
        return self.authenticator.authenticate(wire).principal

    def _authorize(self, principal: Principal, wire: WireRequest, project: str, logstore: str) -> None:
        if principal.is_root:
            return
        resource = f"acs:log:*:{principal.account_id}:project/{project}/logstore/{logstore}"
        context = now_context(wire.source_ip, datetime.now(UTC), wire.secure)
        with self.database.read() as tx:
            explained = self.enforcer.explain(tx, principal, ACTION, (resource,), context)
        if not explained.decision.allowed:
            raise self.enforcer.denial("Sls", principal, ACTION, explained)
