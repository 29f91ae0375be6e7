"""Cbn 2017-09-12: Cloud Enterprise Network."""

from __future__ import annotations

from cenflow.api.registry import Product

CBN = Product(name="Cbn", version="2017-09-12", host_id="cbn.aliyuncs.com", ram_service="cen", changes_collection=True)
