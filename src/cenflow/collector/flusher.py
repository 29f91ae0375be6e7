"""Writing closed windows to the log store off the receive thread, each hand-off with its checkpoint.

Why: writing a busy window (aggregation, record columns, Parquet) takes tens of milliseconds; on
the receive thread that is a pause in draining the socket, and the backlog it leaves is what
limited the lossless rate.  The receive thread hands closed windows over and goes on receiving,
and the bounded queue of hand-offs makes a receive thread that outruns the store wait for it.
The writer keeps the process's scheduling priority: at a lower one (tried: nice +10) it starved
behind any other busy process on the core, the queue filled, and the receive thread stopped
draining the socket.

What a SIGKILL can lose stays what docs/dataplane.md says.  A hand-off carries the checkpoint the
collector computes when it hands the windows over: the one it used to save right after writing
them on its own thread.  The writer saves it only once those windows, and every hand-off before
them (hand-offs are processed one at a time, in order), are in the store.  Until then the
checkpoint on disk is an older one: a restart replays the spool from it and rebuilds the windows,
and rewriting one that did get written replaces it (appends are idempotent per window).  A window
whose write fails is kept and tried again with the next hand-off, and every checkpoint saved
meanwhile is held back to its data (`Checkpoint.holding`).
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cenflow.collector.aggregator import FlowLogSpec
from cenflow.collector.checkpoint import Checkpoint
from cenflow.collector.windows import Window

log = logging.getLogger(__name__)

MAX_HAND_OFFS = 8  # queued hand-offs (one per tick) before a hand-off waits for the writer


@dataclass(frozen=True)
class Closed:
    window: Window
    spec: FlowLogSpec  # resolved when handed over: the receive thread may reconfigure meanwhile


class Outcome(enum.Enum):
    WRITTEN = "written"
    EMPTY = "empty"  # nothing to write (a window without records)
    FAILED = "failed"  # to be tried again


@dataclass(frozen=True)
class _HandOff:
    windows: Sequence[Closed]
    checkpoint: Checkpoint | None


class Flusher:
    """Writes hand-offs in order, on its own thread (``background``) or in the caller's."""

    def __init__(
        self,
        write: Callable[[Closed], Outcome],
        save: Callable[[Checkpoint], None],
        *,
        background: bool,
        name: str = "collector-writer",
        pending_changed: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self._write, self._save = write, save
        self._background, self._name = background, name
        self._pending_changed = pending_changed
        self._failed: list[Closed] = []
        self._queue: queue.Queue[_HandOff | None] = queue.Queue(MAX_HAND_OFFS)
        self._thread: threading.Thread | None = None
        self._count_lock = threading.Lock()
        self._pending = 0  # windows handed over and not yet written (failed ones included)
        self.written = 0  # windows written since the start

    def hand_off(self, windows: Sequence[Closed], checkpoint: Checkpoint | None) -> None:
        """Write ``windows``, then save ``checkpoint`` (now, or in order on the writer thread)."""
        self._count(len(windows))
        item = _HandOff(windows, checkpoint)
        if not self._background:
            self._process(item)
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        self._queue.put(item)

    def wait(self) -> None:
        """Until every hand-off so far has been processed (written, or failed and kept)."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Process what was handed over, then stop the writer thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    @property
    def pending(self) -> int:
        return self._pending

    def _count(self, change: int) -> None:
        with self._count_lock:
            self._pending += change
            pending = self._pending
        self._pending_changed(pending)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._process(item)
            except Exception:  # the thread must live on: hand-offs would otherwise wait forever
                log.exception("window writer error")
            finally:
                self._queue.task_done()

    def _process(self, item: _HandOff) -> None:
        failed: list[Closed] = []
        for closed in [*self._failed, *item.windows]:
            try:
                outcome = self._write(closed)
            except Exception:  # a bug must not stop the writer: the window is kept and retried
                log.exception("window write raised", extra={"flow_log_id": closed.window.flow_log_id})
                outcome = Outcome.FAILED
            if outcome is Outcome.FAILED:
                failed.append(closed)
                continue
            self.written += outcome is Outcome.WRITTEN
            self._count(-1)
        self._failed = failed
        if item.checkpoint is not None:
            try:
                self._save(item.checkpoint.holding([c.window for c in failed]))
            except Exception:  # the next hand-off saves a newer one; replaying from an older is safe
                log.exception("checkpoint save failed")
