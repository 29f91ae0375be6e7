"""The compile cache: one parse per policy version, and never a stale one."""

from __future__ import annotations

import threading

import pytest
from policy_builders import allow, deny, document

from cenflow.errors import ApiError
from cenflow.iam.policy import PolicyCache, PolicyType

CUSTOM = PolicyType.CUSTOM
READ = document(allow("cen:Describe*"))
WRITE = document(allow("cen:*"))


def test_a_version_is_compiled_once() -> None:
    cache = PolicyCache()

    first = cache.attached(CUSTOM, "Ops", "v1", READ)
    second = cache.attached(CUSTOM, "Ops", "v1", READ)

    assert first is second
    assert cache.compilations == 1
    assert (first.name, first.type, first.version) == ("Ops", CUSTOM, "v1")


def test_each_version_and_type_is_its_own_entry() -> None:
    cache = PolicyCache()

    cache.attached(CUSTOM, "Ops", "v1", READ)
    cache.attached(CUSTOM, "Ops", "v2", WRITE)
    cache.attached(PolicyType.SYSTEM, "Ops", "v1", READ)

    assert cache.compilations == 3
    assert len(cache) == 3


def test_a_recreated_policy_with_a_new_document_under_the_same_version_is_recompiled() -> None:
    cache = PolicyCache()
    old = cache.compiled(CUSTOM, "Ops", "v1", READ)

    new = cache.compiled(CUSTOM, "Ops", "v1", WRITE)

    assert new is not old
    assert new.document == WRITE
    assert cache.compilations == 2


def test_invalidate_one_version_or_all_versions() -> None:
    cache = PolicyCache()
    for version in ("v1", "v2", "v3"):
        cache.attached(CUSTOM, "Ops", version, READ)
    cache.attached(CUSTOM, "Other", "v1", READ)

    cache.invalidate(CUSTOM, "Ops", "v2")
    assert len(cache) == 3
    cache.invalidate(CUSTOM, "Ops")
    assert len(cache) == 1

    cache.attached(CUSTOM, "Ops", "v1", READ)
    assert cache.compilations == 5


def test_the_cache_is_bounded_and_drops_the_oldest_entry() -> None:
    cache = PolicyCache(max_entries=2)
    cache.attached(CUSTOM, "A", "v1", READ)
    cache.attached(CUSTOM, "B", "v1", READ)

    cache.attached(CUSTOM, "C", "v1", READ)
    cache.attached(CUSTOM, "B", "v1", READ)
    assert cache.compilations == 3
    cache.attached(CUSTOM, "A", "v1", READ)
    assert cache.compilations == 4


def test_session_policies_are_cached_by_their_text() -> None:
    cache = PolicyCache()
    text = document(allow("cen:*"), deny("cen:Delete*"))

    assert cache.session_policy(text) is cache.session_policy(text)
    assert cache.compilations == 1


def test_session_policies_are_validated_as_session_policies() -> None:
    with pytest.raises(ApiError) as caught:
        PolicyCache().session_policy('{"Version": "1"}')

    assert caught.value.code == "InvalidParameter.PolicyGrammar"


def test_an_invalid_stored_document_raises_and_is_not_cached() -> None:
    cache = PolicyCache()

    with pytest.raises(ApiError):
        cache.attached(CUSTOM, "Broken", "v1", "{}")

    assert len(cache) == 0


def test_clear_forgets_everything() -> None:
    cache = PolicyCache()
    cache.attached(CUSTOM, "Ops", "v1", READ)
    cache.session_policy(READ)

    cache.clear()

    assert len(cache) == 0


def test_concurrent_lookups_return_working_policies() -> None:
    cache = PolicyCache(max_entries=8)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(200):
                name = f"P{(worker + i) % 16}"
                assert cache.compiled(CUSTOM, name, "v1", READ).statements
        except BaseException as error:  # the assertion must reach the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(cache) <= 8


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PolicyCache(max_entries=0)
