"""jobs: the durable task queue and the worker, on a real SQLite database with a fake clock.

What the asynchronous lifecycle promises at this level: a transition is completed once it is due
and not before; a worker that dies mid-task (its lease left behind) does not lose the task; an
effect is applied once even when two workers race; a failing task is retried later; and a
transition whose resource moved on does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from cenflow.domain.flowlogs import FlowLog, creation
from cenflow.domain.transitions import ResourceKind, Transition
from cenflow.jobs import transitions
from cenflow.jobs.queue import TaskQueue
from cenflow.jobs.worker import LEASE, RETRY_DELAY, Worker
from cenflow.store import flowlogs as repo
from cenflow.store.database import Database
from cenflow.store.epochs import collection_epoch
from cenflow.store.migrate import upgrade

START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    instance = Database(f"sqlite:///{tmp_path / 'jobs.db'}", sqlite_synchronous="OFF")
    upgrade(instance)
    yield instance
    instance.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def new_flowlog(database: Database, flow_log_id: str = "flowlog-1", status: str = "Creating") -> FlowLog:
    item = FlowLog(
        flow_log_id=flow_log_id,
        account_id="1000000000000001",
        region_id="cn-hangzhou",
        cen_id="cen-1",
        transit_router_id=f"tr-{flow_log_id}",
        attachment_id=None,
        name="",
        description="",
        project_name="project",
        logstore_name="logstore",
        interval=600,
        log_format="",
        version="3",
        status=status,
        created_at=START,
    )
    with database.write() as tx:
        repo.insert_flowlog(tx, item)
    return item


def schedule(database: Database, transition: Transition, now: datetime, delay: float) -> None:
    with database.write() as tx:
        transitions.schedule(tx, transition, now, delay)


def status(database: Database, flow_log_id: str = "flowlog-1") -> str | None:
    with database.read() as tx:
        item = repo.get_flowlog(tx, flow_log_id)
    return item.status if item else None


def test_a_transition_completes_once_due_and_not_before(database: Database, clock: FakeClock) -> None:
    new_flowlog(database)
    schedule(database, creation("flowlog-1"), clock(), 3)
    completed: list[Transition] = []
    worker = Worker(TaskQueue(database), clock=clock, on_completed=completed.append)
    clock.advance(2.9)
    assert worker.run_once() == 0
    assert status(database) == "Creating"
    assert worker.queue.next_due(clock()) == START + timedelta(seconds=3)
    clock.advance(0.1)
    assert worker.run_once() == 1
    assert status(database) == "Active"
    assert completed == [creation("flowlog-1")]
    assert worker.queue.pending() == 0


def test_a_deletion_removes_the_row(database: Database, clock: FakeClock) -> None:
    new_flowlog(database, status="Deleting")
    schedule(database, Transition(ResourceKind.FLOWLOG, "flowlog-1", "Deleting", None), clock(), 0)
    assert Worker(TaskQueue(database), clock=clock).run_once() == 1
    assert status(database) is None


def test_a_dead_workers_task_is_taken_over_when_its_lease_expires(database: Database, clock: FakeClock) -> None:
    new_flowlog(database, status="Modifying")
    schedule(database, Transition(ResourceKind.FLOWLOG, "flowlog-1", "Modifying", "Inactive"), clock(), 0)
    dead = TaskQueue(database)
    assert len(dead.claim("dead-worker", clock(), LEASE)) == 1  # ... and then it is SIGKILLed
    survivor = Worker(TaskQueue(database), clock=clock)
    assert survivor.run_once() == 0  # leased: not claimable yet
    clock.advance(LEASE.total_seconds() + 1)
    assert survivor.run_once() == 1
    assert status(database) == "Inactive"


def test_a_worker_whose_lease_was_taken_over_applies_nothing(database: Database, clock: FakeClock) -> None:
    new_flowlog(database, status="Modifying")
    schedule(database, Transition(ResourceKind.FLOWLOG, "flowlog-1", "Modifying", "Active"), clock(), 0)
    queue = TaskQueue(database)
    [slow] = queue.claim("slow", clock(), LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    [fast] = queue.claim("fast", clock(), LEASE)
    applied: list[str] = []
    assert queue.complete(fast, "fast", lambda tx: applied.append("fast")) is True
    assert queue.complete(slow, "slow", lambda tx: applied.append("slow")) is False
    assert applied == ["fast"]
    assert queue.pending() == 0


def test_a_failing_task_is_retried_later(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    new_flowlog(database)
    schedule(database, creation("flowlog-1"), clock(), 0)
    real_complete = transitions.complete
    # Fails in the batch's transaction, then again when the task is taken on its own.
    failures = iter([RuntimeError("database hiccup"), RuntimeError("database hiccup")])

    def flaky(tx: object, transition: Transition, *, bump: bool = True) -> bool:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_complete(tx, transition, bump=bump)  # type: ignore[arg-type]

    monkeypatch.setattr(transitions, "complete", flaky)
    worker = Worker(TaskQueue(database), clock=clock)
    assert worker.run_once() == 0
    assert status(database) == "Creating"
    assert "task failed" in caplog.text
    clock.advance(RETRY_DELAY.total_seconds() - 0.5)
    assert worker.run_once() == 0
    clock.advance(0.5)
    assert worker.run_once() == 1
    assert status(database) == "Active"


def test_a_failing_task_does_not_hold_up_the_others_of_its_batch(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for flow_log_id in ("flowlog-1", "flowlog-bad", "flowlog-3"):
        new_flowlog(database, flow_log_id)
        schedule(database, creation(flow_log_id), clock(), 0)
    real_complete = transitions.complete

    def failing_for_one(tx: object, transition: Transition, *, bump: bool = True) -> bool:
        if transition.resource_id == "flowlog-bad":
            raise RuntimeError("this one fails")
        return real_complete(tx, transition, bump=bump)  # type: ignore[arg-type]

    monkeypatch.setattr(transitions, "complete", failing_for_one)
    completed: list[Transition] = []
    worker = Worker(TaskQueue(database), clock=clock, on_completed=completed.append)
    assert worker.run_once() == 2
    assert sorted(t.resource_id for t in completed) == ["flowlog-1", "flowlog-3"]
    assert [status(database, i) for i in ("flowlog-1", "flowlog-bad", "flowlog-3")] == ["Active", "Creating", "Active"]
    assert TaskQueue(database).pending() == 1  # the failing one, due again after RETRY_DELAY


def test_a_batch_commits_its_tasks_together(database: Database, clock: FakeClock) -> None:
    for index in range(3):
        new_flowlog(database, f"flowlog-{index}")
        schedule(database, creation(f"flowlog-{index}"), clock(), 0)
    with database.read() as tx:
        epoch = collection_epoch(tx)
    commits: list[object] = []
    event.listen(database.engine, "commit", commits.append)
    assert Worker(TaskQueue(database), clock=clock).run_batch() == 3
    assert len(commits) == 1, "three transitions, one transaction"
    assert [status(database, f"flowlog-{index}") for index in range(3)] == ["Active"] * 3
    assert TaskQueue(database).pending() == 0
    with database.read() as tx:
        assert collection_epoch(tx) == epoch + 1, "the collector is told once per batch"


def test_a_transition_whose_resource_moved_on_does_nothing(database: Database, clock: FakeClock) -> None:
    new_flowlog(database, status="Active")
    schedule(database, Transition(ResourceKind.FLOWLOG, "flowlog-1", "Modifying", "Inactive"), clock(), 0)
    schedule(database, Transition(ResourceKind.FLOWLOG, "flowlog-gone", "Deleting", None), clock(), 0)
    assert Worker(TaskQueue(database), clock=clock).run_once() == 2  # done with, not retried
    assert status(database) == "Active"
    assert TaskQueue(database).pending() == 0


def test_a_status_transition_of_a_vanished_flow_log_changes_nothing(database: Database) -> None:
    with database.write() as tx:
        epoch = collection_epoch(tx)
        settled = transitions.complete(tx, Transition(ResourceKind.FLOWLOG, "flowlog-gone", "Modifying", "Active"))
        assert settled is False
        assert collection_epoch(tx) == epoch
        assert repo.get_flowlog(tx, "flowlog-gone") is None


def test_tasks_complete_in_due_order(database: Database, clock: FakeClock) -> None:
    for index, delay in enumerate([3, 1, 2]):
        new_flowlog(database, f"flowlog-{index}")
        schedule(database, creation(f"flowlog-{index}"), clock(), delay)
    completed: list[Transition] = []
    worker = Worker(TaskQueue(database), clock=clock, on_completed=completed.append)
    clock.advance(5)
    assert worker.run_once() == 3
    assert [t.resource_id for t in completed] == ["flowlog-1", "flowlog-2", "flowlog-0"]
