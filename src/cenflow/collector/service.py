"""The collector: receive → spool → decode → bind → window → flush, for every Active flow log.

One collector runs in one thread (inside ``cenflow serve`` or as ``cenflow collector``).  Every
second it re-reads which flow logs are Active and how the topology is tagged, so collection for
a flow log starts within about a second of it becoming Active; when a flow log leaves Active its
open windows are flushed at once.  Graceful shutdown flushes every window.

Closed windows are written on a writer thread (`cenflow.collector.flusher`), so a long write does
not stall receiving; the checkpoint that goes with them is saved only once they are stored.

What a SIGKILL can lose (docs/dataplane.md): with the spool on (the default), only datagrams in
the kernel socket buffer and in the batch being read (gathered for at most ``batch_linger``
seconds, 5 ms, after its first datagram); everything spooled is replayed at the next start and
the windows it belongs to are rebuilt and written exactly once.  With ``--no-spool``, everything
in the windows still open.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cenflow.collector import metrics as m
from cenflow.collector.aggregator import Aggregator, FlowLogSpec
from cenflow.collector.binder import Binder
from cenflow.collector.checkpoint import Checkpoint
from cenflow.collector.config_loader import CollectionPlan, current_epoch, load_plan
from cenflow.collector.flusher import Closed, Flusher, Outcome
from cenflow.collector.receiver import Received, UdpReceiver
from cenflow.collector.records import window_records
from cenflow.collector.registry import NameRegistry
from cenflow.collector.spool import Spool
from cenflow.collector.topology import Topology, exporter_address
from cenflow.collector.windows import Window
from cenflow.flow.batch import address_text
from cenflow.flow.decoder import Datagram, DatagramLike, FlowDecoder
from cenflow.flow.template_store import JsonDirTemplateStore
from cenflow.logstore import LogStore
from cenflow.logstore.errors import LogstoreError
from cenflow.store.database import Database

log = logging.getLogger(__name__)

FULL_RELOAD = 60.0  # seconds between unconditional reloads of the collection plan


@dataclass(frozen=True)
class CollectorSettings:
    data_dir: Path
    collector_id: str = "collector-1"
    lateness: float = 30.0
    spool: bool = True
    refresh_interval: float = 1.0
    tick_interval: float = 0.5
    batch_size: int = 512
    batch_wait: float = 0.05
    # After a batch's first datagram, how long to keep gathering while it is not full: larger
    # batches under moderate load (per-batch costs), at most this much more delay.
    batch_linger: float = 0.005
    # Write closed windows on a writer thread (False: in the caller's, as an offline replay does).
    background_writes: bool = True

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "collector" / self.collector_id


class Collector:
    def __init__(
        self,
        settings: CollectorSettings,
        database: Database,
        logstore: LogStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.database = database
        self.logstore = logstore or LogStore.in_data_dir(settings.data_dir)
        self.clock = clock
        state = settings.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.decoder = FlowDecoder(store=JsonDirTemplateStore(state / "templates"))
        self.attachments = NameRegistry()
        self.regions = NameRegistry()
        self.aggregator = Aggregator(settings.lateness, self.attachments, self.regions)
        self.binder = Binder(Topology(()))
        self._attachment_numbers = np.empty(0, dtype=np.int32)
        self._region_numbers = np.empty(0, dtype=np.int32)
        self.spool = Spool(state / "spool") if settings.spool else None
        self._checkpoint_path = state / "checkpoint.json"
        self._position = 0  # without a spool: a plain datagram counter
        self.flusher = Flusher(
            self._write_window,
            self._store_checkpoint,
            background=settings.background_writes,
            name=f"{settings.collector_id}-writer",
            pending_changed=m.PENDING_WINDOWS.labels(settings.collector_id).set,
        )
        self._counters = self.decoder.counters.snapshot()
        self._labels = settings.collector_id
        # The labelled children counted per receive batch, looked up once (labels() per batch
        # showed in profiles of small batches).
        self._datagrams = m.DATAGRAMS.labels(self._labels)
        self._unknown_exporter = m.UNKNOWN_EXPORTER.labels(self._labels)
        self._unattributed = m.UNATTRIBUTED.labels(self._labels)
        self._inactive = m.INACTIVE.labels(self._labels)
        self._decoded = m.DECODED.labels(self._labels)
        self._decode_errors = m.DECODE_ERRORS.labels(self._labels)
        self._template_misses = m.TEMPLATE_MISSES.labels(self._labels)
        self.plan: CollectionPlan | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    # -- configuration -----------------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        """Re-read Active flow logs and the tagged topology, when the change epoch moved.

        A full reload also happens every ``FULL_RELOAD`` seconds, in case something changed the
        database without bumping the epoch (a manual edit).
        """
        now = time.monotonic()
        if (
            not force
            and self.plan is not None
            and now - self._loaded_at < FULL_RELOAD
            and current_epoch(self.database) == self.plan.epoch
        ):
            return
        plan = load_plan(self.database)
        self._loaded_at = now
        with self._lock:
            if plan != self.plan:
                self.plan = plan
                self.binder = Binder(plan.topology)
                self._attachment_numbers = np.array(
                    [self.attachments.number(a.attachment_id) for a in self.binder.attachments], dtype=np.int32
                )
                self._region_numbers = np.array([self.regions.number(r) for r in self.binder.regions], dtype=np.int32)
                specs = [FlowLogSpec(f, plan.scopes.get(f.flow_log_id, ())) for f in plan.active]
                gone = self.aggregator.configure(specs)
                m.ACTIVE_FLOWLOGS.labels(self._labels).set(len(specs))
            else:
                gone = []
        if gone:
            with self._lock:
                closed = self._resolve(gone)
            self.flusher.hand_off(closed, None)

    # -- data --------------------------------------------------------------------------------
    def ingest(self, received: list[Received]) -> None:
        if not received:
            return
        if self.spool is not None:
            first = self.spool.append_received(received, _address16)
            last = self.spool.end - 1
        else:
            first = self._position
            self._position += len(received)
            last = self._position - 1
        self._process(received, first, last, received[-1][3])

    def process_offline(self, datagrams: list[Datagram], now: float) -> None:
        """Datagrams that are not spooled (a replayed capture): ``now`` is their capture time."""
        first = self._position
        self._position += len(datagrams)
        self._process(datagrams, first, self._position - 1, now)

    def _process(self, datagrams: Sequence[DatagramLike], first: int, last: int, now: float) -> None:
        with self._lock:
            decoded = self.decoder.decode(datagrams, now=now, options=False)  # flows are all it stores
            batch = decoded.flows
            self._datagrams.inc(len(datagrams))
            gaps = self._count_decoder()
            if len(batch):
                attributed, stats = self.binder.bind(batch)
                self._unknown_exporter.inc(stats.unknown_exporter)
                self._unattributed.inc(stats.unattributed)
                taken = self.aggregator.add(
                    batch, attributed, self._attachment_numbers, self._region_numbers, first, last, now
                )
                self._inactive.inc(len(attributed) - taken)
            if gaps:
                # Marked once the batch's flows are in their windows, so a window this very batch
                # opened (the one the lost data most likely belonged to) is marked too.
                self.aggregator.mark_skipdata()

    def _count_decoder(self) -> int:
        """Add the decoder's new counts to the metrics; returns the new sequence gaps."""
        current = self.decoder.counters.snapshot()
        before, self._counters = self._counters, current
        self._decoded.inc(current["flow_records"] - before["flow_records"])
        self._decode_errors.inc(current["decode_errors"] - before["decode_errors"])
        self._template_misses.inc(current["template_misses"] - before["template_misses"])
        gaps = current["sequence_gaps"] - before["sequence_gaps"]
        if gaps > 0:
            m.SEQUENCE_GAPS.labels(self._labels).inc(gaps)
        return max(gaps, 0)

    def note_socket_drops(self, drops: int) -> None:
        if drops > 0:
            m.SOCKET_DROPS.labels(self._labels).inc(drops)
            with self._lock:
                self.aggregator.mark_skipdata()

    # -- closing windows ---------------------------------------------------------------------
    def tick(self, now: float | None = None) -> int:
        """Hand the windows that are due to the writer; returns how many."""
        now = self.clock() if now is None else now
        with self._lock:
            self.aggregator.ensure_live_windows(now)
            closed = self._resolve(self.aggregator.due(now))
            checkpoint = self._checkpoint()
            still_open = len(self.aggregator.windows)
        self.flusher.hand_off(closed, checkpoint)
        # After the hand-off, which counts them as pending: the two gauges never both miss them.
        m.OPEN_WINDOWS.labels(self._labels).set(still_open)
        return len(closed)

    def drain(self) -> int:
        """Write every open window and wait for the writer (graceful shutdown, end of a replay);
        returns how many windows were written meanwhile."""
        before = self.flusher.written
        with self._lock:
            closed = self._resolve(self.aggregator.drain())
            checkpoint = self._checkpoint()
        self.flusher.hand_off(closed, checkpoint)
        self.flusher.wait()
        m.OPEN_WINDOWS.labels(self._labels).set(0)
        return self.flusher.written - before

    def close(self) -> None:
        """Stop the writer thread once it has written what it was handed."""
        self.flusher.close()

    def _resolve(self, windows: Iterable[Window]) -> list[Closed]:
        closed: list[Closed] = []
        for window in windows:
            spec = self.aggregator.spec_for(window.flow_log_id)
            if spec is not None:
                closed.append(Closed(window, spec))
        return closed

    def _write_window(self, closed: Closed) -> Outcome:
        """On the writer thread: one closed window's records to the log store."""
        window, spec = closed.window, closed.spec
        table = window_records(window, window.result(), spec, self.attachments, self.regions)
        if table.num_rows == 0:
            return Outcome.EMPTY
        writer = self.settings.collector_id + (f"_late{window.late_part}" if window.late_part else "")
        try:
            self.logstore.append(spec.flow_log.project_name, spec.flow_log.logstore_name, table, writer_id=writer)
        except (LogstoreError, OSError):
            log.exception("window write failed; will retry", extra={"flow_log_id": window.flow_log_id})
            m.WRITE_ERRORS.labels(self._labels).inc()
            return Outcome.FAILED
        m.WINDOWS_WRITTEN.labels(self._labels).inc()
        m.RECORDS_WRITTEN.labels(window.flow_log_id).inc(table.num_rows)
        if window.late_part:
            m.LATE_PARTS.labels(self._labels).inc()
        return Outcome.WRITTEN

    # -- durability --------------------------------------------------------------------------
    def _checkpoint(self) -> Checkpoint | None:
        """Under the lock: where a restart would replay from once the windows handed over so far
        are stored (the writer saves it then)."""
        if self.spool is None:
            return None
        end = self.spool.end
        oldest = self.aggregator.oldest_position(end)
        skip = {key: last for key, last in self.aggregator.closed.items() if last >= oldest}
        return Checkpoint(oldest, self.aggregator.watermark_ms, skip)

    def _store_checkpoint(self, checkpoint: Checkpoint) -> None:
        """On the writer thread.  Trimming is safe beside the receive thread's appends: it deletes
        only whole segments before the checkpoint, never the one being appended to."""
        checkpoint.save(self._checkpoint_path)
        if self.spool is not None:
            self.spool.trim(checkpoint.position)

    def recover(self) -> int:
        """Replay what the spool holds past the checkpoint; returns how many datagrams."""
        if self.spool is None:
            return 0
        checkpoint = Checkpoint.load(self._checkpoint_path) or Checkpoint()
        self.aggregator.watermark_ms = checkpoint.watermark_ms
        self.aggregator.replay_skip = dict(checkpoint.skip)
        cuts = sorted(set(checkpoint.skip.values()))
        replayed = 0
        batch: list[Datagram] = []
        first = last = 0
        when = 0.0
        for item in self.spool.read_from(checkpoint.position):
            # Never let a replay batch straddle a skip limit: data up to a limit is stored already.
            if batch and (len(batch) >= self.settings.batch_size or any(last <= c < item.position for c in cuts)):
                self._process(batch, first, last, when)
                batch = []
            if not batch:
                first = item.position
            batch.append(Datagram(item.payload, address_text(item.exporter), item.port))
            last, when = item.position, item.received
            replayed += 1
        if batch:
            self._process(batch, first, last, when)
        self.aggregator.replay_skip = {}
        if replayed:
            log.info("replayed the spool after a restart", extra={"datagrams": replayed})
        return replayed

    # -- the loop ----------------------------------------------------------------------------
    def serve(self, receiver: UdpReceiver, stop: threading.Event) -> None:
        """Receive until ``stop`` is set, then flush everything."""
        next_refresh = next_tick = 0.0
        drops_seen = receiver.drops()
        while not stop.is_set():
            try:
                self.ingest(
                    receiver.receive(self.settings.batch_size, self.settings.batch_wait, self.settings.batch_linger)
                )
                now = self.clock()
                if now >= next_refresh:
                    self.refresh()
                    drops = receiver.drops()
                    self.note_socket_drops(drops - drops_seen)
                    drops_seen = drops
                    next_refresh = now + self.settings.refresh_interval
                if now >= next_tick:
                    self.tick(now)
                    next_tick = now + self.settings.tick_interval
            except Exception:
                log.exception("collector loop error")
                stop.wait(0.5)
        self.ingest(receiver.receive(self.settings.batch_size, 0.001))
        self.drain()
        self.close()


@functools.lru_cache(maxsize=4096)
def _address16(host: str) -> bytes:
    """An exporter's address as the decoder's 16-byte value (parsed once per exporter)."""
    return exporter_address(host)
