"""The worker loop: claims due tasks and completes them, in-process or as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge

from cenflow.domain.transitions import Transition
from cenflow.jobs import transitions
from cenflow.jobs.queue import Task, TaskQueue

log = logging.getLogger(__name__)

TASKS_DONE = Counter("cenflow_tasks_completed_total", "Tasks completed by this process.", ["kind"])
TASKS_FAILED = Counter("cenflow_tasks_failed_total", "Task attempts that raised and were retried.", ["kind"])
TASKS_PENDING = Gauge("cenflow_tasks_pending", "Tasks in the queue (all workers), as last seen.")

LEASE = timedelta(seconds=30)
MAX_IDLE = 0.25  # seconds between looks at the queue: other processes may enqueue too
RETRY_DELAY = timedelta(seconds=2)


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
        """Claim and complete every due task; returns how many were completed."""
        done = 0
        while (claimed := self.run_batch()) is not None:
            done += claimed
        return done

    def run_batch(self) -> int | None:
        """Claim one batch of due tasks and complete it: how many completed, ``None`` when none
        was due."""
        batch = self.queue.claim(self.owner, self._clock(), LEASE)
        if not batch:
            return None
        return sum(self._run(task) for task in batch)

    def _run(self, task: Task) -> int:
        try:
            transition = Transition.from_payload(task.resource_id, task.payload)
            completed = self.queue.complete(task, self.owner, lambda tx: transitions.complete(tx, transition))
        except Exception as exc:
            TASKS_FAILED.labels(task.kind).inc()
            log.exception("task failed", extra={"task_id": task.id, "attempt": task.attempts})
            self.queue.retry_later(task, self.owner, repr(exc), self._clock() + RETRY_DELAY * task.attempts)
            return 0
        if completed:
            TASKS_DONE.labels(task.kind).inc()
            self._on_completed(transition)
        return int(completed)

    async def serve(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                # One batch per turn of the event loop: on SQLite the work runs on the loop
                # itself, and a backlog of thousands of tasks must not hold API calls up.
                while await self.queue.database.run_sync(self.run_batch) is not None:
                    await asyncio.sleep(0)
                next_due = await self.queue.database.run_sync(self.queue.next_due, self._clock())
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
