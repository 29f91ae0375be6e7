"""Resource ids in Alibaba's shapes: a prefix and lowercase alphanumerics."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(prefix: str, length: int = 20) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_cen_id() -> str:
    return new_id("cen-", 18)


def new_transit_router_id() -> str:
    return new_id("tr-", 21)


def new_attachment_id() -> str:
    return new_id("tr-attach-", 18)


def new_flow_log_id() -> str:
    return new_id("flowlog-", 20)
