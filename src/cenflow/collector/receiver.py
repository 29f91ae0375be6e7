"""The UDP receive path: a large socket buffer, batched reads, kernel drops made visible.

Ask for a large ``SO_RCVBUF`` (64 MiB by default) so bursts wait in the kernel instead of being
dropped; Linux caps the request at ``net.core.rmem_max`` (often only 208 KiB), so raise that
(``sysctl -w net.core.rmem_max=67108864``) on a collector host.  Running as root, cenflow uses
``SO_RCVBUFFORCE``, which ignores the cap.  Datagrams the kernel drops anyway are read from
``/proc/net/udp`` (the socket's ``drops`` column) and exported as a metric.
"""

from __future__ import annotations

import logging
import math
import os
import select
import socket
import time
from pathlib import Path

from cenflow.flow.speedups import NATIVE

log = logging.getLogger(__name__)

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
MAX_DATAGRAM = 65535

Received = tuple[bytes, str, int, float]  # payload, exporter address, exporter port, receive time


class UdpReceiver:
    def __init__(self, host: str, port: int, *, buffer_bytes: int = 64 << 20, reuse_port: bool = False) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        if reuse_port:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        for option in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, buffer_bytes)
                break
            except PermissionError:
                continue
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.buffer_bytes = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self._inode = os.fstat(self.sock.fileno()).st_ino
        self._poller = select.poll()
        self._poller.register(self.sock, select.POLLIN)
        if self.buffer_bytes < buffer_bytes:
            log.warning(
                "UDP receive buffer is smaller than asked; raise net.core.rmem_max",
                extra={"asked": buffer_bytes, "got": self.buffer_bytes},
            )

    def receive(self, max_count: int = 512, max_wait: float = 0.05, linger: float = 0.0) -> list[Received]:
        """Up to ``max_count`` datagrams: waits at most ``max_wait`` for the first, then drains the
        queue, and for up to ``linger`` seconds after the first keeps taking what arrives while the
        batch is not full.  Every datagram of a batch gets the first one's receive time.

        Lingering trades a few milliseconds of delay for fewer, larger batches: paced exporters
        otherwise hand over a dozen datagrams at a time, and every batch has fixed costs.
        """
        batch: list[Received] = []
        self.sock.settimeout(max_wait)
        try:
            payload, address = self.sock.recvfrom(MAX_DATAGRAM)
        except (TimeoutError, BlockingIOError):
            return batch
        now = time.time()
        batch.append((payload, address[0], address[1], now))
        self._drain(batch, max_count, now)
        if linger > 0 and len(batch) < max_count:
            deadline = time.monotonic() + linger
            while len(batch) < max_count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._poller.poll(math.ceil(remaining * 1000)):
                    break
                self._drain(batch, max_count, now)
        return batch

    def _drain(self, batch: list[Received], max_count: int, now: float) -> None:
        """Append what is queued now, without waiting, until the batch holds ``max_count``."""
        if NATIVE is not None and self.sock.family == socket.AF_INET:
            # A few recvmmsg calls instead of one recvfrom per datagram.
            NATIVE.drain_udp(self.sock.fileno(), max_count - len(batch), now, batch)
            return
        self.sock.setblocking(False)
        try:
            while len(batch) < max_count:
                payload, address = self.sock.recvfrom(MAX_DATAGRAM)
                batch.append((payload, address[0], address[1], now))
        except (BlockingIOError, InterruptedError):
            pass

    def drops(self) -> int:
        """Datagrams the kernel dropped for this socket so far (0 when unknown)."""
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) >= 13 and fields[9] == str(self._inode):
                    return int(fields[12])
        return 0

    def close(self) -> None:
        self.sock.close()
