from __future__ import annotations

from cenflow.logstore import LogStore
from tests.logstore.conftest import DAY, HOUR, PROJECT, data_files, window

NOW = DAY + 40 * 86400


def test_maintain_applies_retention_then_compacts_every_logstore(store: LogStore) -> None:
    for logstore in ("first", "second"):
        store.append(PROJECT, logstore, window(DAY))  # 40 days old
        for minute in range(3):
            store.append(PROJECT, logstore, window(NOW - 2 * HOUR + 60 * minute))

    report = store.maintain(now=NOW, default_retention_days=30)

    assert report.failed == []
    assert [(r.logstore, r.dropped) for r in report.retention] == [("first", [DAY]), ("second", [DAY])]
    assert [(r.logstore, r.files_before, r.files_after) for r in report.compacted] == [
        ("first", 3, 1),
        ("second", 3, 1),
    ]
    assert [len(data_files(store, PROJECT, ls)) for ls in ("first", "second")] == [1, 1]


def test_a_broken_logstore_does_not_stop_the_upkeep_of_the_others(store: LogStore) -> None:
    for logstore in ("broken", "healthy"):
        for minute in range(2):
            store.append(PROJECT, logstore, window(DAY + 60 * minute))
    (store.store_dir(PROJECT, "broken").partition(DAY).path / "w.1717200120.flowlog-x.w.parquet").write_bytes(b"junk")

    report = store.maintain(now=NOW)

    assert [f.split(":")[0] for f in report.failed] == [f"{PROJECT}/broken"]
    assert [r.logstore for r in report.compacted] == ["healthy"]
    assert len(data_files(store, PROJECT, "healthy")) == 1
