"""The collector's checkpoint: where a restart replays the spool from, and what to skip.

Written atomically (temporary file, fsync, rename) after every flush.  ``position`` is the
oldest spool position any open window holds data from; ``skip`` lists windows already flushed
whose data reaches past ``position``, with the last position they included, so a replay does
not write them again from partial data.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


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
