"""The error vocabulary shared by every layer.

cenflow emulates Alibaba Cloud, so the codes, HTTP statuses and messages Alibaba documents *are*
the domain's vocabulary.  Every layer raises :class:`ApiError`; the wire turns it into Alibaba's
JSON error envelope.  Catalogue entries are :class:`ErrorSpec` values declared beside the code that
raises them (``wire.errors`` for gateway errors, ``domain`` for business rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ApiError(Exception):
    """An error answered to the caller with an Alibaba error code and HTTP status."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra: dict[str, Any] = extra or {}


@dataclass(frozen=True)
class ErrorSpec:
    """One row of an error catalogue: code, HTTP status and a message template.

    The code and message may hold ``{name}`` fields; :meth:`__call__` fills them.  ``detail`` is appended
    to the documented message when a more precise explanation helps the caller.
    """

    code: str
    message: str
    status: int = 400
    extra: dict[str, Any] = field(default_factory=dict)

    def __call__(self, detail: str | None = None, /, **fields: Any) -> ApiError:
        code = self.code.format(**fields) if fields else self.code
        message = self.message.format(**fields) if fields else self.message
        if detail:
            message = f"{message} {detail}" if message else detail
        return ApiError(code, message, self.status, extra=dict(self.extra) or None)
