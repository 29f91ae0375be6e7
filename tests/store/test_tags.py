"""cenflow.store.tags.tags_of: every resource's tags, ordered by key, for lists longer than one
chunk of the driver statement too; on both engines."""

from __future__ import annotations

import pytest

from cenflow.store.database import Database
from cenflow.store.tags import CHUNK, put_tags, tags_of


@pytest.mark.parametrize("count", [0, 1, CHUNK, 2 * CHUNK + 7])
def test_tags_of_returns_each_resources_tags_ordered_by_key(each_engine: Database, count: int) -> None:
    ids = [f"flowlog-{n:04d}" for n in range(count)]
    with each_engine.write() as tx:
        for n, resource_id in enumerate(ids):
            if n % 3:  # every third resource has no tags
                put_tags(tx, "Flowlog", resource_id, {"zone": f"z{n}", "app": f"a{n}"})
        put_tags(tx, "Cen", "flowlog-0001", {"other": "type"})  # same id, another resource type
    with each_engine.read() as tx:
        found = tags_of(tx, "Flowlog", ids)
    assert list(found) == ids
    for n, resource_id in enumerate(ids):
        expected = [("app", f"a{n}"), ("zone", f"z{n}")] if n % 3 else []
        assert list(found[resource_id].items()) == expected
