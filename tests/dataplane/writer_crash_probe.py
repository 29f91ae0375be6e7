"""A collector that SIGKILLs itself on its writer thread, at a chosen step of writing windows.

Usage: python -m tests.dataplane.writer_crash_probe DATA_DIR STEP

Runs the collector of the data dir (its database, spool and log store; collector id
``collector-1``, lateness 1 s) on a free UDP port of 127.0.0.1, which it prints as ``PORT n``.
It receives until it has the number of datagrams the test writes to its stdin, hands every window
to the writer thread (a tick an hour ahead), and dies on that thread:

- ``append``: as the first window's write starts (nothing of this run is in the store);
- ``checkpoint``: as the checkpoint after the writes is saved (every window stored, the
  checkpoint on disk still the one from before they were received).

Prints ``finished without crashing`` if the step is never reached.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from cenflow.cli.state import open_database
from cenflow.collector.checkpoint import Checkpoint
from cenflow.collector.receiver import UdpReceiver
from cenflow.collector.service import Collector, CollectorSettings
from cenflow.logstore import LogStore
from tests.harness import HOST


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DyingStore:
    """The log store, but the process dies when ``append`` is called."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    def append(self, *args: Any, **kwargs: Any) -> Any:
        _die()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def main() -> None:
    data_dir, step = Path(sys.argv[1]), sys.argv[2]
    store = LogStore.in_data_dir(data_dir)
    if step == "append":
        store = DyingStore(store)  # type: ignore[assignment]
    elif step == "checkpoint":
        setattr(Checkpoint, "save", lambda _self, _path: _die())  # noqa: B010 - a method replaced
    else:
        raise SystemExit(f"unknown step {step}")
    settings = CollectorSettings(data_dir=data_dir, lateness=1.0)
    collector = Collector(settings, open_database(data_dir, None), logstore=store)
    collector.refresh(force=True)
    receiver = UdpReceiver(HOST, 0)
    print(f"PORT {receiver.port}", flush=True)
    expected = int(sys.stdin.readline())
    received = 0
    while received < expected:
        batch = receiver.receive(settings.batch_size, 1.0, settings.batch_linger)
        collector.ingest(batch)
        received += len(batch)
    collector.tick(time.time() + 3600)  # every window is due: all go to the writer thread
    collector.drain()
    collector.close()
    print("finished without crashing", flush=True)


if __name__ == "__main__":
    main()
