"""cenflow.store.nonces: claims on their own and inside a caller's transaction, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cenflow.store.database import Database
from cenflow.store.nonces import NonceStore

KEY = "LTAI5tNonceTestKey000001"


@pytest.fixture
def database(each_engine: Database) -> Database:
    return each_engine


def later(minutes: int = 16) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_nonce_is_claimed_once(database: Database) -> None:
    nonces = NonceStore(database)
    assert nonces.claim(KEY, "n-1", later())
    assert not nonces.claim(KEY, "n-1", later())
    assert nonces.claim("LTAI5tNonceTestKey000002", "n-1", later()), "nonces are per AccessKey"


def test_an_expired_record_may_be_claimed_again(database: Database) -> None:
    nonces = NonceStore(database)
    assert nonces.claim(KEY, "n-old", datetime.now(UTC) - timedelta(seconds=1))
    assert nonces.claim(KEY, "n-old", later())
    assert not nonces.claim(KEY, "n-old", later())


def test_a_claim_in_a_transaction_that_commits_is_kept(database: Database) -> None:
    nonces = NonceStore(database)
    with database.write() as tx:
        assert nonces.claim(KEY, "n-tx", later(), tx)
        assert not nonces.claim(KEY, "n-tx", later(), tx), "the transaction sees its own claim"
    assert not nonces.claim(KEY, "n-tx", later())


def test_a_claim_in_a_transaction_that_rolls_back_is_undone(database: Database) -> None:
    nonces = NonceStore(database)

    def failing_call() -> None:
        with database.write() as tx:
            assert nonces.claim(KEY, "n-rb", later(), tx)
            raise RuntimeError("the call failed")

    with pytest.raises(RuntimeError):
        failing_call()
    assert nonces.claim(KEY, "n-rb", later())


def test_purge_forgets_only_expired_nonces(database: Database) -> None:
    nonces = NonceStore(database)
    nonces.claim(KEY, "n-expired", datetime.now(UTC) - timedelta(seconds=1))
    nonces.claim(KEY, "n-live", later())
    assert nonces.purge_expired() == 1
    assert not nonces.claim(KEY, "n-live", later())
