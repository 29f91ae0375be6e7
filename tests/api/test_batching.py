"""cenflow.api.batching: on SQLite the calls ready in one turn of the event loop share a commit.

A real runtime on a SQLite data directory, requests signed with the SDK's own V3 signing.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from alibabacloud_tea_openapi.utils import Utils
from sqlalchemy import event, func, select

from cenflow.api.batching import CallRunner
from cenflow.api.gateway import CallOutcome
from cenflow.app import Runtime, build_runtime
from cenflow.config import Settings
from cenflow.errors import ApiError
from cenflow.store.epochs import collection_epoch
from cenflow.store.tables import cens
from cenflow.wire.request import WireRequest

ACCOUNT = "1357924680135792"
KEY_ID = "LTAI5tBatchTestKey000001"
SECRET = "BatchTestSecret0123456789abcde"
EMPTY = hashlib.sha256(b"").hexdigest()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path,
        account_id=ACCOUNT,
        root_access_key_id=KEY_ID,
        root_access_key_secret=SECRET,
        transition_delay=0,
        flow_port=None,
    )
    instance = build_runtime(settings, endpoint="127.0.0.1:1")
    yield instance
    instance.database.dispose()


def signed(action: str, params: dict[str, str], nonce: str | None = None) -> WireRequest:
    headers = {
        "host": "127.0.0.1:1",
        "x-acs-version": "2017-09-12",
        "x-acs-action": action,
        "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": EMPTY,
    }
    request = SimpleNamespace(method="POST", pathname="/", query=params, headers=headers)
    headers["authorization"] = Utils.get_authorization(request, "ACS3-HMAC-SHA256", EMPTY, KEY_ID, SECRET)
    return WireRequest(method="POST", path="/", query=params, form={}, headers=headers, body=b"", source_ip="127.0.0.1")


def run_together(runner: CallRunner, requests: list[WireRequest]) -> list[CallOutcome | BaseException]:
    async def together() -> list[CallOutcome | BaseException]:
        calls = [runner.call(request, f"request-{n}") for n, request in enumerate(requests)]
        return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(together())


def count_cens(runtime: Runtime) -> int:
    with runtime.database.read() as tx:
        return int(tx.execute(select(func.count()).select_from(cens)).scalar_one())


def create_cen() -> WireRequest:
    return signed("CreateCen", {"Name": f"cen-{uuid.uuid4().hex[:8]}"})


def test_calls_ready_together_share_one_commit(runtime: Runtime) -> None:
    commits: list[object] = []
    event.listen(runtime.database.engine, "commit", commits.append)
    outcomes = run_together(CallRunner(runtime.gateway), [create_cen() for _ in range(5)])
    assert all(isinstance(outcome, CallOutcome) for outcome in outcomes), outcomes
    assert [o.body["RequestId"] for o in outcomes if isinstance(o, CallOutcome)] == [f"request-{n}" for n in range(5)]
    assert len(commits) == 1
    assert count_cens(runtime) == 5


def test_a_failing_call_rolls_back_alone_and_its_nonce_is_kept(runtime: Runtime) -> None:
    nonce = uuid.uuid4().hex
    failing = {"RegionId": "cn-hangzhou", "FlowLogId": "flowlog-unknown0"}
    runner = CallRunner(runtime.gateway)
    first, refused, second = run_together(runner, [create_cen(), signed("ActiveFlowLog", failing, nonce), create_cen()])
    assert isinstance(first, CallOutcome)
    assert isinstance(second, CallOutcome)
    assert isinstance(refused, ApiError)
    assert refused.code == "InvalidFlowlogId.NotFound"
    assert count_cens(runtime) == 2
    [replayed] = run_together(runner, [signed("ActiveFlowLog", failing, nonce)])
    assert isinstance(replayed, ApiError)
    assert replayed.code == "SignatureNonceUsed"


def test_a_failing_read_only_call_keeps_its_nonce_and_leaves_the_batch_alone(runtime: Runtime) -> None:
    """A read-only call runs without a savepoint: its failure must neither undo its neighbours'
    work nor let its nonce be used again."""
    nonce = uuid.uuid4().hex
    bad_page = {"RegionId": "cn-hangzhou", "PageSize": "0"}
    runner = CallRunner(runtime.gateway)
    first, refused, second = run_together(
        runner, [create_cen(), signed("DescribeFlowlogs", bad_page, nonce), create_cen()]
    )
    assert isinstance(first, CallOutcome)
    assert isinstance(second, CallOutcome)
    assert isinstance(refused, ApiError)
    assert refused.status == 400
    assert count_cens(runtime) == 2
    [replayed] = run_together(runner, [signed("DescribeFlowlogs", {"RegionId": "cn-hangzhou"}, nonce)])
    assert isinstance(replayed, ApiError)
    assert replayed.code == "SignatureNonceUsed"


def test_a_failing_mutating_call_rolls_back_what_it_wrote_before_failing(runtime: Runtime) -> None:
    """ActiveFlowLog with a ClientToken reserves the token, then fails on the unknown flow log:
    the reservation goes with the savepoint, so the token is free for other parameters (had it
    stayed, they would get IdempotentParameterMismatch)."""
    token = uuid.uuid4().hex
    runner = CallRunner(runtime.gateway)
    params = {"RegionId": "cn-hangzhou", "FlowLogId": "flowlog-unknown0", "ClientToken": token}
    first, refused = run_together(runner, [create_cen(), signed("ActiveFlowLog", params)])
    assert isinstance(first, CallOutcome)
    assert isinstance(refused, ApiError)
    assert refused.code == "InvalidFlowlogId.NotFound"
    [again] = run_together(runner, [signed("ActiveFlowLog", {**params, "FlowLogId": "flowlog-unknown1"})])
    assert isinstance(again, ApiError)
    assert again.code == "InvalidFlowlogId.NotFound"
    assert count_cens(runtime) == 1


def test_a_failed_commit_fails_every_call_of_the_batch_and_keeps_nothing(runtime: Runtime) -> None:
    def refuse(_connection: object) -> None:
        raise OSError("disk full")

    event.listen(runtime.database.engine, "commit", refuse)
    outcomes = run_together(CallRunner(runtime.gateway), [create_cen() for _ in range(3)])
    assert [type(outcome) for outcome in outcomes] == [OSError] * 3
    event.remove(runtime.database.engine, "commit", refuse)
    assert count_cens(runtime) == 0


def test_a_batch_is_at_most_max_batch_calls(runtime: Runtime) -> None:
    commits: list[object] = []
    event.listen(runtime.database.engine, "commit", commits.append)
    outcomes = run_together(CallRunner(runtime.gateway, max_batch=2), [create_cen() for _ in range(5)])
    assert all(isinstance(outcome, CallOutcome) for outcome in outcomes), outcomes
    assert len(commits) == 3
    assert count_cens(runtime) == 5


def epoch(runtime: Runtime) -> int:
    with runtime.database.read() as tx:
        return collection_epoch(tx)


def test_a_batch_of_changes_bumps_the_collection_epoch_once(runtime: Runtime) -> None:
    before = epoch(runtime)
    run_together(CallRunner(runtime.gateway), [create_cen() for _ in range(4)])
    assert epoch(runtime) == before + 1


def test_a_batch_whose_changes_all_failed_leaves_the_collection_epoch(runtime: Runtime) -> None:
    before = epoch(runtime)
    failing = signed("ActiveFlowLog", {"RegionId": "cn-hangzhou", "FlowLogId": "flowlog-unknown0"})
    reading = signed("DescribeFlowlogs", {"RegionId": "cn-hangzhou"})
    refused, _ = run_together(CallRunner(runtime.gateway), [failing, reading])
    assert isinstance(refused, ApiError)
    assert epoch(runtime) == before


def test_a_change_outside_a_batch_bumps_the_collection_epoch(runtime: Runtime) -> None:
    before = epoch(runtime)
    runtime.gateway.call(create_cen(), "request-alone")
    assert epoch(runtime) == before + 1
