"""Fixtures of the data-plane end-to-end tests (see tests/dataplane/support.py for the helpers).

``dataplane_server``: a fresh ``cenflow serve`` (its own data directory and UDP flow port) with
windows that close a second after their end and flow logs that settle at once; extra flags can
be given (``dataplane_server(["--flow-lateness", "3600"])``).  Its teardown stops it with SIGTERM
and fails the test if the server logged an error.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence

import pytest

from tests.conftest import ServerFactory
from tests.dataplane.support import FAST
from tests.flow.samples import require_testdata
from tests.harness import CenflowServer

DataplaneServer = Callable[..., CenflowServer]


@pytest.fixture(scope="session", autouse=True)
def _tools() -> None:
    require_testdata()
    missing = [tool for tool in ("softflowd", "nfcapd", "nfdump") if shutil.which(tool) is None]
    assert not missing, f"install {', '.join(missing)} (make system-deps)"


@pytest.fixture
def dataplane_server(server_factory: ServerFactory) -> DataplaneServer:
    def make(extra: Sequence[str] = ()) -> CenflowServer:
        return server_factory(args=[*FAST, *extra])

    return make
