"""Group commit: on SQLite, the calls that arrive in one turn of the event loop share a commit.

Every signed call writes (its nonce at least), and on SQLite the calls of a server run one at a
time on the event loop (``Database.run_sync``).  A commit and a transaction's set-up cost about
as much as a whole read-only operation, so the calls that are ready together run in one
transaction, each in a savepoint (``Gateway.call_batch``), and all are answered after the one
commit: nothing is acknowledged before it is durable.  A call waits at most for the calls queued
before it in the same turn (``MAX_BATCH`` at most).  On PostgreSQL every call keeps its own
transaction in a worker thread: there calls run concurrently, and a shared transaction would
serialise them.
"""

from __future__ import annotations

import asyncio
import logging

from cenflow.api.gateway import CallOutcome, Gateway
from cenflow.wire.request import WireRequest

log = logging.getLogger(__name__)

MAX_BATCH = 64  # calls per transaction: bounds how long one turn of the loop runs


class CallRunner:
    def __init__(self, gateway: Gateway, *, max_batch: int = MAX_BATCH) -> None:
        self.gateway = gateway
        self.max_batch = max_batch
        self._pending: list[tuple[WireRequest, str, asyncio.Future[CallOutcome]]] = []

    async def call(self, request: WireRequest, request_id: str) -> CallOutcome:
        database = self.gateway.services.database
        if not database.is_sqlite:
            return await database.run_sync(self.gateway.call, request, request_id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CallOutcome] = loop.create_future()
        self._pending.append((request, request_id, future))
        if len(self._pending) == 1:
            # After the callbacks already ready in this turn: the handlers they resume queue
            # their calls first.
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            results = self.gateway.call_batch([(request, request_id) for request, request_id, _ in batch])
        except Exception as exc:  # the shared transaction failed: no call took effect
            log.exception("a batch of calls failed to commit", extra={"calls": len(batch)})
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():  # the client went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
