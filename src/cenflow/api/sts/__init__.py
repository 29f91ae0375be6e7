"""Sts 2015-04-01: AssumeRole and GetCallerIdentity."""

from __future__ import annotations

from cenflow.api.registry import Product

STS = Product(name="Sts", version="2015-04-01", host_id="sts.aliyuncs.com", ram_service="sts")
