"""Clients and setup for the RAM/STS end-to-end tests: the official RAM and STS SDKs, Cbn SDK clients
signed with STS credentials (stack A with ``security_token`` in its Config, stack C with
``StsTokenCredential``), and flow logs to authorise calls on."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.harness import STACK_A_V2, CenflowServer, SdkClient

T = TypeVar("T")
POLL_TIMEOUT = 20.0


def _config(server: CenflowServer, key_id: str, secret: str, token: str | None = None, v2: bool = False) -> Any:
    from alibabacloud_tea_openapi.utils_models import Config

    config = Config(
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=token,
        endpoint=server.endpoint,
        protocol="http",
        read_timeout=15_000,
    )
    if v2:
        config.signature_algorithm = "v2"
    return config


def ram_client(server: CenflowServer, key_id: str | None = None, secret: str | None = None) -> Any:
    """``alibabacloud_ram20150501`` on ``server`` (the root key unless another is given)."""
    from alibabacloud_ram20150501.client import Client

    return Client(_config(server, key_id or str(server.access_key_id), secret or str(server.access_key_secret)))


def sts_client(server: CenflowServer, key_id: str, secret: str, token: str | None = None) -> Any:
    from alibabacloud_sts20150401.client import Client

    return Client(_config(server, key_id, secret, token))


def cbn_client(server: CenflowServer, stack: str, key_id: str, secret: str, token: str | None = None) -> SdkClient:
    """A Cbn ``SdkClient`` of ``stack``; with ``token``, signed as an STS session."""
    client = server.client(stack, access_key_id=key_id, access_key_secret=secret)
    if token is None:
        return client
    if client.is_stack_c:
        from aliyunsdkcore.auth.credentials import StsTokenCredential
        from aliyunsdkcore.client import AcsClient

        client.sdk = AcsClient(
            region_id="cn-hangzhou",
            credential=StsTokenCredential(key_id, secret, token),
            timeout=15,
            connect_timeout=5,
        )
    else:
        from alibabacloud_cbn20170912.client import Client

        client.sdk = Client(_config(server, key_id, secret, token, v2=stack == STACK_A_V2))
    return client


def policy(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def allow(action: str | Sequence[str], resource: str | Sequence[str] = "*", **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def deny(action: str | Sequence[str], resource: str | Sequence[str] = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def eventually(probe: Callable[[], T | None], what: str, timeout: float = POLL_TIMEOUT) -> T:
    """Poll ``probe`` until it returns something, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass(frozen=True)
class FlowLog:
    region_id: str
    flow_log_id: str
    cen_id: str

    def arn(self, account_id: str) -> str:
        return f"acs:cbn:{self.region_id}:{account_id}:flowlog/{self.flow_log_id}"

    def params(self) -> dict[str, str]:
        return {"RegionId": self.region_id, "FlowLogId": self.flow_log_id}


def flowlog_status(root: SdkClient, flowlog: FlowLog) -> str | None:
    items = root.invoke("DescribeFlowlogs", flowlog.params())["FlowLogs"]["FlowLog"]
    return str(items[0]["Status"]) if items else None


def make_flowlogs(root: SdkClient, regions: Sequence[str], tags: Mapping[str, str] | None = None) -> list[FlowLog]:
    """One CEN with a transit router and an Inactive flow log in each region (root's client)."""
    cen_id = root.invoke("CreateCen", {"Name": "iam-tests"})["CenId"]

    def cen_active() -> bool | None:
        listed = root.invoke("DescribeCens", {"Filter": [{"Key": "CenId", "Value": [cen_id]}]})["Cens"]["Cen"]
        return True if listed and listed[0]["Status"] == "Active" else None

    eventually(cen_active, "CEN Active")
    routers = {
        region: root.invoke("CreateTransitRouter", {"RegionId": region, "CenId": cen_id})["TransitRouterId"]
        for region in regions
    }

    def active(region: str) -> bool | None:
        listed = root.invoke("ListTransitRouters", {"RegionId": region, "TransitRouterId": routers[region]})
        return True if listed["TransitRouters"][0]["Status"] == "Active" else None

    flowlogs = []
    for region in regions:
        eventually(lambda region=region: active(region), f"transit router in {region}")
        params: dict[str, Any] = {"RegionId": region, "CenId": cen_id, "TransitRouterId": routers[region]}
        if tags:
            params["Tag"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        flowlog = FlowLog(region, root.invoke("CreateFlowlog", params)["FlowLogId"], cen_id)
        eventually(lambda f=flowlog: flowlog_status(root, f) == "Active" or None, "flow log Active")
        root.invoke("DeactiveFlowLog", flowlog.params())
        eventually(lambda f=flowlog: flowlog_status(root, f) == "Inactive" or None, "flow log Inactive")
        flowlogs.append(flowlog)
    return flowlogs
