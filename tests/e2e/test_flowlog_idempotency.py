"""ClientToken idempotency of the flow-log operations, through the SDKs, on SQLite and PostgreSQL.

The same token with the same parameters answers the first answer again (same ids, a new
RequestId) and changes nothing; with other parameters it is ``IdempotentParameterMismatch``; 50
identical ``CreateFlowlog`` calls sent at once with one token create exactly one flow log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import ServerFactory
from tests.e2e.cbn_support import REGION, Cbn, client_token, network, tag_params
from tests.harness import STACK_A_V3, STACKS, ApiFailure, CenflowServer, api_error, checked_server, sdk_failure

pytestmark = pytest.mark.e2e

CONCURRENT_CALLS = 50


@pytest.fixture(scope="module")
def idempotency_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenflowServer]:
    with checked_server(tmp_path_factory.mktemp("idempotency"), "--transition-delay", "0") as server:
        yield server


def test_a_repeated_create_answers_the_first_flow_log(idempotency_server: CenflowServer, sdk_stack: str) -> None:
    cbn = Cbn(idempotency_server.client(sdk_stack))
    cen, _tr, [attachment] = network(cbn)
    params = {
        "ClientToken": client_token(),
        "RegionId": REGION,
        "CenId": cen,
        "TransitRouterAttachmentId": attachment,
        "FlowLogName": "once",
        "Tag": tag_params({"k": "v"}),
    }
    first = cbn("CreateFlowlog", params)
    cbn.wait_flowlog(first["FlowLogId"], "Active")
    again = cbn("CreateFlowlog", params)
    assert again["FlowLogId"] == first["FlowLogId"]
    assert again["Success"] == "true"
    assert again["RequestId"] != first["RequestId"]
    # Nothing changed: still one flow log, still Active (not back to Creating), same tags.
    [item] = cbn.flowlogs(CenId=cen)
    assert (item["FlowLogId"], item["Status"]) == (first["FlowLogId"], "Active")
    assert item["Tags"] == {"Tag": [{"Key": "k", "Value": "v"}]}


def test_a_repeated_deactivation_changes_nothing(idempotency_server: CenflowServer, sdk_stack: str) -> None:
    cbn = Cbn(idempotency_server.client(sdk_stack))
    cen, _tr, [attachment] = network(cbn)
    flowlog = cbn.create_flowlog(cen, TransitRouterAttachmentId=attachment)
    params = {"ClientToken": client_token(), "RegionId": REGION, "FlowLogId": flowlog}
    first = cbn("DeactiveFlowLog", params)
    cbn.wait_flowlog(flowlog, "Inactive")
    # Without the token this would be IncorrectStatus.flowlog (already Inactive); with it, the
    # first answer, and the flow log does not go through Modifying again.
    again = cbn("DeactiveFlowLog", params)
    assert (again["Success"], again["RequestId"] != first["RequestId"]) == ("true", True)
    assert cbn.flowlog_status(flowlog) == "Inactive"
    failure = api_error(cbn, "DeactiveFlowLog", {**params, "ClientToken": client_token()})
    assert (failure.code, failure.status) == ("IncorrectStatus.flowlog", 400)


def test_the_token_with_other_parameters_is_refused(idempotency_server: CenflowServer, sdk_stack: str) -> None:
    cbn = Cbn(idempotency_server.client(sdk_stack))
    cen, _tr, attachments = network(cbn, attachments=2)
    token = client_token()
    params = {"ClientToken": token, "RegionId": REGION, "CenId": cen, "TransitRouterAttachmentId": attachments[0]}
    first = cbn("CreateFlowlog", params)
    for changed in ({"Interval": 60}, {"TransitRouterAttachmentId": attachments[1]}, {"FlowLogName": "other"}):
        failure = api_error(cbn, "CreateFlowlog", {**params, **changed})
        assert (failure.code, failure.status) == ("IdempotentParameterMismatch", 400)
        assert failure.message == "The request uses the same client token as a previous, but non-identical request."
    assert [f["FlowLogId"] for f in cbn.flowlogs(CenId=cen)] == [first["FlowLogId"]]
    # The first parameters still get the first answer.
    assert cbn("CreateFlowlog", params)["FlowLogId"] == first["FlowLogId"]


def test_a_failed_call_does_not_use_up_its_token(idempotency_server: CenflowServer) -> None:
    cbn = Cbn(idempotency_server.client(STACK_A_V3))
    cen, _tr, [attachment] = network(cbn)
    params = {"ClientToken": client_token(), "RegionId": REGION, "CenId": cen, "TransitRouterAttachmentId": attachment}
    failure = api_error(cbn, "CreateFlowlog", {**params, "Interval": 61})
    assert failure.code == "InvalidParameter.Interval"
    assert cbn("CreateFlowlog", {**params, "Interval": 60})["Success"] == "true"


@pytest.mark.parametrize(
    ("token", "why"), [("t" * 65, "at most 64 characters"), ("jeton-\u00e9t\u00e9", "must be ASCII")]
)
def test_malformed_tokens(idempotency_server: CenflowServer, token: str, why: str) -> None:
    client = idempotency_server.client(STACK_A_V3)
    failure = api_error(client.invoke, "CreateCen", {"ClientToken": token})
    assert (failure.code, failure.status) == ("InvalidParameter", 400)
    assert failure.message.startswith('The specified parameter "ClientToken" is not valid.')
    assert why in failure.message


# -- 50 at once ----------------------------------------------------------------------------------
def all_at_once(count: int, call: Callable[[int], dict[str, Any]]) -> list[dict[str, Any] | ApiFailure]:
    """``call(i)`` for i in range(count), each in its own thread, released together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> dict[str, Any] | ApiFailure:
        barrier.wait(timeout=30)
        try:
            return call(index)
        except Exception as exc:
            return sdk_failure(exc)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def concurrent_duplicates(server: CenflowServer) -> None:
    cen, _tr, [attachment] = network(Cbn(server.client(STACK_A_V3)))
    clients = [server.client(STACKS[i % len(STACKS)]) for i in range(CONCURRENT_CALLS)]
    params = {
        "ClientToken": client_token(),
        "RegionId": REGION,
        "CenId": cen,
        "TransitRouterAttachmentId": attachment,
        "Interval": 60,
        "Tag": tag_params({"team": "net"}),
    }
    answers = all_at_once(CONCURRENT_CALLS, lambda i: clients[i].invoke("CreateFlowlog", params))
    failures = [a for a in answers if isinstance(a, ApiFailure)]
    assert failures == []
    assert {a["FlowLogId"] for a in answers if isinstance(a, dict)} == {answers[0]["FlowLogId"]}  # type: ignore[index]
    assert len({a["RequestId"] for a in answers if isinstance(a, dict)}) == CONCURRENT_CALLS
    cbn = Cbn(server.client(STACK_A_V3))
    [item] = cbn.flowlogs(CenId=cen)
    assert item["Tags"] == {"Tag": [{"Key": "team", "Value": "net"}]}
    tagged = cbn("ListTagResources", {"ResourceType": "Flowlog", "Tag": tag_params({"team": "net"})})
    assert [t["ResourceId"] for t in tagged["TagResources"]["TagResource"]] == [item["FlowLogId"]]
    cbn.wait_flowlog(item["FlowLogId"], "Active")


def concurrent_creates_of_one_scope(server: CenflowServer) -> None:
    """Without tokens, concurrent creates for one attachment: one flow log, the others refused."""
    cen, _tr, [attachment] = network(Cbn(server.client(STACK_A_V3)))
    clients = [server.client(STACK_A_V3) for _ in range(10)]
    params = {"RegionId": REGION, "CenId": cen, "TransitRouterAttachmentId": attachment}
    answers = all_at_once(len(clients), lambda i: clients[i].invoke("CreateFlowlog", params))
    created = [a for a in answers if isinstance(a, dict)]
    refused = [a for a in answers if isinstance(a, ApiFailure)]
    assert len(created) == 1
    assert {(f.code, f.status) for f in refused} <= {("Flowlog.AlreayExist", 400), ("IncorrectStatus.TrFlowlog", 400)}
    assert [f["FlowLogId"] for f in Cbn(clients[0]).flowlogs(CenId=cen)] == [created[0]["FlowLogId"]]


def test_concurrent_duplicates_create_one_flow_log(idempotency_server: CenflowServer) -> None:
    concurrent_duplicates(idempotency_server)


def test_concurrent_creates_of_one_scope(idempotency_server: CenflowServer) -> None:
    concurrent_creates_of_one_scope(idempotency_server)


@pytest.fixture
def postgres_server(postgres_url: str, server_factory: ServerFactory) -> CenflowServer:
    # postgres_url is set up first, so torn down last: the server stops before its database is dropped.
    return server_factory(args=["--transition-delay", "0"], env={"CENFLOW_DATABASE_URL": postgres_url})


@pytest.mark.postgres
def test_concurrent_duplicates_create_one_flow_log_on_postgresql(postgres_server: CenflowServer) -> None:
    concurrent_duplicates(postgres_server)


@pytest.mark.postgres
def test_concurrent_creates_of_one_scope_on_postgresql(postgres_server: CenflowServer) -> None:
    concurrent_creates_of_one_scope(postgres_server)
