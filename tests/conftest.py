"""Shared fixtures: a session-wide cenflow server, per-test servers, and SDK clients of every stack.

- ``server``: one ``cenflow serve`` for the whole session (root key ``ROOT_ACCESS_KEY_ID``).
  Use it whenever a test does not need its own state.
- ``server_factory(args=..., env=..., generated_key=...)``: a fresh server with its own data
  directory, stopped (asserting a clean exit) at the end of the test.  For a module-scoped
  server with extra flags, write a fixture like
  ``with checked_server(tmp_path_factory.mktemp("x"), "--transition-delay", "0") as s: yield s``.
- ``sdk``: an SDK client on ``server``, parametrised over the three stacks.
- ``sdk_stack``: just the stack name, parametrised the same way (with ``server.client(stack)``
  or ``server_factory(...).client(stack)`` when the test needs its own server or key).
- ``postgres``: PostgreSQL databases on demand (``postgres.fresh()``, ``postgres.create()``);
  ``postgres_url``: a fresh database for one test, as a SQLAlchemy URL
  (``postgresql+psycopg://...``), e.g. for ``server_factory(env={"CENFLOW_DATABASE_URL": url})``.

PostgreSQL: a throwaway server (tests/postgres.py) starts with the session, before collection, and
its URL is exported as ``CENFLOW_TEST_POSTGRES_URL`` so that tests reading that variable (the IAM
and store unit tests) run on PostgreSQL too; a URL already set there is used instead of starting a
server.  Without PostgreSQL binaries the tests needing it fail, saying how to install them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.harness import STACKS, CenflowServer, SdkClient, checked_server
from tests.postgres import Databases, PostgresCluster, PostgresUnavailable

# The SDKs use requests, which honours proxy variables; loopback must never go through a proxy.
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]

ServerFactory = Callable[..., CenflowServer]

POSTGRES_URL_VARIABLE = "CENFLOW_TEST_POSTGRES_URL"
_CLUSTER = pytest.StashKey[PostgresCluster]()
_UNAVAILABLE = pytest.StashKey[str]()


def pytest_sessionstart(session: pytest.Session) -> None:
    # Before collection: test modules read CENFLOW_TEST_POSTGRES_URL when they are imported.
    if os.environ.get(POSTGRES_URL_VARIABLE):
        return
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as exc:
        session.config.stash[_UNAVAILABLE] = str(exc)
        return
    session.config.stash[_CLUSTER] = cluster
    os.environ[POSTGRES_URL_VARIABLE] = cluster.url()


def pytest_sessionfinish(session: pytest.Session) -> None:
    cluster = session.config.stash.get(_CLUSTER, None)
    if cluster is not None:
        del session.config.stash[_CLUSTER]
        os.environ.pop(POSTGRES_URL_VARIABLE, None)
        cluster.stop()


@pytest.fixture(scope="session")
def postgres(pytestconfig: pytest.Config) -> Databases:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url is None:
        pytest.fail(pytestconfig.stash.get(_UNAVAILABLE, "PostgreSQL was not started"), pytrace=False)
    return Databases(url)


@pytest.fixture
def postgres_url(postgres: Databases) -> Iterator[str]:
    with postgres.fresh() as url:
        yield url


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenflowServer]:
    with checked_server(tmp_path_factory.mktemp("session-server")) as instance:
        yield instance


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    started: list[CenflowServer] = []

    def make(
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        generated_key: bool = False,
        start: bool = True,
        name: str | None = None,
    ) -> CenflowServer:
        base = tmp_path / (name or f"server{len(started)}")
        instance = CenflowServer.in_directory(base, args=args, env=env or {})
        if generated_key:
            instance.access_key_id = instance.access_key_secret = None
        started.append(instance)
        return instance.start() if start else instance

    yield make
    for instance in started:
        instance.close()
    for instance in started:
        instance.assert_no_errors()


@pytest.fixture(params=STACKS)
def sdk_stack(request: pytest.FixtureRequest) -> str:
    stack: str = request.param
    return stack


@pytest.fixture
def sdk(server: CenflowServer, sdk_stack: str) -> SdkClient:
    return server.client(sdk_stack)
