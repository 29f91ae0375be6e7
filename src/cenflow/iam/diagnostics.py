"""``EncodedDiagnosticMessage``: why a call was denied, sealed so that only RAM can read it.

A denial's ``AccessDeniedDetail`` tells the caller which action and which kind of policy refused it;
the details (the resource, the condition values, the deciding policy) may be sensitive, so Alibaba
encodes them and reveals them through RAM's ``DecodeDiagnosticMessage`` to whoever may call that.
cenflow seals them with authenticated encryption under a key derived from the master key; the
content follows the shape ``DecodeDiagnosticMessage`` returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cenflow.iam import errors as e
from cenflow.iam.policy import ContextValue, DenialKind
from cenflow.iam.secrets import SecretBox

PURPOSE = "cenflow ram diagnostic message v1"
_ENTITY_TYPES = {"User": "RamUser", "Group": "RamGroup", "Role": "RamRole", "Session": "StsSession"}


def _values(value: ContextValue) -> list[str]:
    items = value if isinstance(value, tuple | list) else (value,)
    rendered = []
    for item in items:
        if isinstance(item, bool):
            rendered.append("true" if item else "false")
        elif isinstance(item, datetime):
            rendered.append(item.strftime("%Y-%m-%dT%H:%M:%SZ"))
        else:
            rendered.append(str(item))
    return rendered


def diagnostic(
    *,
    account_id: str,
    action: str,
    resource: str,
    principal: Mapping[str, str],
    denial: DenialKind,
    policy_type: str,
    context: Mapping[str, ContextValue],
    matched: Sequence[Mapping[str, str]],
) -> dict[str, Any]:
    """The decoded form: ``DecodedDiagnosticMessage`` of RAM's DecodeDiagnosticMessage."""
    return {
        "AccountId": account_id,
        "AuthAction": action,
        "AuthResource": resource,
        "AuthPrincipal": dict(principal),
        "ExplicitDeny": denial is DenialKind.EXPLICIT,
        "NoPermissionPolicyType": policy_type,
        "AuthConditions": [
            {"ConditionKey": key, "ConditionValues": _values(value)} for key, value in sorted(context.items())
        ],
        "MatchedPolicies": [dict(policy) for policy in matched],
    }


def matched_policy(
    *, effect: str, name: str | None, policy_type: str | None, version: str | None, via: str
) -> dict[str, str]:
    return {
        "Effect": effect,
        "PolicyIdentifier": name or "",
        "PolicyType": policy_type or "SessionPolicy",
        "PolicyVersion": version or "",
        "AttachedEntityType": _ENTITY_TYPES.get(via, via),
        "AttachedScope": "Account",
    }


class DiagnosticCodec:
    def __init__(self, box: SecretBox) -> None:
        self._box = box.derive(PURPOSE)

    def encode(self, message: Mapping[str, Any]) -> str:
        return self._box.seal(json.dumps(message, separators=(",", ":"), ensure_ascii=False)).decode("ascii")

    def decode(self, encoded: str, account_id: str) -> dict[str, Any]:
        """The message, if this server sealed it for ``account_id``; ``InvalidParameter...`` otherwise."""
        try:
            message = json.loads(self._box.open(encoded.encode("ascii")))
        except (ValueError, UnicodeError):
            raise e.INVALID_DIAGNOSTIC() from None
        if not isinstance(message, dict) or message.get("AccountId") != account_id:
            raise e.INVALID_DIAGNOSTIC()
        message.pop("AccountId", None)
        return message
