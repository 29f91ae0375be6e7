"""Building CEN resources through the official SDKs the way Terraform's provider does: create, then
poll the describe/list call (with a deadline) until the resource settles.

``Cbn`` wraps an ``SdkClient``; every call goes through the stack's generated request class and
client method (``SdkClient.invoke``).  The ``wait_*`` methods return the statuses they saw, in
order and without repeats, so a test can assert that a transient state was observable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tests.harness import SdkClient

T = TypeVar("T")
REGION = "cn-hangzhou"
OTHER_REGION = "cn-shanghai"
POLL_TIMEOUT = 30.0
POLL_INTERVAL = 0.05
GONE = "(gone)"


def eventually(probe: Callable[[], T | None], what: str, timeout: float = POLL_TIMEOUT) -> T:
    """Poll ``probe`` until it returns something other than ``None``, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)  # the interval between polls; the deadline decides


def watch(status: Callable[[], str | None], until: str, what: str, timeout: float = POLL_TIMEOUT) -> list[str]:
    """Poll ``status`` until it is ``until`` (``GONE`` for ``None``); the distinct statuses seen."""
    seen: list[str] = []

    def probe() -> bool | None:
        current = status()
        current = GONE if current is None else current
        if not seen or seen[-1] != current:
            seen.append(current)
        return True if current == until else None

    eventually(probe, f"{what} to be {until} (seen so far: {seen})", timeout)
    return seen


def tag_params(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def client_token() -> str:
    return uuid.uuid4().hex


class Cbn:
    def __init__(self, client: SdkClient) -> None:
        self.client = client

    def __call__(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.client.invoke(action, params)

    # -- CEN ----------------------------------------------------------------------------------
    def cen_status(self, cen_id: str) -> str | None:
        body = self("DescribeCens", {"Filter": [{"Key": "CenId", "Value": [cen_id]}]})
        cens = body["Cens"]["Cen"]
        return str(cens[0]["Status"]) if cens else None

    def create_cen(self, name: str = "cenflow-tests", **params: Any) -> str:
        """A CEN, Active."""
        cen_id = str(self("CreateCen", {"Name": name, "ClientToken": client_token(), **params})["CenId"])
        watch(lambda: self.cen_status(cen_id), "Active", f"CEN {cen_id}")
        return cen_id

    # -- transit routers ----------------------------------------------------------------------
    def transit_router(self, tr_id: str, region: str = REGION) -> dict[str, Any] | None:
        routers = self("ListTransitRouters", {"RegionId": region, "TransitRouterId": tr_id})["TransitRouters"]
        return dict(routers[0]) if routers else None

    def transit_router_status(self, tr_id: str, region: str = REGION) -> str | None:
        router = self.transit_router(tr_id, region)
        return str(router["Status"]) if router else None

    def create_transit_router(self, cen_id: str, region: str = REGION, **params: Any) -> str:
        """The CEN's transit router in ``region``, Active."""
        request = {"CenId": cen_id, "RegionId": region, "ClientToken": client_token(), **params}
        tr_id = str(self("CreateTransitRouter", request)["TransitRouterId"])
        watch(lambda: self.transit_router_status(tr_id, region), "Active", f"transit router {tr_id}")
        return tr_id

    # -- VPC attachments ----------------------------------------------------------------------
    def vpc_attachment(self, attachment_id: str, region: str = REGION) -> dict[str, Any] | None:
        params = {"RegionId": region, "TransitRouterAttachmentId": attachment_id}
        items = self("ListTransitRouterVpcAttachments", params)["TransitRouterAttachments"]
        return dict(items[0]) if items else None

    def vpc_attachment_status(self, attachment_id: str, region: str = REGION) -> str | None:
        attachment = self.vpc_attachment(attachment_id, region)
        return str(attachment["Status"]) if attachment else None

    def start_vpc_attachment(self, cen_id: str, tr_id: str, region: str = REGION, **params: Any) -> str:
        """Create a VPC attachment and return its id at once (it is ``Attaching``)."""
        request = {
            "CenId": cen_id,
            "RegionId": region,
            "TransitRouterId": tr_id,
            "VpcId": f"vpc-{uuid.uuid4().hex[:20]}",
            "ZoneMappings": [{"ZoneId": f"{region}-h", "VSwitchId": f"vsw-{uuid.uuid4().hex[:20]}"}],
            "ClientToken": client_token(),
            **params,
        }
        return str(self("CreateTransitRouterVpcAttachment", request)["TransitRouterAttachmentId"])

    def create_vpc_attachment(self, cen_id: str, tr_id: str, region: str = REGION, **params: Any) -> str:
        """A VPC attachment of the transit router, Attached."""
        attachment_id = self.start_vpc_attachment(cen_id, tr_id, region, **params)
        self.wait_vpc_attachment(attachment_id, "Attached", region)
        return attachment_id

    def wait_vpc_attachment(self, attachment_id: str, until: str, region: str = REGION) -> list[str]:
        return watch(lambda: self.vpc_attachment_status(attachment_id, region), until, f"attachment {attachment_id}")

    # -- flow logs ----------------------------------------------------------------------------
    def flowlog(self, flow_log_id: str, region: str = REGION, cen_id: str | None = None) -> dict[str, Any] | None:
        """DescribeFlowlogs by id, as Terraform reads one (``CenId`` too when known)."""
        params = {"RegionId": region, "FlowLogId": flow_log_id}
        if cen_id is not None:
            params["CenId"] = cen_id
        items = self("DescribeFlowlogs", params)["FlowLogs"]["FlowLog"]
        assert len(items) <= 1, items
        return dict(items[0]) if items else None

    def flowlog_status(self, flow_log_id: str, region: str = REGION) -> str | None:
        item = self.flowlog(flow_log_id, region)
        return str(item["Status"]) if item else None

    def wait_flowlog(self, flow_log_id: str, until: str, region: str = REGION) -> list[str]:
        return watch(lambda: self.flowlog_status(flow_log_id, region), until, f"flow log {flow_log_id}")

    def start_flowlog(self, cen_id: str, region: str = REGION, **params: Any) -> str:
        """CreateFlowlog; returns the id at once (the flow log is ``Creating``)."""
        request = {"CenId": cen_id, "RegionId": region, "ClientToken": client_token(), **params}
        return str(self("CreateFlowlog", request)["FlowLogId"])

    def create_flowlog(self, cen_id: str, region: str = REGION, **params: Any) -> str:
        """A flow log, Active."""
        flow_log_id = self.start_flowlog(cen_id, region, **params)
        self.wait_flowlog(flow_log_id, "Active", region)
        return flow_log_id

    def flowlogs(self, **filters: Any) -> list[dict[str, Any]]:
        """Every flow log DescribeFlowlogs lists for ``filters``, walking the pages."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self("DescribeFlowlogs", {**filters, "PageNumber": page, "PageSize": 50})
            items = body["FlowLogs"]["FlowLog"]
            found.extend(items)
            if not items or len(found) >= int(body["TotalCount"]):
                return found
            page += 1


def network(cbn: Cbn, attachments: int = 1, region: str = REGION) -> tuple[str, str, list[str]]:
    """A CEN with a transit router in ``region`` and ``attachments`` VPC attachments, all settled."""
    cen_id = cbn.create_cen()
    tr_id = cbn.create_transit_router(cen_id, region)
    pending = [cbn.start_vpc_attachment(cen_id, tr_id, region) for _ in range(attachments)]
    for attachment_id in pending:
        cbn.wait_vpc_attachment(attachment_id, "Attached", region)
    return cen_id, tr_id, pending


def cenflow_cli(*args: str, data_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """Run ``cenflow ARGS --data-dir DATA_DIR`` as a process; its standard output (must succeed)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CENFLOW_")}
    environment.update(env or {})
    command: Sequence[str] = [sys.executable, "-m", "cenflow.cli.main", *args, "--data-dir", str(data_dir)]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60, check=False)
    assert result.returncode == 0, f"{' '.join(command)}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout
