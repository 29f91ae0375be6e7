"""Tags of every resource type, in one table keyed by (type, id, key)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, exists, func, insert, select

from cenflow.store.driver import DriverStatement
from cenflow.store.tables import tags

# Every listing reads its page's tags: on the driver (see DriverStatement), one statement per
# number of ids, and longer lists in chunks of that many.
CHUNK = 100


@functools.lru_cache(maxsize=CHUNK)
def _tags_of(count: int) -> DriverStatement:
    marks = ", ".join("?" * count)
    return DriverStatement(
        f'SELECT resource_id, "key", "value" FROM tags WHERE resource_type = ? AND resource_id IN ({marks})'
        ' ORDER BY resource_id, "key"'
    )


def tags_of(tx: Connection, resource_type: str, resource_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Tags of many resources, a query per hundred (each resource's ordered by key)."""
    result: dict[str, dict[str, str]] = {rid: {} for rid in resource_ids}
    for begin in range(0, len(resource_ids), CHUNK):
        chunk = resource_ids[begin : begin + CHUNK]
        for resource_id, key, value in _tags_of(len(chunk)).all(tx, resource_type, *chunk):
            result[resource_id][key] = value
    return result


def put_tags(tx: Connection, resource_type: str, resource_id: str, values: dict[str, str]) -> None:
    """Add tags, overwriting the value of a key the resource already has."""
    if not values:
        return
    tx.execute(
        delete(tags).where(
            tags.c.resource_type == resource_type,
            tags.c.resource_id == resource_id,
            tags.c.key.in_(list(values)),
        )
    )
    tx.execute(
        insert(tags),
        [{"resource_type": resource_type, "resource_id": resource_id, "key": k, "value": v} for k, v in values.items()],
    )


def remove_tags(tx: Connection, resource_type: str, resource_id: str, keys: Iterable[str] | None) -> None:
    """Remove the given keys, or every tag when ``keys`` is None."""
    condition = and_(tags.c.resource_type == resource_type, tags.c.resource_id == resource_id)
    if keys is not None:
        condition = and_(condition, tags.c.key.in_(list(keys)))
    tx.execute(delete(tags).where(condition))


def tag_count(tx: Connection, resource_type: str, resource_id: str) -> int:
    return int(
        tx.execute(
            select(func.count()).where(tags.c.resource_type == resource_type, tags.c.resource_id == resource_id)
        ).scalar_one()
    )


def having_tags(
    id_column: ColumnElement[Any], resource_type: str, filters: Sequence[tuple[str, str | None]]
) -> list[ColumnElement[bool]]:
    """WHERE clauses: the resource carries every (key, value) pair; a None value matches any value."""
    clauses: list[ColumnElement[bool]] = []
    for key, value in filters:
        condition = and_(tags.c.resource_type == resource_type, tags.c.resource_id == id_column, tags.c.key == key)
        if value is not None:
            condition = and_(condition, tags.c.value == value)
        clauses.append(exists().where(condition))
    return clauses


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in values.items()]
