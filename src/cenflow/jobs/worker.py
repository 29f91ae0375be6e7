"""The worker loop: claims due tasks and completes them, in-process or as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy import Connection

from cenflow.domain.transitions import Transition
from cenflow.jobs import transitions
from cenflow.jobs.queue import BATCH, Task, TaskQueue

log = logging.getLogger(__name__)

TASKS_DONE = Counter("cenflow_tasks_completed_total", "Tasks completed by this process.", ["kind"])
TASKS_FAILED = Counter("cenflow_tasks_failed_total", "Task attempts that raised and were retried.", ["kind"])
# The labelled child per task kind, looked up once (``labels()`` takes a lock and builds a key);
# the kinds are this code's own, a handful.
_tasks_done = functools.cache(TASKS_DONE.labels)
TASKS_PENDING = Gauge("cenflow_tasks_pending", "Tasks in the queue (all workers), as last seen.")

LEASE = timedelta(seconds=30)
MAX_IDLE = 0.25  # seconds between looks at the queue: other processes may enqueue too
RETRY_DELAY = timedelta(seconds=2)


@dataclass(frozen=True)
class _Pass:
    completed: int | None  # None: no task was due
    more: bool  # look again at once: the batch was full, or it was taken one task at a time
    next_due: datetime | None = None  # when not ``more``: the next claimable task's due time


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        queue: TaskQueue,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_completed: Callable[[Transition], None] = lambda _t: None,
    ) -> None:
        self.queue = queue
        self.owner = worker_id()
        self._clock = clock
        self._wake = asyncio.Event()
        self._on_completed = on_completed
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Called (from any thread) after a commit that enqueued a task."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._wake.set)

    def run_once(self) -> int:
        """Complete every due task; returns how many were completed."""
        done = 0
        while (completed := self.run_batch()) is not None:
            done += completed
        return done

    def run_batch(self) -> int | None:
        """Complete one batch of due tasks: how many completed, ``None`` when none was due."""
        return self._pass().completed

    def _pass(self) -> _Pass:
        """One transaction's worth of due tasks, or one task at a time when a batch fails."""
        settled: list[tuple[Task, Transition, bool]] = []

        def effect(tx: Connection, task: Task) -> None:
            transition = Transition.from_payload(task.resource_id, task.payload)
            # One epoch bump for the batch: it commits (or rolls back) as a whole.
            bumped = any(applied for *_, applied in settled)
            settled.append((task, transition, transitions.complete(tx, transition, bump=not bumped)))

        try:
            batch, next_due = self.queue.complete_due(self._clock(), effect, BATCH)
        except Exception:
            log.warning("a batch of tasks failed; completing them one at a time", exc_info=True)
            return _Pass(self._one_at_a_time(), more=True)
        for task, transition, applied in settled:
            self._completed(task, transition, applied)
        return _Pass(len(batch) or None, more=len(batch) == BATCH, next_due=next_due)

    def _one_at_a_time(self) -> int | None:
        """Lease a batch and complete each task in its own transaction, retrying failures later."""
        batch = self.queue.claim(self.owner, self._clock(), LEASE)
        if not batch:
            return None
        return sum(self._run(task) for task in batch)

    def _run(self, task: Task) -> int:
        try:
            transition = Transition.from_payload(task.resource_id, task.payload)
            applied: list[bool] = []
            completed = self.queue.complete(
                task, self.owner, lambda tx: applied.append(transitions.complete(tx, transition))
            )
        except Exception as exc:
            TASKS_FAILED.labels(task.kind).inc()
            log.exception("task failed", extra={"task_id": task.id, "attempt": task.attempts})
            self.queue.retry_later(task, self.owner, repr(exc), self._clock() + RETRY_DELAY * task.attempts)
            return 0
        if completed:
            self._completed(task, transition, applied == [True])
        return int(completed)

    def _completed(self, task: Task, transition: Transition, applied: bool) -> None:
        """After the commit: a task's metrics, log record and callback."""
        _tasks_done(task.kind).inc()
        if applied:
            log.info(
                "transition completed",
                extra={
                    "kind": transition.kind.value,
                    "resource_id": transition.resource_id,
                    "to": transition.to or "deleted",
                },
            )
        self._on_completed(transition)

    async def serve(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                # One batch per turn of the event loop: on SQLite the work runs on the loop
                # itself, and a backlog of thousands of tasks must not hold API calls up.
                while (step := await self.queue.database.run_sync(self._pass)).more:
                    await asyncio.sleep(0)
                next_due = step.next_due
            except Exception:
                log.exception("worker loop error")
                next_due = None
            wait = MAX_IDLE
            if next_due is not None:
                wait = min(MAX_IDLE, max(0.0, (next_due - self._clock()).total_seconds()))
            self._wake.clear()
            stopper = asyncio.ensure_future(stop.wait())
            waker = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait({stopper, waker}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for future in (stopper, waker):
                future.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await future
