"""Template stores: the JSON directory store and the in-memory one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cenflow.flow import FieldSpec, JsonDirTemplateStore, MemoryTemplateStore, Template, TemplateKey, TemplateKind
from cenflow.flow.template_store import TemplateStore


def template(exporter: str = "2001:db8::7", template_id: int = 300, last_seen: float = 1.5) -> Template:
    return Template(
        key=TemplateKey(exporter, 4739, 10, 7, template_id),
        kind=TemplateKind.OPTIONS,
        fields=(FieldSpec(143, 4), FieldSpec(82, 65535), FieldSpec(12, 4, 5951)),
        scope_field_count=1,
        last_seen=last_seen,
    )


@pytest.fixture(params=["memory", "json"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TemplateStore:
    return MemoryTemplateStore() if request.param == "memory" else JsonDirTemplateStore(tmp_path / "t")


def test_saved_template_loads_back_equal(store: TemplateStore) -> None:
    store.save(template())
    assert store.load() == [template()]


def test_save_replaces_and_delete_removes(store: TemplateStore) -> None:
    store.save(template(last_seen=1.0))
    store.save(template(last_seen=2.0))
    store.save(template(template_id=301))
    assert sorted(t.last_seen for t in store.load()) == [1.5, 2.0]
    store.delete(template().key)
    store.delete(template().key)  # deleting twice is fine
    assert [t.key.template_id for t in store.load()] == [301]


def test_json_store_survives_a_new_instance_and_skips_broken_files(tmp_path: Path) -> None:
    JsonDirTemplateStore(tmp_path).save(template(exporter="192.0.2.1"))
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "partial.json").write_text('{"exporter": "192.0.2.1"}')
    assert JsonDirTemplateStore(tmp_path).load() == [template(exporter="192.0.2.1")]


def test_json_store_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = JsonDirTemplateStore(tmp_path)
    for i in range(5):
        store.save(template(last_seen=float(i)))
    assert [p.name for p in tmp_path.iterdir()] == ["v10_2001_db8__7_4739_7_300.json"]
