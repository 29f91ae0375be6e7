"""A reader in its own process: observes a logstore in a loop until told to stop.

Usage: python -m tests.logstore.reader_probe DATA_DIR STOP_FILE

Each observation is one JSON line on stdout: rows, distinct window keys, the smallest and
largest number of rows of a key, the sum of bytes, and how many files the snapshot read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cenflow.logstore import LogStore
from cenflow.logstore.query import read_session
from tests.logstore.conftest import LOGSTORE, PROJECT

OBSERVE = """
SELECT sum(n), count(DISTINCT ("flow-log-id", "window-start")), min(n), max(n), sum(total)
FROM (SELECT "flow-log-id", "window-start", count(*) AS n, sum(bytes) AS total FROM log GROUP BY ALL)
"""


def main() -> None:
    data_dir, stop_file = Path(sys.argv[1]), Path(sys.argv[2])
    store_dir = LogStore.in_data_dir(data_dir).store_dir(PROJECT, LOGSTORE)
    while not stop_file.exists():
        with read_session(store_dir) as session:
            rows, keys, smallest, largest, total = session.run(lambda con: con.sql(OBSERVE).fetchall()[0])
            files = len(session.sources)
        observation = {
            "rows": int(rows),
            "keys": keys,
            "min": smallest,
            "max": largest,
            "bytes": int(total),
            "files": files,
        }
        print(json.dumps(observation), flush=True)


if __name__ == "__main__":
    main()
