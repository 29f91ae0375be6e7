"""Reading request parameters off the wire: query string and form body, merged.

Values are decoded with standard form decoding (``+`` is a space), strictly as UTF-8.  A key
given twice is refused: the SDKs never do it and it would make the signed value ambiguous.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from cenflow.wire.errors import INVALID_PARAMETER

MAX_PARAMETERS = 1000


def parse_form(raw: bytes, *, where: str) -> dict[str, str]:
    """Decode ``a=1&b=2`` into a dict, refusing broken encodings and repeated keys."""
    params: dict[str, str] = {}
    if not raw:
        return params
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        # Raw (unencoded) non-ASCII bytes: accept them only if they are valid UTF-8.
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise INVALID_PARAMETER(f"The {where} is not valid UTF-8.", name=where) from exc
    pairs = [p for p in text.split("&") if p]
    if len(pairs) > MAX_PARAMETERS:
        raise INVALID_PARAMETER(f"More than {MAX_PARAMETERS} parameters.", name=where)
    for pair in pairs:
        key, _, value = pair.partition("=")
        if "%" in pair or "+" in pair:  # otherwise there is nothing to decode
            try:
                key = unquote_plus(key, encoding="utf-8", errors="strict")
                value = unquote_plus(value, encoding="utf-8", errors="strict")
            except UnicodeDecodeError as exc:
                raise INVALID_PARAMETER(
                    f"A percent-encoded value in the {where} is not valid UTF-8.", name=where
                ) from exc
        if not key:
            raise INVALID_PARAMETER(f"The {where} has a parameter without a name.", name=where)
        if key in params:
            raise INVALID_PARAMETER(f'The parameter "{key}" is given more than once.', name=key)
        params[key] = value
    return params


def merge(query: dict[str, str], body: dict[str, str]) -> dict[str, str]:
    """Query and body parameters together; a name in both is ambiguous and refused."""
    for key in body:
        if key in query:
            raise INVALID_PARAMETER(f'The parameter "{key}" is given in both the query string and the body.', name=key)
    return {**query, **body}
