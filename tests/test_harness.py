"""The end-to-end harness itself: its signers, its error normalisation, and that it notices a server
that fails to start or dies."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from tests.harness import (
    STACK_A_V3,
    CenflowServer,
    ServerError,
    _snake_case,
    api_error,
    sdk_failure,
    sign_rpc_v1,
    sign_v3,
)


def test_sign_rpc_v1_reproduces_the_reference_example() -> None:
    signed = sign_rpc_v1(
        {
            "Format": "json",
            "RegionId": "cn-hangzhou",
            "CenId": "cen-7qthudw0ll6jmc****",
            "FlowLogId": "flowlog-m5evbtbpt****",
            "ClientToken": "123e4567-e89b-12d3-a456-42665544****",
        },
        access_key_id="testAkId",
        access_key_secret="testSecret",
        action="ActiveFlowLog",
        timestamp="2024-01-01T12:00:00Z",
        nonce="3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    )
    assert signed["Signature"] == "q0cxxJ3ArV/QAvchcUeahcRXafY="


def test_sign_v3_reproduces_the_reference_example() -> None:
    headers = sign_v3(
        {
            "CenId": "cen-7qthudw0ll6jmc****",
            "ClientToken": "123e4567-e89b-12d3-a456-42665544****",
            "FlowLogId": "flowlog-m5evbtbpt****",
            "RegionId": "cn-hangzhou",
        },
        host="127.0.0.1:8080",
        access_key_id="testAkId",
        access_key_secret="testSecret",
        action="ActiveFlowLog",
        headers={"user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"},
        timestamp="2024-01-01T12:00:00Z",
        nonce="3ee8c1b883d344afa94f4e0ad82fd6cf",
    )
    assert headers["authorization"].endswith(
        "Signature=937f3be88e0b392f9584311a8be1bf42aa8b5a78aeecd0fb96f98fc8caac6e9c"
    )


def test_api_error_fails_when_the_call_succeeds() -> None:
    with pytest.raises(AssertionError, match="expected an API error"):
        api_error(lambda: {"RequestId": "x"})


def test_sdk_failure_lets_other_exceptions_through() -> None:
    with pytest.raises(ValueError, match="not an API error"):
        sdk_failure(ValueError("not an API error"))


def test_sdk_failure_reads_stack_c_exceptions() -> None:
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    failure = sdk_failure(ServerException("Code.X", "message", http_status=409, request_id="RID"))
    assert (failure.code, failure.status, failure.message, failure.request_id) == ("Code.X", 409, "message", "RID")


def test_sdk_failure_reads_stack_a_exceptions() -> None:
    from alibabacloud_tea_openapi.exceptions import ClientException

    data = {"RequestId": "RID", "Code": "Code.X", "Message": "message", "HostId": "h", "statusCode": 409}
    exc = ClientException(status_code=409, code="Code.X", message="code: 409, message", request_id="RID", data=data)
    failure = sdk_failure(exc)
    assert (failure.code, failure.status, failure.message, failure.request_id) == ("Code.X", 409, "message", "RID")
    assert failure.body == {"RequestId": "RID", "Code": "Code.X", "Message": "message", "HostId": "h"}


@pytest.mark.parametrize(
    ("action", "method"),
    [
        ("ActiveFlowLog", "active_flow_log"),
        ("DescribeFlowlogs", "describe_flowlogs"),
        ("CreateTransitRouterVpcAttachment", "create_transit_router_vpc_attachment"),
    ],
)
def test_stack_a_method_names(action: str, method: str) -> None:
    assert _snake_case(action) == method


def test_a_server_that_cannot_start_is_reported_with_its_log(server_factory: Any) -> None:
    server: CenflowServer = server_factory(args=["--signature-window", "0"], start=False)
    with pytest.raises(ServerError, match="signature-window"):
        server.start()
    assert not server.running


def test_stop_notices_a_server_that_died(server_factory: Any) -> None:
    server: CenflowServer = server_factory()
    assert server.client(STACK_A_V3).describe_child_instance_regions()
    os.kill(server.pid, signal.SIGKILL)
    assert server.process is not None
    server.process.wait(30)
    with pytest.raises(ServerError, match="did not stop cleanly"):
        server.stop()
