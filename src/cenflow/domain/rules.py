"""Validation rules shared by several operations: names, descriptions, tags, SLS names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from cenflow.domain import errors as e
from cenflow.errors import ErrorSpec

MAX_TAGS_PER_RESOURCE = 20
MAX_TAG_KEY = 64
MAX_TAG_VALUE = 128
_RESERVED_TAG_PREFIXES = ("aliyun", "acs:")
_PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_LOGSTORE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]")


def check_name(value: str | None, field: str, *, max_length: int = 128) -> str:
    """Empty, or 1 to ``max_length`` characters not starting with ``http://`` or ``https://``."""
    if value is None or value == "":
        return ""
    if len(value) > max_length or value.startswith(("http://", "https://")):
        raise e.INVALID_PARAMETER(
            f"{field} must be 1 to {max_length} characters and must not start with http:// or https://."
        )
    return value


def check_description(value: str | None, field: str = "Description") -> str:
    return check_name(value, field, max_length=256)


def check_project_name(name: str) -> str:
    if not _PROJECT_NAME.fullmatch(name):
        raise e.INVALID_PROJECT_NAME(
            "ProjectName must be 3 to 63 characters of lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit."
        )
    return name


def check_logstore_name(name: str) -> str:
    if not _LOGSTORE_NAME.fullmatch(name):
        raise e.INVALID_PARAMETER(
            "LogStoreName must be 3 to 63 characters of lowercase letters, digits, hyphens and "
            "underscores, starting and ending with a letter or digit."
        )
    return name


def check_tags(
    tags: Sequence[Mapping[str, str | None]],
    *,
    require_value: bool = False,
    key_error: ErrorSpec | None = None,
    value_error: ErrorSpec | None = None,
) -> dict[str, str]:
    """Validate ``Tag.N`` pairs and return them as an ordered dict key -> value."""
    bad_key = key_error or e.INVALID_TAG_KEY
    bad_value = value_error or e.INVALID_TAG_VALUE
    if len(tags) > MAX_TAGS_PER_RESOURCE:
        raise e.TAG_QUOTA(f"At most {MAX_TAGS_PER_RESOURCE} tags are allowed.")
    result: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key")
        value = tag.get("Value")
        if not key:
            raise e.TAG_KEY_MISSING()
        if value is None and require_value:
            raise e.TAG_VALUE_MISSING()
        value = value or ""
        if len(key) > MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
            raise e.TAG_LENGTH(f"Tag keys are 1 to {MAX_TAG_KEY} characters, values at most {MAX_TAG_VALUE}.")
        if key.lower().startswith(_RESERVED_TAG_PREFIXES) or _has_url(key):
            raise bad_key(f'"{key}" may not start with aliyun or acs: nor contain http:// or https://.')
        if value.lower().startswith(_RESERVED_TAG_PREFIXES) or _has_url(value):
            raise bad_value(f'The value of "{key}" may not start with aliyun or acs: nor contain http:// or https://.')
        if key in result:
            raise e.TAG_KEY_DUPLICATED(f'"{key}" is given twice.')
        result[key] = value
    return result


def tag_filters(tags: Iterable[Mapping[str, str | None]]) -> list[tuple[str, str | None]]:
    """``Tag.N`` used as a filter: key required, value optional (absent = any value)."""
    filters = []
    for tag in tags:
        key = tag.get("Key")
        if not key:
            raise e.ILLEGAL_TAG_KEY("Tag.N.Key must be given when filtering by tag.")
        value = tag.get("Value")
        filters.append((key, value if value not in (None, "") else None))
    return filters


def _has_url(text: str) -> bool:
    lowered = text.lower()
    return "http://" in lowered or "https://" in lowered
