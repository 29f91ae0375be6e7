"""Run one log-store operation in this process and SIGKILL it at a chosen step of its commit.

Usage: python -m tests.logstore.crash_probe DATA_DIR OPERATION CRASH_AFTER

OPERATION is ``append`` (two windows in two partitions: a journaled change) or ``compact``.
The process kills itself when the commit is about to take its step number CRASH_AFTER + 1
(a rename or an unlink), so exactly CRASH_AFTER steps are done: a real crash at an exact
point, with the locks released by the kernel as after any crash.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

from cenflow.logstore import LogStore, commit
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, window

TWO_WINDOWS = (DAY + 120, DAY + HOUR + 120)


class CrashingOs:
    """Stands in for ``os`` inside ``cenflow.logstore.commit``; dies before step ``crash_after + 1``."""

    def __init__(self, crash_after: int) -> None:
        self.steps_left = crash_after

    def _step(self) -> None:
        if self.steps_left == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        self.steps_left -= 1

    def replace(self, src: Any, dst: Any) -> None:
        self._step()
        os.replace(src, dst)

    def unlink(self, path: Any) -> None:
        self._step()
        os.unlink(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def main() -> None:
    data_dir, operation, crash_after = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = LogStore.in_data_dir(data_dir)
    vars(commit)["os"] = CrashingOs(crash_after)
    if operation == "append":
        store.append(PROJECT, LOGSTORE, pa.concat_tables([window(start, 4, seed=start % 7) for start in TWO_WINDOWS]))
    elif operation == "compact":
        store.compact(now=DAY + 10 * HOUR)
    else:
        raise SystemExit(f"unknown operation {operation}")
    print("finished without crashing", flush=True)


if __name__ == "__main__":
    main()
