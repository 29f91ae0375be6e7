"""What the RAM operations share: parameters, resource ARNs, renderings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from cenflow.api.context import CallContext
from cenflow.iam.directory import Group, Role, User
from cenflow.iam.names import ram_date
from cenflow.iam.policies import PolicyInfo, PolicyVersion, check_policy_type, policy_arn
from cenflow.iam.policy import PolicyType
from cenflow.iam.runtime import IamRuntime
from cenflow.wire.spec import Args, Param

USER_NAME = Param("UserName", required=True)
GROUP_NAME = Param("GroupName", required=True)
ROLE_NAME = Param("RoleName", required=True)
POLICY_NAME = Param("PolicyName", required=True)
POLICY_TYPE = Param("PolicyType", required=True)
VERSION_ID = Param("VersionId", required=True)
MARKER = Param("Marker")
MAX_ITEMS = Param("MaxItems", "integer", default=100, minimum=1, maximum=1000)

Resolver = Callable[[CallContext, Args], Sequence[str]]


def iam(ctx: CallContext) -> IamRuntime:
    runtime = ctx.services.iam
    if runtime is None:  # pragma: no cover - the composition root always sets it
        raise RuntimeError("the IAM runtime is not configured")
    return runtime


# -- resources (RAM's authorization table: acs:ram:*:<account>:<type>/<name>) ------------------
def ram_arn(ctx: CallContext, kind: str, name: str) -> str:
    return f"acs:ram:*:{ctx.account_id}:{kind}/{name}"


def every(kind: str) -> Resolver:
    """``<kind>/*``: creating or listing."""

    def resolve(ctx: CallContext, args: Args) -> Sequence[str]:
        del args
        return (ram_arn(ctx, kind, "*"),)

    return resolve


def named(*entries: tuple[str, str]) -> Resolver:
    """One ARN per (kind, parameter): ``user/<UserName>``, ``group/<GroupName>`` ..."""

    def resolve(ctx: CallContext, args: Args) -> Sequence[str]:
        return tuple(ram_arn(ctx, kind, args.text(param)) for kind, param in entries)

    return resolve


def the_policy(ctx: CallContext, args: Args) -> str:
    """The policy's ARN; an operation without PolicyType names a custom policy (the handler checks
    the type's value)."""
    return policy_arn(ctx.account_id, args.opt_text("PolicyType") or "Custom", args.text("PolicyName"))


def policy_type(args: Args) -> PolicyType:
    return check_policy_type(args.opt_text("PolicyType"))


def with_policy(*entries: tuple[str, str]) -> Resolver:
    """The principals named by ``entries`` and the policy (``acs:ram:*:<account|system>:policy/<name>``)."""
    principals = named(*entries)

    def resolve(ctx: CallContext, args: Args) -> Sequence[str]:
        return (*principals(ctx, args), the_policy(ctx, args))

    return resolve


# -- renderings -------------------------------------------------------------------------------
def date(value: datetime) -> str:
    return ram_date(value)


def render_user(user: User, *, updated: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "UserId": user.user_id,
        "UserName": user.user_name,
        "DisplayName": user.display_name,
        "Email": user.email,
        "MobilePhone": user.mobile_phone,
        "Comments": user.comments,
        "CreateDate": date(user.created_at),
    }
    if updated:
        body["UpdateDate"] = date(user.updated_at)
    return body


def render_group(group: Group) -> dict[str, Any]:
    return {
        "GroupId": group.group_id,
        "GroupName": group.group_name,
        "Comments": group.comments,
        "CreateDate": date(group.created_at),
        "UpdateDate": date(group.updated_at),
    }


def render_role(ctx: CallContext, role: Role) -> dict[str, Any]:
    return {
        "RoleId": role.role_id,
        "RoleName": role.role_name,
        "Arn": role.arn(ctx.account_id),
        "Description": role.description,
        "AssumeRolePolicyDocument": role.trust_policy,
        "MaxSessionDuration": role.max_session_duration,
        "CreateDate": date(role.created_at),
        "UpdateDate": date(role.updated_at),
    }


def render_policy(policy: PolicyInfo) -> dict[str, Any]:
    return {
        "PolicyName": policy.name,
        "PolicyType": policy.type.value,
        "Description": policy.description,
        "DefaultVersion": policy.default_version,
        "CreateDate": date(policy.created_at),
        "UpdateDate": date(policy.updated_at),
    }


def render_version(version: PolicyVersion) -> dict[str, Any]:
    return {
        "VersionId": version.version_id,
        "IsDefaultVersion": version.is_default,
        "PolicyDocument": version.document,
        "CreateDate": date(version.created_at),
    }


def paged(items_key: str, item_key: str, items: list[dict[str, Any]], marker: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {items_key: {item_key: items}, "IsTruncated": marker is not None}
    if marker is not None:
        body["Marker"] = marker
    return body
