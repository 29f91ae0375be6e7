"""Who is calling: the identity a verified AccessKey stands for."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PrincipalType(StrEnum):
    ROOT = "RootAccount"
    USER = "SubUser"
    ROLE_SESSION = "AssumedRoleUser"


@dataclass(frozen=True)
class Principal:
    """A caller.  ``principal_id`` is the RAM id of the user or role (the account id for root)."""

    type: PrincipalType
    account_id: str
    principal_id: str
    name: str
    arn: str
    session_name: str | None = None
    # The session policy attached to an STS token, as a JSON document (role sessions only).
    session_policy: str | None = None
    mfa_present: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return self.type is PrincipalType.ROOT

    @property
    def display_name(self) -> str:
        if self.type is PrincipalType.ROLE_SESSION:
            return f"{self.name}:{self.session_name}"
        return self.name


def root_principal(account_id: str) -> Principal:
    return Principal(
        type=PrincipalType.ROOT,
        account_id=account_id,
        principal_id=account_id,
        name="root",
        arn=f"acs:ram::{account_id}:root",
    )
