"""Small builders shared by the policy tests (the directory has no __init__.py, so this module is
imported by its own, deliberately distinctive, name)."""

from __future__ import annotations

import json
from typing import Any

from cenflow.iam.policy import AttachedPolicy, CompiledPolicy, PolicyType, parse_policy, parse_session_policy

ACCOUNT = "1234567890123456"
CEN_ARN = f"acs:cen:*:{ACCOUNT}:ceninstance/cen-abc"
OTHER_CEN_ARN = f"acs:cen:*:{ACCOUNT}:ceninstance/cen-xyz"
FLOWLOG_ARN = f"acs:cbn:cn-hangzhou:{ACCOUNT}:flowlog/flowlog-1"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def attached(*statements: dict[str, Any], name: str = "Policy", version: str = "v1") -> AttachedPolicy:
    return AttachedPolicy(name, PolicyType.CUSTOM, version, parse_policy(document(*statements)))


def session(*statements: dict[str, Any]) -> CompiledPolicy:
    return parse_session_policy(document(*statements))
