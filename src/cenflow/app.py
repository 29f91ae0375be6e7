"""Composition root: builds the pieces for ``cenflow serve`` and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from cenflow.api.cbn import CBN, attachments, cens, flowlogs, regions, tags, transit_routers
from cenflow.api.gateway import Gateway
from cenflow.api.http import RpcEndpoint
from cenflow.api.ram import RAM
from cenflow.api.ram import attachments as ram_attachments
from cenflow.api.ram import diagnostics as ram_diagnostics
from cenflow.api.ram import groups as ram_groups
from cenflow.api.ram import keys as ram_keys
from cenflow.api.ram import policies as ram_policies
from cenflow.api.ram import roles as ram_roles
from cenflow.api.ram import users as ram_users
from cenflow.api.records import RecordsEndpoint
from cenflow.api.registry import Registry
from cenflow.api.sts import STS
from cenflow.api.sts import operations as sts_operations
from cenflow.bootstrap import ensure_account_id, ensure_root_key
from cenflow.collector.receiver import UdpReceiver
from cenflow.collector.runner import CollectorThread
from cenflow.collector.service import Collector, CollectorSettings
from cenflow.config import Settings
from cenflow.domain.regions import RegionCatalogue
from cenflow.iam.keys import KeyStore
from cenflow.iam.runtime import IamRuntime
from cenflow.iam.secrets import SecretBox
from cenflow.jobs.queue import TaskQueue
from cenflow.jobs.upkeep import UPKEEP_INTERVAL, logstore_upkeep
from cenflow.jobs.worker import Worker
from cenflow.logstore import LogStore
from cenflow.services import Services, utc_now
from cenflow.store.database import Database
from cenflow.store.migrate import upgrade
from cenflow.store.nonces import NonceStore
from cenflow.wire.auth import Authenticator

log = logging.getLogger("cenflow")

MAINTENANCE_INTERVAL = 60.0


def build_registry() -> Registry:
    registry = Registry()
    for product in (CBN, RAM, STS):
        registry.add_product(product)
    for module in (regions, cens, transit_routers, attachments, flowlogs, tags):
        for operation in module.OPERATIONS:
            registry.add(operation)
    ram = (ram_users, ram_keys, ram_groups, ram_roles, ram_policies, ram_attachments, ram_diagnostics)
    for module in (*ram, sts_operations):
        for operation in module.OPERATIONS:
            registry.add(operation)
    return registry


@dataclass
class Runtime:
    """Everything a running server holds; tests build one directly."""

    settings: Settings
    services: Services
    gateway: Gateway
    keys: KeyStore
    nonces: NonceStore
    worker: Worker
    root_access_key_id: str
    collector: CollectorThread | None = None
    background: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = field(default_factory=list)

    @property
    def database(self) -> Database:
        return self.services.database


def build_runtime(settings: Settings, *, endpoint: str | None = None) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    account_id = ensure_account_id(settings)
    if settings.database_url is None:
        # Created owner-only: SQLite gives its -wal and -shm files the database file's mode.
        (settings.data_dir / "cenflow.db").touch(mode=0o600, exist_ok=True)
    database = Database(settings.resolved_database_url, background_checkpoints=True)
    upgrade(database)
    box = SecretBox.from_file(settings.resolved_master_key_file)
    iam = IamRuntime.build(database, box, account_id, utc_now)
    keys = iam.keys
    root_key = ensure_root_key(settings, keys, endpoint or f"{settings.host}:{settings.port}")
    services = Services(
        settings=settings,
        database=database,
        regions=RegionCatalogue.load(settings.region_catalogue),
        account_id=account_id,
        iam=iam,
    )
    nonces = NonceStore(database)
    window = timedelta(minutes=settings.signature_window_minutes)
    authenticator = Authenticator(iam.credentials, nonces, max_skew=window)
    gateway = Gateway(build_registry(), authenticator, iam.enforcer, services)
    worker = Worker(TaskQueue(database), clock=services.clock)
    services.on_tasks_enqueued = worker.wake
    runtime = Runtime(settings, services, gateway, keys, nonces, worker, root_key)
    runtime.background.append(lambda stop: _every(MAINTENANCE_INTERVAL, stop, nonces.purge_expired))
    runtime.background.append(lambda stop: _every(MAINTENANCE_INTERVAL, stop, gateway.purge_expired_tokens))
    if settings.workers:
        runtime.background.append(worker.serve)
    if settings.flow_port is not None:
        runtime.collector = build_collector(settings, database)
    logstore = LogStore.in_data_dir(settings.data_dir)
    runtime.background.append(lambda stop: _every(UPKEEP_INTERVAL, stop, lambda: logstore_upkeep(database, logstore)))
    return runtime


def build_collector(settings: Settings, database: Database) -> CollectorThread:
    collector_settings = CollectorSettings(
        data_dir=settings.data_dir,
        collector_id=settings.collector_id,
        lateness=settings.flow_lateness,
        spool=settings.spool,
    )
    receiver = UdpReceiver(settings.host, settings.flow_port or 0)
    return CollectorThread(Collector(collector_settings, database), receiver)


async def _every(interval: float, stop: asyncio.Event, job: Callable[[], object]) -> None:
    """Run ``job`` in a worker thread every ``interval`` seconds until ``stop``."""
    while not stop.is_set():
        try:
            await run_in_threadpool(job)
        except Exception:
            log.exception("periodic job failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


class RpcFirst:
    """The RPC endpoint ahead of the Starlette app: ``GET``/``POST /`` go straight to it.

    Every signed call is a request to ``/``; routing it through Starlette's middleware stack and
    router cost about as much CPU as answering a fixed body does (bench/api.py's bare peer).
    The endpoint catches every exception itself, so it needs none of that stack; every other
    path, method and the lifespan go to the Starlette app.
    """

    def __init__(self, rpc: RpcEndpoint, app: Starlette) -> None:
        self.rpc = rpc
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "POST"):
            await self.rpc(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(runtime: Runtime) -> RpcFirst:
    database = runtime.database

    async def healthz(_: Request) -> Response:
        def ping() -> None:
            with database.read() as tx:
                tx.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception as exc:  # the database is the one thing we cannot serve without
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, 503)
        return JSONResponse({"status": "ok", "account_id": runtime.services.account_id})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        if runtime.collector is not None:
            await run_in_threadpool(runtime.collector.start)
        tasks = [asyncio.create_task(job(stop)) for job in runtime.background]
        log.info(
            "cenflow ready",
            extra={
                "account_id": runtime.services.account_id,
                "root_access_key_id": runtime.root_access_key_id,
            },
        )
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            if runtime.collector is not None:
                await run_in_threadpool(runtime.collector.stop)
            # Stops the background checkpointer and closes the pooled connections; the last one
            # closed checkpoints what is left of SQLite's log.
            await run_in_threadpool(runtime.database.dispose)
            log.info("cenflow stopped")

    endpoint = RpcEndpoint(runtime.gateway)
    iam = runtime.services.iam
    assert iam is not None
    records = RecordsEndpoint(
        endpoint,
        runtime.gateway.authenticator,
        iam.credentials,
        iam.enforcer,
        LogStore.in_data_dir(runtime.settings.data_dir),
    )
    routes = [
        Route("/", endpoint, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/projects/{project}/logstores/{logstore}/records", records.handle, methods=["GET"]),
        Route("/api/projects/{project}/logstores/{logstore}/{kind:str}", records.analytics, methods=["GET"]),
    ]

    async def method_not_allowed(request: Request, _exc: Exception) -> Response:
        # Other methods on the RPC endpoint get Alibaba's envelope, not a framework text page.
        return endpoint.method_not_allowed(request)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={405: method_not_allowed})
    return RpcFirst(endpoint, app)
