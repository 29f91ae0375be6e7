"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary directory, ``pg_ctl
start`` on a free loopback port, one database per use, ``pg_ctl stop`` and removal at the end.

The server binaries are Debian's (``/usr/lib/postgresql/<version>/bin``, installed by
``scripts/system-deps.sh``), or whatever ``pg_config --bindir`` / ``PATH`` offers, or the directory
in ``CENFLOW_TEST_PG_BIN``.  PostgreSQL refuses to run as root, so as root every server command
runs as the ``postgres`` user (``runuser -u postgres --``) and the cluster directory is owned by
it; as anyone else the commands run directly.

The cluster trusts loopback connections and runs without fsync: it holds test data only.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

HOST = "127.0.0.1"
SUPERUSER = "postgres"
START_TIMEOUT = 60
SERVER_USER = "postgres"  # who runs the server when the tests run as root


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here, or the server would not start."""


def find_bin_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    candidates: list[Path] = []
    if os.environ.get("CENFLOW_TEST_PG_BIN"):
        candidates.append(Path(os.environ["CENFLOW_TEST_PG_BIN"]))

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([0-9.]+)/bin/", path)
        return tuple(int(part) for part in match.group(1).split(".")) if match else ()

    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    candidates.extend(Path(path).parent for path in debian)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10)
            candidates.append(Path(result.stdout.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in /usr/lib/postgresql/*/bin, "
        "pg_config --bindir or PATH. Install them with `make system-deps` (scripts/system-deps.sh installs "
        "Debian's postgresql package), or point CENFLOW_TEST_PG_BIN at their directory."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    """One running PostgreSQL server; :meth:`start` makes it, :meth:`stop` removes it."""

    bin_dir: Path
    base_dir: Path
    port: int = 0
    as_root: bool = field(default_factory=lambda: os.geteuid() == 0)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "cluster"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "server.log"

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def start(cls, bin_dir: Path | None = None) -> PostgresCluster:
        """``initdb`` a new cluster in a temporary directory and start it; raises ``PostgresUnavailable``."""
        # Not under pytest's tmp_path: that is private to root, and the server may run as postgres.
        base_dir = Path(tempfile.mkdtemp(prefix="cenflow-pg-"))
        cluster = cls(bin_dir or find_bin_dir(), base_dir)
        try:
            cluster._initdb()
            cluster._start_server()
        except BaseException:
            cluster.remove()
            raise
        return cluster

    def _run(self, args: Sequence[str], timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        # Run from the cluster's directory: the server user may not be allowed into the caller's.
        result = subprocess.run(
            command, cwd=self.base_dir, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(command)} failed with status {result.returncode}\n{result.stdout}\n{result.stderr}\n"
                f"{self.log_tail()}"
            )
        return result

    def _initdb(self) -> None:
        if self.as_root:
            try:
                server_user = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise PostgresUnavailable(
                    f"running as root, the tests start PostgreSQL as the {SERVER_USER!r} user, which does not "
                    "exist (Debian's postgresql package creates it)"
                ) from exc
            os.chown(self.base_dir, server_user.pw_uid, server_user.pw_gid)
        self._run(
            [
                "initdb",
                "--pgdata",
                str(self.data_dir),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )

    def _start_server(self) -> None:
        options = " ".join(
            [
                f"-c listen_addresses={HOST}",
                f"-c unix_socket_directories={self.base_dir}",
                "-c max_connections=300",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        for _attempt in range(5):
            self.port = _free_port()
            try:
                self._run(
                    [
                        "pg_ctl",
                        "start",
                        "--pgdata",
                        str(self.data_dir),
                        "--log",
                        str(self.log_path),
                        "--wait",
                        "--timeout",
                        str(START_TIMEOUT),
                        "-o",
                        f"-p {self.port} {options}",
                    ],
                    timeout=START_TIMEOUT + 10,
                )
            except PostgresUnavailable:
                if "already in use" not in self.log_tail():
                    raise
                continue  # lost the port to another process between picking it and binding it
            return
        raise PostgresUnavailable(f"no free port for PostgreSQL\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut) and remove its directory."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(["pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "fast", "--wait"])
        finally:
            self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- databases ----------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server (psycopg 3 driver), as the superuser."""
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    @property
    def databases(self) -> Databases:
        return Databases(self.url())


@dataclass(frozen=True)
class Databases:
    """Databases made on demand on a PostgreSQL server, through ``admin_url`` (a URL whose user may
    create databases: this module's cluster, or one given in ``CENFLOW_TEST_POSTGRES_URL``)."""

    admin_url: str

    def _admin(self) -> Engine:
        return create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def create(self, prefix: str = "cenflow") -> str:
        """A new, empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop the database of ``url``, disconnecting whoever still uses it."""
        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def fresh(self, prefix: str = "cenflow") -> Iterator[str]:
        """A new database for the ``with`` block; yields its URL and drops it afterwards."""
        url = self.create(prefix)
        try:
            yield url
        finally:
            self.drop(url)
