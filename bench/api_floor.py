"""The floor peers of ``bench/api.py``: the least work a signed Cbn call needs on this stack.

A plain ASGI callable (no framework) on uvicorn with the settings ``cenflow serve`` uses, written
for speed and nothing else, that still does what no implementation of the API may skip:

- checks the ACS3-HMAC-SHA256 (or RPC v1 HMAC-SHA1) signature, the access key and the
  timestamp's age;
- records the signature nonce durably before answering (replay protection that survives a
  crash or a restart);
- ``DescribeFlowlogs`` by id: reads the flow log and its tags from a copy of cenflow's own
  database (the same tables and indexes) and answers the documented JSON document;
- ``ActiveFlowLog`` / ``DeactiveFlowLog``: sets the flow log ``Modifying`` and queues a task
  row, durably, before answering; then completes the task (final status, task row deleted) in
  the next transaction, as cenflow's worker does with ``--transition-delay 0``.

Writes share one SQLite transaction per event-loop turn (group commit; WAL and
``synchronous=NORMAL`` as cenflow runs SQLite; no checkpoints at all while it runs, so the WAL
just grows).  Everything else cenflow does per call is left out: parameter validation and error
codes, state rules, RAM policy evaluation (the caller is the account's root key), idempotency,
the access log line, metrics, and every other operation.  It is a generous lower bound for
cenflow's cost per call on this machine, and ``floor / bare`` bounds what an implementation on
this server stack can reach against the bare endpoint.

``durable=False`` (the ``floor-memory`` peer) keeps nonces in a Python set instead: not a
correct server (a restart forgets them, and a replayed request within the timestamp's window
would be accepted); it shows what the durable nonce costs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import sqlite3
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

MAX_SKEW_SECONDS = 900
NONCE_TTL_SECONDS = 1800
Unit = Callable[[sqlite3.Connection], Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]
_JSON_HEADERS = [(b"content-type", b"application/json;charset=utf-8")]
_UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]*")
_FLOW_LOG_COLUMNS = (
    "flow_log_id, cen_id, transit_router_id, attachment_id, name, description, project_name,"
    " logstore_name, interval, log_format, status, created_at, region_id"
)


def _encode(value: str) -> str:
    return value if _UNRESERVED.fullmatch(value) else urllib.parse.quote(value, safe="-_.~")


def _parse_query(query: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query.split("&"):
        if item:
            key, _, value = item.partition("=")
            if "%" in item or "+" in item:
                key, value = urllib.parse.unquote_plus(key), urllib.parse.unquote_plus(value)
            pairs.append((key, value))
    return pairs


class GroupCommit:
    """Runs the write units submitted in one event-loop turn in one transaction, then answers."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._pending: list[tuple[Unit, asyncio.Future[Any]]] = []

    def submit(self, unit: Unit) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((unit, future))
        return future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._db.execute("BEGIN")
        results = [unit(self._db) for unit, _ in batch]
        self._db.execute("COMMIT")
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


def _claim(access_key_id: str, nonce: str) -> Unit:
    def unit(db: sqlite3.Connection) -> bool:
        cursor = db.execute(
            "INSERT OR IGNORE INTO nonces (access_key_id, nonce, expires_at) VALUES (?, ?, ?)",
            (access_key_id, nonce, time.time() + NONCE_TTL_SECONDS),
        )
        return cursor.rowcount == 1

    return unit


def _v3_caller(method: str, query: list[tuple[str, str]], headers: dict[str, str], secret: str) -> str | None:
    """The access key id when the ACS3-HMAC-SHA256 signature verifies, else None."""
    scheme, _, rest = headers.get("authorization", "").partition(" ")
    if scheme != "ACS3-HMAC-SHA256":
        return None
    parts = dict(item.strip().split("=", 1) for item in rest.split(","))
    canonical = "\n".join(
        (
            method,
            "/",
            "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query)),
            "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in parts["SignedHeaders"].split(";")),
            parts["SignedHeaders"],
            headers.get("x-acs-content-sha256", ""),
        )
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return parts["Credential"] if hmac.compare_digest(expected, parts["Signature"]) else None


def _v1_caller(method: str, params: dict[str, str], secret: str) -> str | None:
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    # Only unreserved characters, %XX, "=" and "&" in it: encoding it again is three replacements.
    encoded = canonical.replace("%", "%25").replace("=", "%3D").replace("&", "%26")
    digest = hmac.new(f"{secret}&".encode(), f"{method}&%2F&{encoded}".encode(), hashlib.sha1).digest()
    signature = params.get("Signature", "")
    return params.get("AccessKeyId") if hmac.compare_digest(base64.b64encode(digest).decode(), signature) else None


def _flow_log_item(row: tuple[Any, ...], tags: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "FlowLogId": row[0],
        "CenId": row[1],
        "TransitRouterId": row[2],
        "TransitRouterAttachmentId": row[3] or "",
        "FlowLogName": row[4],
        "Description": row[5],
        "ProjectName": row[6],
        "LogStoreName": row[7],
        "Interval": row[8],
        "LogFormatString": row[9],
        "Status": row[10],
        "CreationTime": row[11].replace(" ", "T")[:16] + "Z",
        "RegionId": row[12],
        "FlowLogVersion": "3",
        "Tags": {"Tag": [{"Key": k, "Value": v} for k, v in tags]},
    }


def floor_app(database: Path, access_key_id: str, secret: str, account_id: str, *, durable: bool = True) -> App:
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-16384", "wal_autocheckpoint=0"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE IF NOT EXISTS floor_tasks (id INTEGER PRIMARY KEY, flow_log_id TEXT, action TEXT)")
    commits = GroupCommit(db)
    seen: set[tuple[str, str]] = set()

    async def claim(caller: str, nonce: str, then: Unit | None = None) -> Any:
        if not durable:
            fresh = (caller, nonce) not in seen
            seen.add((caller, nonce))
            return then(db) if fresh and then is not None else fresh
        first = _claim(caller, nonce)

        def unit(connection: sqlite3.Connection) -> Any:
            fresh = first(connection)
            return then(connection) if fresh and then is not None else fresh

        return await commits.submit(unit)

    def describe(params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        row = db.execute(
            f"SELECT {_FLOW_LOG_COLUMNS} FROM flowlogs WHERE flow_log_id = ? AND account_id = ? AND region_id = ?",
            (params.get("FlowLogId", ""), account_id, params.get("RegionId", "")),
        ).fetchone()
        items = []
        if row is not None:
            tags = db.execute(
                "SELECT key, value FROM tags WHERE resource_type = 'Flowlog' AND resource_id = ?", (row[0],)
            ).fetchall()
            items.append(_flow_log_item(row, tags))
        page = {"Success": "true", "PageNumber": "1", "PageSize": "20", "TotalCount": str(len(items))}
        return 200, {**page, "FlowLogs": {"FlowLog": items}}

    def toggle(action: str, flow_log_id: str) -> Unit:
        """``Modifying`` and a task row; once that is durable, the task's completion is queued."""
        status = "Active" if action == "ActiveFlowLog" else "Inactive"

        def complete(task: int) -> Unit:
            def unit(connection: sqlite3.Connection) -> None:
                connection.execute("UPDATE flowlogs SET status = ? WHERE flow_log_id = ?", (status, flow_log_id))
                connection.execute("DELETE FROM floor_tasks WHERE id = ?", (task,))

            return unit

        def unit(connection: sqlite3.Connection) -> bool:
            connection.execute("UPDATE flowlogs SET status = 'Modifying' WHERE flow_log_id = ?", (flow_log_id,))
            cursor = connection.execute(
                "INSERT INTO floor_tasks (flow_log_id, action) VALUES (?, ?)", (flow_log_id, action)
            )
            task = cursor.lastrowid
            assert task is not None
            # The worker's part (transition delay 0): rides in the next turn's transaction.
            asyncio.get_running_loop().call_soon(commits.submit, complete(task))
            return True

        return unit

    async def work(scope: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        query = _parse_query(scope["query_string"].decode("latin-1"))
        params = dict(query)
        if "authorization" in headers:
            caller = _v3_caller(scope["method"], query, headers, secret)
            stamp, nonce = headers.get("x-acs-date", ""), headers.get("x-acs-signature-nonce", "")
        else:
            caller = _v1_caller(scope["method"], params, secret)
            stamp, nonce = params.get("Timestamp", ""), params.get("SignatureNonce", "")
        if caller != access_key_id:
            return 400, {"Code": "IncompleteSignature"}
        try:
            when = datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            return 400, {"Code": "InvalidTimeStamp.Format"}
        if abs(time.time() - when) > MAX_SKEW_SECONDS:
            return 400, {"Code": "InvalidTimeStamp.Expired"}
        action = headers.get("x-acs-action") or params.get("Action", "")
        if action == "DescribeFlowlogs":
            if not await claim(caller, nonce):
                return 400, {"Code": "SignatureNonceUsed"}
            return describe(params)
        if action in ("ActiveFlowLog", "DeactiveFlowLog"):
            if not await claim(caller, nonce, toggle(action, params.get("FlowLogId", ""))):
                return 400, {"Code": "SignatureNonceUsed"}
            return 200, {"Success": True}
        return 400, {"Code": "InvalidAction.NotFound"}

    async def answer(send: Send, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # nothing to set up or tear down
            while True:
                event = (await receive())["type"]
                await send({"type": f"{event}.complete"})
                if event == "lifespan.shutdown":
                    return
        more = True
        while more:  # the body (empty for these requests) is read, as any server must
            more = (await receive()).get("more_body", False)
        if scope["path"] == "/healthz":
            await answer(send, 200, {"status": "ok"})
            return
        status, document = await work(scope)
        await answer(send, status, {"RequestId": str(uuid.uuid4()), **document})

    return app
