"""The collector's checkpoint: where a restart replays the spool from, and what to skip.

Written atomically (temporary file, fsync, rename) after every flush.  ``position`` is the
oldest spool position any open window holds data from; ``skip`` lists windows already flushed
whose data reaches past ``position``, with the last position they included, so a replay does
not write them again from partial data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from cenflow.collector.windows import Window


@dataclass
class Checkpoint:
    position: int = 0
    watermark_ms: int = 0
    skip: dict[tuple[str, int], int] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        document = {
            "position": self.position,
            "watermark_ms": self.watermark_ms,
            "skip": [[flow_log, start, last] for (flow_log, start), last in sorted(self.skip.items())],
        }
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def holding(self, unwritten: Iterable[Window]) -> Checkpoint:
        """This checkpoint, but replaying the data of windows that are not in the store yet.

        A window closed by idleness has a skip entry (replay would drop its data as stored):
        dropped for an unwritten one.  A late part's entry is its window's, which is stored.
        """
        windows = list(unwritten)
        if not windows:
            return self
        positions = [w.first_position for w in windows if w.first_position is not None]
        keys = {(w.flow_log_id, w.start) for w in windows if not w.late_part}
        return replace(
            self,
            position=min([self.position, *positions]),
            skip={key: last for key, last in self.skip.items() if key not in keys},
        )

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls(
            position=int(document["position"]),
            watermark_ms=int(document.get("watermark_ms", 0)),
            skip={(str(f), int(s)): int(last) for f, s, last in document.get("skip", [])},
        )
