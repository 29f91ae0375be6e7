from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cenflow.cli.logs import logs, parse_time
from cenflow.logstore import LogStore
from tests.logstore.conftest import DAY, HOUR, LOGSTORE, PROJECT, data_files, window

WHERE = ["-p", PROJECT, "-l", LOGSTORE]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    store = LogStore.in_data_dir(tmp_path)
    store.append(PROJECT, LOGSTORE, window(DAY, 2, fields=("srcaddr", "dstaddr", "bytes", "packets")))
    store.append(PROJECT, LOGSTORE, window(DAY + HOUR, 1, fields=("srcaddr", "dstaddr", "bytes", "dstport"), seed=5))
    return tmp_path


def run(*args: str, data_dir: Path | None = None, env: dict[str, str] | None = None) -> Result:
    extra = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return CliRunner().invoke(logs, [*args, *extra], env=env, catch_exceptions=False)


def test_query_json_prints_one_object_per_record_keyed_by_cen_fields(data_dir: Path) -> None:
    result = run("query", *WHERE, data_dir=data_dir)

    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["window-start"] for o in objects] == [DAY, DAY, DAY + HOUR]  # oldest window first
    assert sorted(objects, key=lambda o: (o["window-start"], o["srcaddr"])) == [
        {
            "srcaddr": "10.0.0.1",
            "dstaddr": "10.1.0.1",
            "packets": 10,
            "bytes": 1000,
            "flow-log-id": "flowlog-aaaa",
            "window-start": DAY,
        },
        {
            "srcaddr": "10.0.0.2",
            "dstaddr": "10.1.0.2",
            "packets": 11,
            "bytes": 2000,
            "flow-log-id": "flowlog-aaaa",
            "window-start": DAY,
        },
        {
            "srcaddr": "10.0.5.1",
            "dstaddr": "10.1.0.1",
            "dstport": 443,
            "bytes": 1005,
            "flow-log-id": "flowlog-aaaa",
            "window-start": DAY + HOUR,
        },
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (str(DAY + HOUR), str(DAY + 2 * HOUR)),
        ("2024-06-01T01:00:00Z", "2024-06-01T02:00:00+00:00"),
        ("2024-06-01T01:00:00", "2024-06-01T03:00:00+01:00"),  # naive means UTC
    ],
)
def test_query_time_bounds_accept_unix_seconds_and_iso_8601(data_dir: Path, start: str, end: str) -> None:
    result = run("query", *WHERE, "--from", start, "--to", end, data_dir=data_dir)
    assert [json.loads(line)["window-start"] for line in result.stdout.splitlines()] == [DAY + HOUR]


def test_parse_time_reads_dates_and_seconds() -> None:
    assert parse_time("2024-06-01") == DAY
    assert parse_time(" 1717200000 ") == DAY


def test_an_unreadable_time_is_a_usage_error(data_dir: Path) -> None:
    result = run("query", *WHERE, "--from", "yesterday", data_dir=data_dir)
    assert result.exit_code == 2
    assert "neither unix seconds nor an ISO-8601 time" in result.stderr


def test_query_table_shows_the_fields_some_record_has_with_dashes_for_none(data_dir: Path) -> None:
    result = run("query", *WHERE, "--format", "table", data_dir=data_dir)

    header, *rows = result.stdout.splitlines()
    assert header.split() == ["srcaddr", "dstaddr", "dstport", "packets", "bytes", "flow-log-id", "window-start"]
    assert rows[0].split() == ["10.0.0.1", "10.1.0.1", "-", "10", "1000", "flowlog-aaaa", str(DAY)]
    assert len(rows) == 3


def test_query_where_order_and_limit(data_dir: Path) -> None:
    result = run("query", *WHERE, "--where", "bytes > 1000", "--order", "bytes desc", "-n", "1", data_dir=data_dir)
    assert [json.loads(line)["bytes"] for line in result.stdout.splitlines()] == [2000]


def test_a_bad_where_is_a_clean_error_without_traceback(data_dir: Path) -> None:
    result = run("query", *WHERE, "--where", "bytes > 1; DROP TABLE x", data_dir=data_dir)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: where must be a single SQL boolean expression")
    assert "Traceback" not in result.output


def test_data_dir_comes_from_the_environment(data_dir: Path) -> None:
    result = run("query", *WHERE, env={"CENFLOW_DATA_DIR": str(data_dir)})
    assert len(result.stdout.splitlines()) == 3


def test_database_url_is_accepted_and_ignored(data_dir: Path) -> None:
    result = run("query", *WHERE, "--database-url", "postgresql://nowhere/x", data_dir=data_dir)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3


def test_a_logstore_without_records_prints_nothing_and_says_so(tmp_path: Path) -> None:
    result = run("query", "-p", PROJECT, "-l", "empty-store", data_dir=tmp_path)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "nothing is stored for flowlogs/empty-store" in result.stderr


def test_top_prints_talkers_as_json_lines(data_dir: Path) -> None:
    result = run("top", *WHERE, "--by", "dstaddr", "--format", "json", data_dir=data_dir)
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"dstaddr": "10.1.0.1", "bytes": 2005, "packets": 10, "flows": 2},
        {"dstaddr": "10.1.0.2", "bytes": 2000, "packets": 11, "flows": 1},
    ]


def test_traffic_table_shows_bucket_starts_as_utc_times(data_dir: Path) -> None:
    result = run("traffic", *WHERE, "--bucket", "3600", data_dir=data_dir)
    assert result.stdout.splitlines() == [
        "bucket                bytes  packets  flows",
        "2024-06-01T00:00:00Z  3000   21       2",
        "2024-06-01T01:00:00Z  1005   0        1",
    ]


def test_compact_reports_and_merges_closed_hours(tmp_path: Path) -> None:
    store = LogStore.in_data_dir(tmp_path)
    for minute in range(3):
        store.append(PROJECT, LOGSTORE, window(DAY + 60 * minute))

    result = run("compact", data_dir=tmp_path)

    assert result.stdout.splitlines() == [
        f"{PROJECT}/{LOGSTORE} 2024-06-01T00:00:00Z: 3 files -> 1, 9 rows",
        "1 hour(s) compacted",
    ]
    assert len(data_files(store)) == 1


def test_retention_set_show_and_apply(tmp_path: Path) -> None:
    store = LogStore.in_data_dir(tmp_path)
    now_hour = int(time.time()) // HOUR * HOUR
    store.append(PROJECT, LOGSTORE, window(now_hour - 40 * 86400))
    store.append(PROJECT, LOGSTORE, window(now_hour))

    assert (
        run("retention", "set", *WHERE, "--days", "30", data_dir=tmp_path).stdout
        == f"{PROJECT}/{LOGSTORE}: retention 30 days\n"
    )
    shown = run("retention", "show", data_dir=tmp_path).stdout.splitlines()
    assert shown[0].split() == ["project", "logstore", "retention_days", "hours", "oldest", "expired_hours"]
    assert shown[1].split()[:4] == [PROJECT, LOGSTORE, "30", "2"]
    assert shown[1].split()[-1] == "1"

    dry = run("retention", "apply", "--dry-run", data_dir=tmp_path)
    assert dry.stdout.splitlines()[-1] == "would drop 1 hour(s) in total"
    assert store.query(PROJECT, LOGSTORE).num_rows == 6

    applied = run("retention", "apply", data_dir=tmp_path)
    assert applied.stdout.splitlines()[-1] == "dropped 1 hour(s) in total"
    assert store.query(PROJECT, LOGSTORE).num_rows == 3


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        ((), ["query", "top", "traffic", "compact", "retention"]),
        (
            ("query",),
            ["--from", "--to", "--where", "--limit", "--format", "--data-dir", "CENFLOW_DATA_DIR", "ISO-8601"],
        ),
        (("top",), ["--by", "--metric", "pair", "packets"]),
        (("traffic",), ["--bucket"]),
        (("compact",), ["--settle", "--max-rows-per-file"]),
        (("retention", "apply"), ["--dry-run", "--default-days"]),
    ],
)
def test_help_explains_every_option(command: tuple[str, ...], mentions: list[str]) -> None:
    result = CliRunner().invoke(logs, [*command, "--help"])
    assert result.exit_code == 0
    for word in mentions:
        assert word in result.stdout
    assert "--database-url" not in result.stdout
