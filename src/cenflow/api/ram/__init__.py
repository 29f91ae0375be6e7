"""Ram 2015-05-01: users, groups, roles, AccessKeys and policies (a subset)."""

from __future__ import annotations

from cenflow.api.registry import Product

RAM = Product(name="Ram", version="2015-05-01", host_id="ram.aliyuncs.com", ram_service="ram")
