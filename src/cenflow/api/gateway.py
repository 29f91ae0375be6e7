"""The call pipeline: authenticate, route, validate, authorise, run in one unit of work.

``Gateway.call`` is synchronous (``Database.run_sync`` decides where it runs); the ASGI adapter
(``api.http``) only reads the HTTP request and writes the response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection
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
    # The call changed what collectors collect: its transaction bumps the collection epoch.
    changes_collection: bool = False


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
        """Authenticate and run one call in a single transaction.

        The key lookup, the nonce record and the operation commit together: one transaction per
        call instead of three (bench/api.py).  When the call fails after its signature was
        verified, that transaction rolls back with the nonce in it, so the nonce is recorded again
        on its own: a refused call cannot be replayed later, when it might succeed.
        """
        database = self.services.database
        for attempt in range(IDEMPOTENCY_RETRIES):
            caller: Authenticated | None = None
            try:
                with database.write() as tx:
                    caller = self.authenticator.authenticate(request, tx)
                    operation = self.registry.find(request.version, request.action)
                    outcome = self._perform(tx, operation, caller, request, request_id)
                    if outcome.changes_collection:
                        bump_collection(tx)
            except IntegrityError:
                # A concurrent duplicate won the race for the ClientToken; run the call again
                # (its nonce went with the rolled-back transaction, so it is claimed again).
                if attempt == IDEMPOTENCY_RETRIES - 1 or "ClientToken" not in request.params:
                    self._remember(caller)
                    raise
                continue
            except BaseException:
                self._remember(caller)
                raise
            if outcome.operation.mutating:
                self.services.on_tasks_enqueued()
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    def call_batch(self, calls: Sequence[tuple[WireRequest, str]]) -> list[CallOutcome | Exception]:
        """Run several calls in one transaction (group commit).

        What a call does is exactly what ``call`` does, but the calls share one commit.  A
        mutating call runs in a savepoint taken after its nonce is claimed: when it fails, it
        rolls back to the savepoint and its nonce stays recorded.  A read-only call needs no
        savepoint (two statements of its six): it writes nothing but its nonce, which is to stay
        whatever the call answers, and on SQLite a failed statement leaves the transaction
        usable.  ``authenticate`` writes nothing before the claim, its last step.  Returns each
        call's outcome or exception, in order; raises only when the transaction itself fails,
        and then none of the calls took effect.  Meant for SQLite, where calls run one at a time
        anyway (see ``api.batching``).
        """
        results: list[CallOutcome | Exception] = []
        mutated = changed = False
        with self.services.database.write() as tx:
            driver = tx.connection.driver_connection
            assert driver is not None
            for request, request_id in calls:
                savepoint = False
                try:
                    caller = self.authenticator.authenticate(request, tx)
                    operation = self.registry.find(request.version, request.action)
                    if operation.mutating:
                        driver.execute("SAVEPOINT cenflow_call")
                        savepoint = True
                    outcome = self._perform(tx, operation, caller, request, request_id)
                except Exception as exc:
                    if savepoint:
                        driver.execute("ROLLBACK TO cenflow_call")
                        driver.execute("RELEASE cenflow_call")
                    results.append(exc)
                    continue
                if savepoint:
                    driver.execute("RELEASE cenflow_call")
                mutated = mutated or outcome.operation.mutating
                changed = changed or outcome.changes_collection
                results.append(outcome)
            if changed:  # once for the batch, not once per call: the row is the same
                bump_collection(tx)
        if mutated:
            self.services.on_tasks_enqueued()
        return results

    def _perform(
        self, tx: Connection, operation: Operation, caller: Authenticated, request: WireRequest, request_id: str
    ) -> CallOutcome:
        """Validate and run an authenticated call to ``operation`` in ``tx``."""
        args = operation.spec.parse(request.params)
        body, changed = self._run(tx, operation, args, caller, request, request_id)
        return CallOutcome(operation, {"RequestId": request_id, **body}, caller, changed)

    def _remember(self, caller: Authenticated | None) -> None:
        if caller is not None:
            with self.services.database.write() as tx:
                self.authenticator.remember(caller.nonce, tx)

    def _run(
        self,
        tx: Connection,
        operation: Operation,
        args: Args,
        caller: Authenticated,
        request: WireRequest,
        request_id: str,
    ) -> tuple[dict[str, Any], bool]:
        """The call's answer, and whether it changed what collectors collect."""
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
                return recalled, False
            self.ledger.reserve(tx, account, action, token, digest, ctx.now)
            answer = operation.handler(ctx, args)
            self.ledger.record(tx, account, action, token, answer)
        return answer, operation.mutating and operation.product.changes_collection

    def purge_expired_tokens(self) -> int:
        cutoff = self.services.clock() - timedelta(hours=self.services.settings.idempotency_ttl_hours)
        with self.services.database.write() as tx:
            return self.ledger.purge(tx, cutoff)
