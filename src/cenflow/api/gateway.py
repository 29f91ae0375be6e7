"""The call pipeline: authenticate, route, validate, authorise, run in one unit of work.

``Gateway.call`` is synchronous and runs in a worker thread; the ASGI adapter (``api.http``)
only reads the HTTP request and writes the response.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from cenflow.api.context import CallContext
from cenflow.api.idempotency import IdempotencyLedger, fingerprint
from cenflow.api.registry import Operation, Registry
from cenflow.iam.authorizer import Authorizer
from cenflow.services import Services
from cenflow.store.epochs import bump_collection
from cenflow.wire.auth import Authenticated, Authenticator
from cenflow.wire.request import WireRequest
from cenflow.wire.spec import Args

# How many times a call is re-run when a concurrent duplicate won the race for its ClientToken.
IDEMPOTENCY_RETRIES = 5


@dataclass(frozen=True)
class CallOutcome:
    operation: Operation
    body: dict[str, Any]
    caller: Authenticated


class Gateway:
    def __init__(
        self,
        registry: Registry,
        authenticator: Authenticator,
        authorizer: Authorizer,
        services: Services,
    ) -> None:
        self.registry = registry
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.services = services
        self.ledger = IdempotencyLedger()

    def call(self, request: WireRequest, request_id: str) -> CallOutcome:
        caller = self.authenticator.authenticate(request)
        operation = self.registry.find(request.version, request.action)
        args = operation.spec.parse(request.params)
        for attempt in range(IDEMPOTENCY_RETRIES):
            try:
                body = self._run(operation, args, caller, request, request_id)
            except IntegrityError:
                if attempt == IDEMPOTENCY_RETRIES - 1 or "ClientToken" not in args:
                    raise
                continue
            if operation.mutating:
                self.services.on_tasks_enqueued()
            return CallOutcome(operation, {"RequestId": request_id, **body}, caller)
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(
        self, operation: Operation, args: Args, caller: Authenticated, request: WireRequest, request_id: str
    ) -> dict[str, Any]:
        database = self.services.database
        transaction = database.write() if operation.mutating else database.read()
        with transaction as tx:
            ctx = CallContext(
                request_id=request_id,
                principal=caller.principal,
                source_ip=request.source_ip,
                secure=request.secure,
                now=self.services.clock(),
                tx=tx,
                services=self.services,
            )
            if operation.authorize:
                self.authorizer.authorize(ctx, operation, args)
            token = args.opt_text("ClientToken") if operation.mutating else None
            if token is None:
                answer = operation.handler(ctx, args)
            else:
                account, action = ctx.account_id, operation.action
                digest = fingerprint(action, args)
                recalled = self.ledger.recall(tx, account, action, token, digest)
                if recalled is not None:
                    return recalled
                self.ledger.reserve(tx, account, action, token, digest, ctx.now)
                answer = operation.handler(ctx, args)
                self.ledger.record(tx, account, action, token, answer)
            if operation.mutating and operation.product.changes_collection:
                bump_collection(tx)
            return answer

    def purge_expired_tokens(self) -> int:
        cutoff = self.services.clock() - timedelta(hours=self.services.settings.idempotency_ttl_hours)
        with self.services.database.write() as tx:
            return self.ledger.purge(tx, cutoff)
