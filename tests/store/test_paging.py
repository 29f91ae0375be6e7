"""store.paging: TotalCount is exact on every page, whether or not it needed a COUNT."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert
from sqlalchemy.engine import Connection

from cenflow.store.paging import by_page_number, by_token

metadata = MetaData()
items = Table("items", metadata, Column("seq", Integer, primary_key=True), Column("kind", String(8)))
ROWS = 10
KIND_A = sum(1 for i in range(ROWS) if i % 3)


@pytest.fixture
def tx() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(items), [{"kind": "a" if i % 3 else "b"} for i in range(ROWS)])
        yield connection


@pytest.mark.parametrize("page_size", [1, 3, 7, 9, 10, 11, 50])
def test_every_page_reports_the_total(tx: Connection, page_size: int) -> None:
    seen = []
    for page_number in range(1, ROWS // page_size + 3):
        page = by_page_number(tx, items, [], page_number, page_size)
        assert page.total == ROWS
        seen.extend(row.seq for row in page.rows)
    assert seen == list(range(1, ROWS + 1))


@pytest.mark.parametrize("page_size", [1, 3, 5, 6, 7, 50])
def test_filtered_pages_report_the_filtered_total(tx: Connection, page_size: int) -> None:
    for page_number in range(1, 10):
        assert by_page_number(tx, items, [items.c.kind == "a"], page_number, page_size).total == KIND_A


def test_nothing_matches(tx: Connection) -> None:
    page = by_page_number(tx, items, [items.c.kind == "z"], 1, 20)
    assert (list(page.rows), page.total) == ([], 0)


@pytest.mark.parametrize("max_results", [1, 3, 9, 10, 11])
def test_token_pages_report_the_total(tx: Connection, max_results: int) -> None:
    token: str | None = None
    seen = []
    while True:
        page = by_token(tx, items, [], token, max_results)
        assert page.total == ROWS
        seen.extend(row.seq for row in page.rows)
        if not page.next_token:
            break
        token = page.next_token
    assert seen == list(range(1, ROWS + 1))
