"""Typed values for conditions: parsing the policy's side strictly, the request's side leniently.

Policy values come from a document a user wrote, so a value that does not parse is a grammar error.
Request values come from cenflow's own gateway (the caller's address, the clock, the transport), so
they arrive as Python objects or strings; one that cannot be read as the operator's type simply
matches nothing (see ``conditions``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from cenflow.iam.policy.errors import GrammarError

IpAddress = IPv4Address | IPv6Address
IpNetwork = IPv4Network | IPv6Network
ContextScalar = str | bool | int | float | Decimal | datetime | IPv4Address | IPv6Address
ContextValue = ContextScalar | tuple[ContextScalar, ...] | list[ContextScalar]

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# ISO 8601 extended format, the form Alibaba's examples use ("2019-08-12T17:00:00+08:00"): a date,
# optionally a time (minutes required, seconds and a fraction optional), optionally a zone ("Z",
# "+08:00" or "+0800").  A value without a zone is read as UTC, since the condition key it is
# compared with, acs:CurrentTime, is a UTC instant.  Basic format ("20190812T170000Z") is refused:
# Alibaba shows no example of it, and accepting it would make typos parse.
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
)
_TRUE = "true"
_FALSE = "false"


def policy_number(text: str) -> Decimal:
    """A decimal written in the policy; integers and decimals with an optional exponent."""
    if not _NUMBER.fullmatch(text):
        raise GrammarError(f"{text!r} is not a number.")
    return Decimal(text)


def policy_datetime(text: str) -> datetime:
    if not _ISO_DATETIME.fullmatch(text.upper()):
        raise GrammarError(f"{text!r} is not an ISO 8601 date-time such as 2019-08-12T17:00:00+08:00.")
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        raise GrammarError(f"{text!r} is not a valid date-time.") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def policy_bool(text: str) -> bool:
    folded = text.lower()
    if folded == _TRUE:
        return True
    if folded == _FALSE:
        return False
    raise GrammarError(f'{text!r} is not a Boolean; use "true" or "false".')


def policy_network(text: str) -> IpNetwork:
    """An IPv4 or IPv6 address or CIDR block.  Host bits may be set ("192.0.2.7/24" means the /24)."""
    try:
        return ip_network(text, strict=False)
    except ValueError:
        raise GrammarError(f"{text!r} is not an IP address or CIDR block.") from None


def request_text(value: ContextScalar) -> str:
    if isinstance(value, bool):
        return _TRUE if value else _FALSE
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def request_number(value: ContextScalar) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            return None
    return None


def request_datetime(value: ContextScalar) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return policy_datetime(value)
        except GrammarError:
            return None
    return None


def request_bool(value: ContextScalar) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.lower()
        if folded in (_TRUE, _FALSE):
            return folded == _TRUE
    return None


@lru_cache(maxsize=4096)
def _parse_address(text: str) -> IpAddress | None:
    # Callers come from a modest set of addresses, and parsing one costs a few microseconds, which
    # is most of what an IpAddress condition would otherwise cost per call.
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def request_address(value: ContextScalar) -> IpAddress | None:
    """The caller's address; an IPv4-mapped IPv6 address (how a dual-stack socket reports an IPv4
    peer) is compared as the IPv4 address it carries."""
    if isinstance(value, str):
        return _parse_address(value)
    if isinstance(value, IPv6Address) and value.ipv4_mapped is not None:
        return value.ipv4_mapped
    if isinstance(value, IPv4Address | IPv6Address):
        return value
    return None
