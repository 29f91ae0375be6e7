"""Name and text rules of RAM parameters, with the error codes RAM answers them with.

The character sets and lengths are those of RAM 2015-05-01's parameter descriptions: user and group
names take letters, digits, ``.``, ``_`` and ``-`` (1-64); role names letters, digits, ``.`` and
``-`` (1-64); policy names letters, digits and ``-`` (1-128).  Descriptions, comments and display
names are free text with a length limit.  A name that is too long is reported as too long even when
it also holds invalid characters (Alibaba does not say which check comes first).
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime

from cenflow.iam import errors as e

USER_NAME = re.compile(r"[A-Za-z0-9._-]+")
GROUP_NAME = re.compile(r"[A-Za-z0-9._-]+")
ROLE_NAME = re.compile(r"[A-Za-z0-9.-]+")
POLICY_NAME = re.compile(r"[A-Za-z0-9-]+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MOBILE_PHONE = re.compile(r"[0-9]{1,4}-[0-9]{4,20}")
VERSION_ID = re.compile(r"v[1-9][0-9]{0,8}")

_ALPHANUMERIC = string.ascii_letters + string.digits


def check_name(value: str, param: str, pattern: re.Pattern[str], max_length: int) -> str:
    if not value or len(value) > max_length:
        raise e.BEYOND_LENGTH(name=param)
    if not pattern.fullmatch(value):
        raise e.INVALID_CHARS(name=param)
    return value


def check_text(value: str | None, param: str, max_length: int) -> str:
    """Free text (comments, descriptions, display names); absent means empty."""
    if value is None:
        return ""
    if len(value) > max_length:
        raise e.BEYOND_LENGTH(name=param)
    return value


def check_format(value: str | None, param: str, pattern: re.Pattern[str], max_length: int = 128) -> str:
    if value is None or value == "":
        return ""
    if len(value) > max_length or not pattern.fullmatch(value):
        raise e.BAD_FORMAT(name=param)
    return value


def numeric_id() -> str:
    """A RAM user or role id: 16 digits, as Alibaba's are (``122748924538****``)."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def group_id() -> str:
    """``g-`` and 16 alphanumerics, Alibaba's shape (``g-FpMEHiMysofp****``)."""
    return "g-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(16))


def ram_date(value: datetime) -> str:
    """RAM's timestamps: ``2015-01-23T12:33:18Z`` (UTC, seconds)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
