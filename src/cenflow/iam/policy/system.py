"""The system policies present in every account.

Alibaba creates and versions system policies; accounts attach them but cannot change them.  cenflow
serves the ones that matter for CEN flow logs and for managing access to them, with the meaning
Alibaba gives them:

* ``AdministratorAccess``: every action on every resource.
* ``AliyunCENFullAccess`` / ``AliyunCENReadOnlyAccess``: Alibaba describes them as full and
  read-only access to CEN.  We grant ``cen:*``, and the ``Describe*`` / ``List*`` / ``Get*``
  families respectively.  Alibaba's own documents also reach into the networks a CEN attaches
  (VPC, VBR, CCN); we could not obtain their exact text, and cenflow serves no such product, so
  those grants are left out rather than guessed.
* ``AliyunRAMFullAccess`` / ``AliyunRAMReadOnlyAccess``: ``ram:*``, and ``ram:Get*`` / ``ram:List*``.
* ``AliyunSTSAssumeRoleAccess``: ``sts:AssumeRole`` on any role; the role's trust policy still has to
  accept the caller.

The documents and descriptions below are written for cenflow; every system policy is at version
``v1``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from cenflow.iam.policy.model import AttachedPolicy, PolicyType
from cenflow.iam.policy.parser import parse_policy

SYSTEM_POLICY_VERSION = "v1"


@dataclass(frozen=True)
class SystemPolicy:
    name: str
    description: str
    document: str
    version: str = SYSTEM_POLICY_VERSION
    type: PolicyType = PolicyType.SYSTEM


def _allow(*actions: str) -> str:
    statement = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    return json.dumps({"Version": "1", "Statement": [statement]}, indent=2)


_DEFINITIONS = (
    SystemPolicy(
        "AdministratorAccess",
        "Full access to every action on every resource of the account.",
        _allow("*"),
    ),
    SystemPolicy(
        "AliyunCENFullAccess",
        "Full access to Cloud Enterprise Network (CEN), including its flow logs.",
        _allow("cen:*"),
    ),
    SystemPolicy(
        "AliyunCENReadOnlyAccess",
        "Read-only access to Cloud Enterprise Network (CEN): its Describe, List and Get operations.",
        _allow("cen:Describe*", "cen:List*", "cen:Get*"),
    ),
    SystemPolicy(
        "AliyunRAMFullAccess",
        "Full access to Resource Access Management (RAM): users, groups, roles, policies and keys.",
        _allow("ram:*"),
    ),
    SystemPolicy(
        "AliyunRAMReadOnlyAccess",
        "Read-only access to Resource Access Management (RAM): its Get and List operations.",
        _allow("ram:Get*", "ram:List*"),
    ),
    SystemPolicy(
        "AliyunSTSAssumeRoleAccess",
        "Permission to call STS AssumeRole for any role whose trust policy accepts the caller.",
        _allow("sts:AssumeRole"),
    ),
)

SYSTEM_POLICIES: Mapping[str, SystemPolicy] = MappingProxyType({p.name: p for p in _DEFINITIONS})


def system_policy(name: str) -> SystemPolicy | None:
    return SYSTEM_POLICIES.get(name)


@cache
def attached_system_policy(name: str) -> AttachedPolicy:
    """The compiled system policy ``name``; raises ``KeyError`` for a name that is not one."""
    policy = SYSTEM_POLICIES[name]
    return AttachedPolicy(policy.name, policy.type, policy.version, parse_policy(policy.document))
