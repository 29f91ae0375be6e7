"""The authorization hook every call goes through."""

from __future__ import annotations

from typing import Protocol

from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.wire.spec import Args


class Authorizer(Protocol):
    def authorize(self, ctx: CallContext, operation: Operation, args: Args) -> None:
        """Return when the caller may run ``operation``; raise ``ApiError`` (403) otherwise."""


class RootOnlyAuthorizer:
    """Allows the account's root identity and nobody else (no RAM policies configured)."""

    def authorize(self, ctx: CallContext, operation: Operation, args: Args) -> None:
        del args
        if not ctx.principal.is_root:
            from cenflow.errors import ApiError

            raise ApiError("Forbidden.RAM", f"User not authorized to operate {operation.ram_action}.", 403)
