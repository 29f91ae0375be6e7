"""Running a collector in a background thread (inside ``cenflow serve`` or ``cenflow collector``)."""

from __future__ import annotations

import logging
import threading

from cenflow.collector.receiver import UdpReceiver
from cenflow.collector.service import Collector

log = logging.getLogger(__name__)


class CollectorThread:
    def __init__(self, collector: Collector, receiver: UdpReceiver) -> None:
        self.collector = collector
        self.receiver = receiver
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"collector-{receiver.port}", daemon=True)

    def start(self) -> None:
        # The plan first: replayed flows are routed to the flow logs Active now, like live ones.
        self.collector.refresh()
        replayed = self.collector.recover()
        log.info(
            "collector listening",
            extra={
                "address": f"{self.receiver.host}:{self.receiver.port}",
                "receive_buffer": self.receiver.buffer_bytes,
                "replayed": replayed,
            },
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            self.collector.serve(self.receiver, self._stop)
        finally:
            self.receiver.close()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop receiving and write every open window (graceful shutdown)."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("collector did not stop in time; open windows remain in the spool")
