"""The flow-log lifecycle as Terraform's ``alicloud_cen_flowlog`` drives it, through every SDK stack
(A with V3 signatures, A with RPC v1, C) and on both databases (SQLite, PostgreSQL).

CEN -> transit router -> VPC attachment -> flow log with tags -> Active -> DeactiveFlowLog ->
Inactive -> ActiveFlowLog -> Active -> ModifyFlowLogAttribute -> Active -> DeleteFlowlog -> gone,
then the attachment, router and CEN are destroyed.  Each step polls the describe/list call with a
deadline; with a non-zero ``--transition-delay`` the first poll after each call must show the
transient state (``Creating``, ``Modifying``, ``Deleting``, ...), and the last the settled one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerFactory
from tests.e2e.cbn_support import GONE, REGION, Cbn, client_token, tag_params, watch
from tests.harness import STACK_A_V3, CenflowServer, SdkClient, checked_server

pytestmark = pytest.mark.e2e

# Long enough that the first poll after a call sees the transient state, short enough to be quick.
TRANSITION_DELAY = "0.5"
FLOW_LOG_ID = re.compile(r"flowlog-[a-z0-9]{20}")
CEN_ID = re.compile(r"cen-[a-z0-9]{18}")
TR_ID = re.compile(r"tr-[a-z0-9]{21}")
ATTACHMENT_ID = re.compile(r"tr-attach-[a-z0-9]{18}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
LOG_FORMAT = "${srcaddr}${dstaddr}${bytes}${srcport}${dstport}${protocol}${packets}${start}${end}"


@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenflowServer]:
    with checked_server(tmp_path_factory.mktemp("lifecycle"), "--transition-delay", TRANSITION_DELAY) as server:
        yield server


def assert_describe_shape(body: dict[str, Any], count: int, page_size: int = 20) -> None:
    """DescribeFlowlogs: ``Success``/``TotalCount``/``PageNumber``/``PageSize`` are strings."""
    assert body["Success"] == "true"
    assert body["TotalCount"] == str(count)
    assert body["PageNumber"] == "1"
    assert body["PageSize"] == str(page_size)
    assert isinstance(body["FlowLogs"]["FlowLog"], list)
    assert len(body["FlowLogs"]["FlowLog"]) == count


def run_lifecycle(client: SdkClient) -> None:
    cbn = Cbn(client)
    # -- the network the flow log captures --------------------------------------------------------
    cen_id = cbn("CreateCen", {"Name": "flowlog-lifecycle", "ClientToken": client_token()})["CenId"]
    assert CEN_ID.fullmatch(cen_id)
    assert watch(lambda: cbn.cen_status(cen_id), "Active", "CEN") == ["Creating", "Active"]

    tr_id = cbn("CreateTransitRouter", {"CenId": cen_id, "RegionId": REGION, "ClientToken": client_token()})[
        "TransitRouterId"
    ]
    assert TR_ID.fullmatch(tr_id)
    assert watch(lambda: cbn.transit_router_status(tr_id), "Active", "transit router") == ["Creating", "Active"]

    attachment_id = cbn.start_vpc_attachment(cen_id, tr_id, TransitRouterAttachmentName="app")
    assert ATTACHMENT_ID.fullmatch(attachment_id)
    assert cbn.wait_vpc_attachment(attachment_id, "Attached") == ["Attaching", "Attached"]

    # -- create ---------------------------------------------------------------------------------
    project = f"lifecycle-{client.stack.lower()}"
    created = cbn(
        "CreateFlowlog",
        {
            "ClientToken": client_token(),
            "RegionId": REGION,
            "CenId": cen_id,
            "TransitRouterId": tr_id,
            "TransitRouterAttachmentId": attachment_id,
            "FlowLogName": "app-flows",
            "Description": "created by the lifecycle test",
            "Interval": 600,
            "ProjectName": project,
            "LogStoreName": "flows",
            "LogFormatString": LOG_FORMAT,
            "Tag": tag_params({"team": "net", "env": "test"}),
        },
    )
    assert created["Success"] == "true"
    flow_log_id = created["FlowLogId"]
    assert FLOW_LOG_ID.fullmatch(flow_log_id)
    assert cbn.wait_flowlog(flow_log_id, "Active") == ["Creating", "Active"]

    body = cbn("DescribeFlowlogs", {"RegionId": REGION, "CenId": cen_id, "FlowLogId": flow_log_id})
    assert_describe_shape(body, 1)
    [item] = body["FlowLogs"]["FlowLog"]
    assert item == {
        "FlowLogId": flow_log_id,
        "CenId": cen_id,
        "RegionId": REGION,
        "FlowLogName": "app-flows",
        "Description": "created by the lifecycle test",
        "Status": "Active",
        "ProjectName": project,
        "LogStoreName": "flows",
        "CreationTime": item["CreationTime"],
        "Interval": 600,
        "FlowLogVersion": "3",
        "TransitRouterId": tr_id,
        "TransitRouterAttachmentId": attachment_id,
        "LogFormatString": LOG_FORMAT,
        "Tags": {"Tag": [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "net"}]},
    }
    assert TIMESTAMP.fullmatch(item["CreationTime"])
    assert type(item["Interval"]) is int

    # -- deactivate, activate -------------------------------------------------------------------
    lifecycle = {"RegionId": REGION, "CenId": cen_id, "FlowLogId": flow_log_id}
    assert cbn("DeactiveFlowLog", {**lifecycle, "ClientToken": client_token()})["Success"] == "true"
    assert cbn.wait_flowlog(flow_log_id, "Inactive") == ["Modifying", "Inactive"]
    assert cbn("ActiveFlowLog", {**lifecycle, "ClientToken": client_token()})["Success"] == "true"
    assert cbn.wait_flowlog(flow_log_id, "Active") == ["Modifying", "Active"]

    # -- modify ---------------------------------------------------------------------------------
    modify = {"FlowLogName": "renamed", "Description": "modified", "Interval": 60, "ClientToken": client_token()}
    assert cbn("ModifyFlowLogAttribute", {**lifecycle, **modify})["Success"] == "true"
    assert cbn.wait_flowlog(flow_log_id, "Active") == ["Modifying", "Active"]
    item = cbn.flowlog(flow_log_id, cen_id=cen_id) or {}
    assert (item["FlowLogName"], item["Description"], item["Interval"]) == ("renamed", "modified", 60)
    # What Modify does not name stays as it was.
    assert (item["ProjectName"], item["LogStoreName"], item["LogFormatString"]) == (project, "flows", LOG_FORMAT)
    assert item["Tags"]["Tag"] == [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "net"}]

    # -- delete ---------------------------------------------------------------------------------
    assert cbn("DeleteFlowlog", {**lifecycle, "ClientToken": client_token()})["Success"] == "true"
    assert cbn.wait_flowlog(flow_log_id, GONE) == ["Deleting", GONE]
    gone = cbn("DescribeFlowlogs", {"RegionId": REGION, "CenId": cen_id, "FlowLogId": flow_log_id})
    assert_describe_shape(gone, 0)
    assert cbn("ListTagResources", {"ResourceType": "Flowlog", "ResourceId": [flow_log_id]})["TagResources"] == {
        "TagResource": []
    }

    # -- terraform destroy of the rest ----------------------------------------------------------
    cbn("DeleteTransitRouterVpcAttachment", {"TransitRouterAttachmentId": attachment_id})
    assert cbn.wait_vpc_attachment(attachment_id, GONE) == ["Detaching", GONE]
    cbn("DeleteTransitRouter", {"TransitRouterId": tr_id})
    assert watch(lambda: cbn.transit_router_status(tr_id), GONE, "transit router") == ["Deleting", GONE]
    cbn("DeleteCen", {"CenId": cen_id})
    assert watch(lambda: cbn.cen_status(cen_id), GONE, "CEN") == ["Deleting", GONE]


def test_lifecycle(lifecycle_server: CenflowServer, sdk_stack: str) -> None:
    run_lifecycle(lifecycle_server.client(sdk_stack))


@pytest.mark.postgres
def test_lifecycle_on_postgresql(postgres_url: str, server_factory: ServerFactory) -> None:
    # postgres_url first: fixtures are torn down in reverse, so the server stops before its database goes.
    server = server_factory(args=["--transition-delay", TRANSITION_DELAY], env={"CENFLOW_DATABASE_URL": postgres_url})
    run_lifecycle(server.client(STACK_A_V3))
