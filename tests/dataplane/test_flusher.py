"""The window writer (`cenflow.collector.flusher`): hand-offs are written in order, and a hand-off's
checkpoint is saved only once its windows and all earlier ones are stored; a window that failed is
retried and holds every checkpoint saved meanwhile back to its data."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from cenflow.collector.aggregator import FlowLogSpec
from cenflow.collector.checkpoint import Checkpoint
from cenflow.collector.flusher import Closed, Flusher, Outcome
from cenflow.collector.windows import Window
from cenflow.domain.flowlogs import FlowLog

Event = tuple[str, object]


SPEC = FlowLogSpec(
    FlowLog(
        "flowlog-a",
        "1234",
        "cn-hangzhou",
        "cen-1",
        "tr-1",
        None,
        "a",
        "",
        "p",
        "l",
        60,
        "",
        "1",
        "Active",
        datetime(2024, 6, 1, tzinfo=UTC),
    ),
    (),
)


def _closed(start: int, first: int | None, *, late_part: int = 0) -> Closed:
    window = Window("flowlog-a", start, 60, late_part=late_part, first_position=first, last_position=(first or 0) + 9)
    return Closed(window, SPEC)


class Recorder:
    def __init__(self, failing: set[int] | None = None) -> None:
        self.events: list[Event] = []
        self.failing = failing if failing is not None else set()

    def write(self, closed: Closed) -> Outcome:
        if closed.window.start in self.failing:
            self.events.append(("failed", closed.window.start))
            return Outcome.FAILED
        self.events.append(("write", closed.window.start))
        return Outcome.WRITTEN

    def save(self, checkpoint: Checkpoint) -> None:
        self.events.append(("save", (checkpoint.position, dict(checkpoint.skip))))


def test_a_hand_off_is_written_then_its_checkpoint_saved() -> None:
    recorder = Recorder()
    flusher = Flusher(recorder.write, recorder.save, background=False)

    flusher.hand_off([_closed(0, 10), _closed(60, 20)], Checkpoint(100, 0, {("flowlog-a", 60): 29}))

    assert recorder.events == [("write", 0), ("write", 60), ("save", (100, {("flowlog-a", 60): 29}))]
    assert flusher.written == 2
    assert flusher.pending == 0


def test_a_failed_window_holds_checkpoints_back_until_a_retry_stores_it() -> None:
    recorder = Recorder(failing={60})
    flusher = Flusher(recorder.write, recorder.save, background=False)
    skip = {("flowlog-a", 60): 29, ("flowlog-a", 0): 19}

    flusher.hand_off([_closed(0, 10), _closed(60, 20)], Checkpoint(100, 0, skip))
    # Replays from the failed window's data, which a skip entry must not drop as stored.
    assert recorder.events[-1] == ("save", (20, {("flowlog-a", 0): 19}))
    assert flusher.pending == 1

    flusher.hand_off([_closed(120, 30)], Checkpoint(110, 0, skip))
    assert recorder.events[-2:] == [("write", 120), ("save", (20, {("flowlog-a", 0): 19}))]

    recorder.failing.clear()
    flusher.hand_off([], Checkpoint(120, 0, skip))
    assert recorder.events[-2:] == [("write", 60), ("save", (120, skip))]
    assert flusher.pending == 0
    assert flusher.written == 3


def test_a_failed_late_part_keeps_its_windows_skip_entry() -> None:
    """The entry is the stored window's; the late part's own data lies after it."""
    recorder = Recorder(failing={60})
    flusher = Flusher(recorder.write, recorder.save, background=False)

    flusher.hand_off([_closed(60, 50, late_part=51)], Checkpoint(100, 0, {("flowlog-a", 60): 29}))

    assert recorder.events[-1] == ("save", (50, {("flowlog-a", 60): 29}))


def test_a_write_that_raises_is_kept_and_retried() -> None:
    calls: list[int] = []

    def write(closed: Closed) -> Outcome:
        calls.append(closed.window.start)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return Outcome.WRITTEN

    flusher = Flusher(write, lambda _c: None, background=False)
    flusher.hand_off([_closed(0, 10)], None)
    assert flusher.pending == 1
    flusher.hand_off([], None)
    assert calls == [0, 0]
    assert flusher.pending == 0


def test_on_its_thread_the_writer_keeps_hand_off_order_and_saves_after_writing() -> None:
    recorder = Recorder()
    entered, release = threading.Event(), threading.Event()

    def write(closed: Closed) -> Outcome:
        if closed.window.start == 0:
            entered.set()
            assert release.wait(30)
        return recorder.write(closed)

    pending: list[int] = []
    flusher = Flusher(write, recorder.save, background=True, pending_changed=pending.append)
    flusher.hand_off([_closed(0, 10)], Checkpoint(11, 0, {}))
    assert entered.wait(30)
    flusher.hand_off([_closed(60, 20), _closed(120, 30)], Checkpoint(40, 0, {}))
    # The writer is inside the first window's write: nothing saved, everything still pending.
    assert recorder.events == []
    assert flusher.pending == 3

    release.set()
    flusher.wait()

    assert recorder.events == [
        ("write", 0),
        ("save", (11, {})),
        ("write", 60),
        ("write", 120),
        ("save", (40, {})),
    ]
    assert pending[:2] == [1, 3]
    assert pending[-1] == 0
    flusher.close()


@pytest.mark.parametrize("background", [True, False])
def test_close_writes_what_was_handed_over(background: bool) -> None:
    recorder = Recorder()
    flusher = Flusher(recorder.write, recorder.save, background=background)
    flusher.hand_off([_closed(0, 10)], Checkpoint(11, 0, {}))
    flusher.close()
    assert recorder.events == [("write", 0), ("save", (11, {}))]


def test_the_writer_thread_survives_an_error_outside_the_writes() -> None:
    recorder = Recorder()
    counts: list[int] = []

    def pending_changed(count: int) -> None:  # the gauge callback; fails once, on the writer thread
        counts.append(count)
        if counts == [1, 0]:
            raise RuntimeError("a bug")

    flusher = Flusher(recorder.write, recorder.save, background=True, pending_changed=pending_changed)
    flusher.hand_off([_closed(0, 10)], Checkpoint(11, 0, {}))
    flusher.wait()
    flusher.hand_off([_closed(60, 20)], Checkpoint(21, 0, {}))
    flusher.close()
    assert recorder.events[-2:] == [("write", 60), ("save", (21, {}))]
