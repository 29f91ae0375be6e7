"""DescribeChildInstanceRegions: the regions where network instances can be attached."""

from __future__ import annotations

from typing import Any

from cenflow.api.cbn import CBN
from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain.regions import LANGUAGES, PRODUCT_TYPES
from cenflow.wire.spec import Args, OperationSpec, Param

DESCRIBE_CHILD_INSTANCE_REGIONS = OperationSpec(
    (
        Param("ProductType", choices=PRODUCT_TYPES),
        Param("AcceptLanguage", choices=LANGUAGES, default="zh-CN"),
        Param("RegionId"),
    )
)


def describe_child_instance_regions(ctx: CallContext, args: Args) -> dict[str, Any]:
    product_type = args.opt_text("ProductType")
    language = args.text("AcceptLanguage")
    regions = [
        {"RegionId": region.region_id, "LocalName": region.local_name(language)}
        for region in ctx.services.regions.all()
        if product_type is None or product_type in region.product_types
    ]
    return {"Regions": {"Region": regions}}


OPERATIONS = [
    Operation(CBN, "DescribeChildInstanceRegions", DESCRIBE_CHILD_INSTANCE_REGIONS, describe_child_instance_regions),
]
