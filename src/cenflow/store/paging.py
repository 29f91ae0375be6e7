"""Paging: PageNumber/PageSize (offset) and NextToken/MaxResults (keyset on ``seq``).

Listings are ordered by ``seq`` (creation order), which is the primary key, so a NextToken
page is an index range scan whatever the table size.  NextToken is the last ``seq`` seen,
encoded so callers treat it as opaque.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, bindparam, func, select

from cenflow.domain import errors as e


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    total: int
    next_token: str = ""


def encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "seq" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise e.ILLEGAL_NEXT_TOKEN() from exc


def count(tx: Connection, table: Table, where: Sequence[ColumnElement[bool]]) -> int:
    return int(tx.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


@dataclass(frozen=True)
class PageQuery:
    """A listing's page and count statements; build it once for a hot listing, with bound parameters."""

    rows: Select[Any]
    count: Select[Any]


def page_query(table: Table, where: Sequence[ColumnElement[bool]]) -> PageQuery:
    rows = (
        select(table)
        .where(*where)
        .order_by(table.c.seq)
        .limit(bindparam("page_limit"))
        .offset(bindparam("page_offset"))
    )
    return PageQuery(rows, select(func.count()).select_from(table).where(*where))


def by_page_number(
    tx: Connection,
    table: Table,
    where: Sequence[ColumnElement[bool]],
    page_number: int,
    page_size: int,
    total: Callable[[], int] | None = None,
) -> Page:
    """A page in ``seq`` order; ``total``, when given, counts the rows ``where`` selects more cheaply."""
    return page_by_number(tx, page_query(table, where), {}, page_number, page_size, total)


def page_by_number(
    tx: Connection,
    query: PageQuery,
    params: Mapping[str, Any],
    page_number: int,
    page_size: int,
    total: Callable[[], int] | None = None,
) -> Page:
    """:func:`by_page_number` with statements built beforehand; ``params`` are their bound values."""
    return page_of(
        lambda limit, offset: tx.execute(query.rows, {**params, "page_limit": limit, "page_offset": offset}).all(),
        total or (lambda: int(tx.execute(query.count, dict(params)).scalar_one())),
        page_number,
        page_size,
    )


def page_of(
    fetch: Callable[[int, int], Sequence[Any]], total: Callable[[], int], page_number: int, page_size: int
) -> Page:
    """Page ``page_number`` from ``fetch(limit, offset)``; ``total()`` counts every row when needed."""
    offset = (page_number - 1) * page_size
    rows = fetch(page_size, offset)
    # A short page that is not past the end is the last one: the total is known without a
    # COUNT, which costs a scan of every matching row (a lookup by id is always this case).
    if len(rows) < page_size and (rows or offset == 0):
        return Page(rows, offset + len(rows))
    return Page(rows, total())


def by_token(
    tx: Connection, table: Table, where: Sequence[ColumnElement[bool]], token: str | None, max_results: int
) -> Page:
    conditions = list(where)
    if token:
        conditions.append(table.c.seq > decode_token(token))
    rows = tx.execute(select(table).where(*conditions).order_by(table.c.seq).limit(max_results + 1)).all()
    more = len(rows) > max_results
    rows = rows[:max_results]
    total = len(rows) if not token and not more else count(tx, table, where)
    return Page(rows, total, encode_token(rows[-1].seq) if more else "")
