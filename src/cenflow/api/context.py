"""What an operation handler is given besides its parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from cenflow.iam.principal import Principal

if TYPE_CHECKING:
    from cenflow.services import Services


@dataclass(frozen=True)
class CallContext:
    request_id: str
    principal: Principal
    source_ip: str
    secure: bool
    now: datetime
    # The call's unit of work: one transaction, committed when the handler returns normally.
    tx: Connection
    services: Services

    @property
    def account_id(self) -> str:
        return self.principal.account_id
