"""Data sets that arrived before their template, held for a bounded time and size.

Exporters refresh templates periodically, so a collector that starts (or an exporter that
reorders) sees data it cannot decode yet.  Such sets wait here, keyed by stream and template id,
until the template arrives (then they are decoded with their original header context), they are
older than `max_age` seconds, or keeping them would exceed `max_bytes` (oldest dropped first).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from cenflow.flow.streams import ExporterStream, MessageContext


@dataclass(slots=True, eq=False)
class PendingSet:
    template_id: int
    body: bytes
    context: MessageContext
    arrived: float
    alive: bool = True


class PendingSets:
    def __init__(self, max_bytes: int = 8 << 20, max_age: float = 120.0) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.bytes = 0
        self.count = 0
        self._fifo: deque[PendingSet] = deque()
        self._by_key: dict[tuple[int, int], list[PendingSet]] = {}

    def add(self, template_id: int, body: bytes, context: MessageContext, now: float) -> tuple[bool, int]:
        """Buffer a set; return (kept, number of older sets dropped to make room)."""
        if len(body) > self.max_bytes:
            return False, 0
        entry = PendingSet(template_id, body, context, now)
        self._fifo.append(entry)
        self._by_key.setdefault((id(context.stream), template_id), []).append(entry)
        self.bytes += len(body)
        self.count += 1
        dropped = 0
        while self.bytes > self.max_bytes:
            dropped += self._pop_oldest()
        return True, dropped

    def take(self, stream: ExporterStream, template_id: int) -> list[PendingSet]:
        """Remove and return the sets waiting for this template, oldest first."""
        entries = self._by_key.pop((id(stream), template_id), None)
        if not entries:
            return []
        for entry in entries:
            self._retire(entry)
        self._compact()
        return entries

    def drop_stream(self, stream: ExporterStream) -> int:
        keys = [key for key in self._by_key if key[0] == id(stream)]
        dropped = 0
        for key in keys:
            for entry in self._by_key.pop(key):
                self._retire(entry)
                dropped += 1
        self._compact()
        return dropped

    def expire(self, now: float) -> int:
        expired = 0
        while self._fifo and (not self._fifo[0].alive or now - self._fifo[0].arrived > self.max_age):
            expired += self._pop_oldest()
        return expired

    def _pop_oldest(self) -> int:
        entry = self._fifo.popleft()
        if not entry.alive:
            return 0
        key = (id(entry.context.stream), entry.template_id)
        siblings = self._by_key.get(key)
        if siblings is not None:
            siblings.remove(entry)
            if not siblings:
                del self._by_key[key]
        self._retire(entry)
        return 1

    def _compact(self) -> None:
        # Retired entries stay in the FIFO until they reach its head; rebuild it when they
        # outnumber the live ones so their bodies do not pile up behind a long-lived entry.
        if len(self._fifo) > 2 * self.count + 64:
            self._fifo = deque(entry for entry in self._fifo if entry.alive)

    def _retire(self, entry: PendingSet) -> None:
        if entry.alive:
            entry.alive = False
            self.bytes -= len(entry.body)
            self.count -= 1
