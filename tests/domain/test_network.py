"""domain.network: CEN, transit router and attachment transitions; CIDR and zone-mapping rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cenflow.domain.network import (
    Attachment,
    AttachmentKind,
    Cen,
    TransitRouter,
    check_transit_router_cidrs,
    check_zone_mappings,
    creation,
)
from cenflow.domain.transitions import ResourceKind, Transition
from cenflow.errors import ApiError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cen(status: str) -> Cen:
    return Cen("cen-1", "1000000000000001", "", "", "REDUCED", "DISABLED", "rg-1", status, NOW)


def router(status: str) -> TransitRouter:
    account, region = "1000000000000001", "cn-hangzhou"
    return TransitRouter("tr-1", account, "cen-1", region, "", "", "Enterprise", status, False, [], NOW)


def attachment(status: str, kind: AttachmentKind = AttachmentKind.VPC, **details: Any) -> Attachment:
    return Attachment(
        "tr-attach-1", "1000000000000001", kind, "cen-1", "tr-1", "cn-hangzhou", "", "", status, False, details, NOW
    )


@pytest.mark.parametrize(
    ("kind", "via", "to"),
    [
        (ResourceKind.CEN, "Creating", "Active"),
        (ResourceKind.TRANSIT_ROUTER, "Creating", "Active"),
        (ResourceKind.ATTACHMENT, "Attaching", "Attached"),
    ],
)
def test_creations(kind: ResourceKind, via: str, to: str) -> None:
    assert creation(kind, "id-1") == Transition(kind, "id-1", via, to)


def test_deleting_settled_resources() -> None:
    resources: list[Cen | TransitRouter | Attachment] = [cen("Active"), router("Active"), attachment("Attached")]
    transitions = [resource.delete() for resource in resources]
    assert [(t.via, t.to) for t in transitions] == [("Deleting", None), ("Deleting", None), ("Detaching", None)]
    assert [r.status for r in resources] == ["Deleting", "Deleting", "Detaching"]


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (cen, "Creating", "InvalidOperation.CenInstanceStatus"),
        (cen, "Deleting", "InvalidOperation.CenInstanceStatus"),
        (router, "Creating", "IncorrectStatus.TransitRouterInstance"),
        (router, "Deleting", "IncorrectStatus.TransitRouterInstance"),
        (attachment, "Attaching", "IncorrectStatus.TransitRouterAttachment"),
        (attachment, "Detaching", "IncorrectStatus.TransitRouterAttachment"),
    ],
)
def test_transient_resources_cannot_be_deleted(make: Any, status: str, code: str) -> None:
    resource = make(status)
    with pytest.raises(ApiError) as error:
        resource.delete()
    assert (error.value.code, error.value.status) == (code, 400)
    assert resource.status == status


def test_require_active() -> None:
    cen("Active").require_active()
    router("Active").require_active()
    with pytest.raises(ApiError) as error:
        cen("Creating").require_active()
    assert error.value.code == "InvalidOperation.CenInstanceStatus"
    with pytest.raises(ApiError) as error:
        router("Creating").require_active()
    assert error.value.code == "IncorrectStatus.TransitRouter"


@pytest.mark.parametrize(
    ("kind", "details", "instance"),
    [
        (AttachmentKind.VPC, {"VpcId": "vpc-1"}, "vpc-1"),
        (AttachmentKind.VBR, {"VbrId": "vbr-1"}, "vbr-1"),
        (AttachmentKind.PEER, {"PeerTransitRouterId": "tr-2"}, "tr-2"),
    ],
)
def test_the_instance_an_attachment_connects(kind: AttachmentKind, details: dict[str, str], instance: str) -> None:
    assert attachment("Attached", kind, **details).instance_id == instance


# -- TransitRouterCidrList --------------------------------------------------------------------
def test_cidrs_are_normalised() -> None:
    entries = [
        {"Cidr": "10.0.0.0/16", "Name": "a", "PublishCidrRoute": False},
        {"Cidr": "192.168.0.0/24", "PublishCidrRoute": "TRUE"},
    ]
    assert check_transit_router_cidrs(entries) == [
        {"Cidr": "10.0.0.0/16", "Name": "a", "Description": "", "PublishCidrRoute": False},
        {"Cidr": "192.168.0.0/24", "Name": "", "Description": "", "PublishCidrRoute": True},
    ]
    assert check_transit_router_cidrs(None) == []


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ({"Cidr": "10.0.0.0/16"}, "IllegalParam.Cidr"),
        ([{"Cidr": f"10.{i}.0.0/16"} for i in range(6)], "IllegalParam.Cidr"),
        (["10.0.0.0/16"], "IllegalParam.Cidr"),
        ([{"Name": "no cidr"}], "IllegalParam.Cidr"),
        ([{"Cidr": "10.0.0.0/15"}], "IllegalParam.Cidr"),
        ([{"Cidr": "10.0.0.0/25"}], "IllegalParam.Cidr"),
        ([{"Cidr": "10.0.0.1/24"}], "IllegalParam.Cidr"),
        ([{"Cidr": "fd00::/48"}], "IllegalParam.Cidr"),
        ([{"Cidr": "not a network"}], "IllegalParam.Cidr"),
        ([{"Cidr": "10.0.0.0/16"}, {"Cidr": "10.0.1.0/24"}], "OverLappingExist.Cidr"),
    ],
)
def test_invalid_cidrs(entries: Any, code: str) -> None:
    with pytest.raises(ApiError) as error:
        check_transit_router_cidrs(entries)
    assert (error.value.code, error.value.status) == (code, 400)


# -- ZoneMappings -----------------------------------------------------------------------------
def test_zone_mappings() -> None:
    mappings = [{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-1"}, {"ZoneId": "cn-hangzhou-i", "VSwitchId": "vsw-2"}]
    assert check_zone_mappings(mappings, "cn-hangzhou") == mappings


@pytest.mark.parametrize(
    ("mappings", "code"),
    [
        ([{"ZoneId": "cn-beijing-a", "VSwitchId": "vsw-1"}], "IllegalParam.ZoneId"),
        ([{"ZoneId": None, "VSwitchId": "vsw-1"}], "IllegalParam.ZoneId"),
        ([{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vpc-1"}], "IllegalParam.VSwitchId"),
        (
            [{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-1"}, {"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-2"}],
            "Duplicated.ZoneMapping",
        ),
    ],
)
def test_invalid_zone_mappings(mappings: list[dict[str, str | None]], code: str) -> None:
    with pytest.raises(ApiError) as error:
        check_zone_mappings(mappings, "cn-hangzhou")
    assert error.value.code == code
