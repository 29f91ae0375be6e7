"""DescribeFlowlogs against a brute-force filter of the same rows: every filter, tags, pages, totals.

The handler builds its statements once per combination of filters and takes the unfiltered
total from the kept counts; this checks that both give exactly what filtering the rows does.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from cenflow.api.cbn.flowlogs import DESCRIBE, describe_flowlogs
from cenflow.api.context import CallContext
from cenflow.config import Settings
from cenflow.domain.regions import RegionCatalogue
from cenflow.domain.resources import FLOWLOG
from cenflow.iam.principal import root_principal
from cenflow.services import Services
from cenflow.store.database import Database
from cenflow.store.migrate import upgrade
from cenflow.store.tables import flowlogs
from cenflow.store.tags import put_tags

ACCOUNT, OTHER = "1000000000000001", "1000000000000002"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = {
    "RegionId": ("region_id", ["cn-hangzhou", "cn-beijing"]),
    "CenId": ("cen_id", ["cen-a", "cen-b"]),
    "Status": ("status", ["Active", "Inactive"]),
    "Interval": ("interval", [60, 600]),
    "FlowLogName": ("name", ["x", "y", "z"]),
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, list[dict[str, Any]]]]:
    path: Path = tmp_path_factory.mktemp("describe") / "cenflow.db"
    database = Database(f"sqlite:///{path}", sqlite_synchronous="OFF")
    upgrade(database)
    rng = random.Random(7)
    seeded = []
    for index in range(60):
        row: dict[str, Any] = {column: rng.choice(values) for column, values in FIELDS.values()}
        row.update(
            flow_log_id=f"flowlog-{index:020d}",
            account_id=OTHER if index % 10 == 9 else ACCOUNT,
            transit_router_id="tr-1",
            attachment_id=None,
            scope_id=f"scope-{index}",
            description="",
            project_name="p",
            logstore_name="l",
            log_format="",
            version="3",
            created_at=NOW + timedelta(seconds=index),
        )
        seeded.append(row)
    with database.write() as tx:
        tx.execute(insert(flowlogs), seeded)
        for row in seeded[::3]:
            put_tags(tx, FLOWLOG, row["flow_log_id"], {"team": "blue" if row["interval"] == 60 else "red"})
            row["tags"] = {"team": "blue" if row["interval"] == 60 else "red"}
    yield database, seeded
    database.dispose()


def call(database: Database, flat: dict[str, str]) -> dict[str, Any]:
    services = Services(Settings(), database, RegionCatalogue.load(), ACCOUNT)
    with database.read() as tx:
        ctx = CallContext("r", root_principal(ACCOUNT), "127.0.0.1", False, NOW, tx, services)
        return describe_flowlogs(ctx, DESCRIBE.parse(flat))


def expected(seeded: list[dict[str, Any]], flat: dict[str, str]) -> list[str]:
    def matches(row: dict[str, Any]) -> bool:
        if row["account_id"] != ACCOUNT:
            return False
        for name, (column, _) in FIELDS.items():
            if name in flat and str(row[column]) != flat[name]:
                return False
        if "Tag.1.Key" in flat:
            tags = row.get("tags", {})
            if flat["Tag.1.Key"] not in tags or tags[flat["Tag.1.Key"]] != flat.get("Tag.1.Value", tags.get("team")):
                return False
        return True

    return [row["flow_log_id"] for row in seeded if matches(row)]


FILTERS = [
    dict(zip(names, values, strict=True))
    for size in (0, 1, 2)
    for names in itertools.combinations(FIELDS, size)
    for values in itertools.product(*(map(str, FIELDS[name][1][:2]) for name in names))
]


@pytest.mark.parametrize("flat", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "none")
@pytest.mark.parametrize("page_size", [5, 50])
def test_every_page_of_every_filter(
    rows: tuple[Database, list[dict[str, Any]]], flat: dict[str, str], page_size: int
) -> None:
    database, seeded = rows
    want = expected(seeded, flat)
    got: list[str] = []
    for page_number in range(1, len(want) // page_size + 3):
        body = call(database, {**flat, "PageSize": str(page_size), "PageNumber": str(page_number)})
        assert body["TotalCount"] == str(len(want))
        got.extend(item["FlowLogId"] for item in body["FlowLogs"]["FlowLog"])
    assert got == want


@pytest.mark.parametrize("tag", [{"Tag.1.Key": "team"}, {"Tag.1.Key": "team", "Tag.1.Value": "blue"}])
@pytest.mark.parametrize("extra", [{}, {"RegionId": "cn-hangzhou"}, {"Status": "Active"}])
def test_tag_filters(rows: tuple[Database, list[dict[str, Any]]], tag: dict[str, str], extra: dict[str, str]) -> None:
    database, seeded = rows
    flat = {**tag, **extra, "PageSize": "5"}
    want = expected(seeded, flat)
    body = call(database, flat)
    assert body["TotalCount"] == str(len(want))
    assert [item["FlowLogId"] for item in body["FlowLogs"]["FlowLog"]] == want[:5]


def test_by_id(rows: tuple[Database, list[dict[str, Any]]]) -> None:
    database, seeded = rows
    mine = next(row for row in seeded if row["account_id"] == ACCOUNT)
    theirs = next(row for row in seeded if row["account_id"] == OTHER)
    body = call(database, {"FlowLogId": mine["flow_log_id"]})
    assert (body["TotalCount"], body["FlowLogs"]["FlowLog"][0]["FlowLogId"]) == ("1", mine["flow_log_id"])
    assert call(database, {"FlowLogId": theirs["flow_log_id"]})["TotalCount"] == "0"
