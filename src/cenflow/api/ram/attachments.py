"""Who has which policy: AttachPolicyTo*, DetachPolicyFrom*, ListPoliciesFor*, ListEntitiesForPolicy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.ram.common import (
    POLICY_NAME,
    POLICY_TYPE,
    date,
    named,
    policy_type,
    the_policy,
    with_policy,
)
from cenflow.api.registry import Operation
from cenflow.iam import attachments as grants
from cenflow.iam import errors as e
from cenflow.wire.spec import Args, OperationSpec, Param

Handler = Callable[[CallContext, Args], dict[str, Any]]
# principal type -> (parameter, ARN kind, action suffix)
KINDS = {"User": ("UserName", "user"), "Group": ("GroupName", "group"), "Role": ("RoleName", "role")}


def _spec(param: str) -> OperationSpec:
    return OperationSpec((POLICY_TYPE, POLICY_NAME, Param(param, required=True), Param("ResourceGroupId")))


def _attacher(principal_type: str) -> Handler:
    param, _ = KINDS[principal_type]

    def attach(ctx: CallContext, args: Args) -> dict[str, Any]:
        if args.opt_text("ResourceGroupId"):
            raise e.UNSUPPORTED_RESOURCE_GROUP()
        grants.attach(
            ctx.tx,
            ctx.account_id,
            ctx.now,
            principal_type,
            args.text(param),
            policy_type(args),
            args.text("PolicyName"),
        )
        return {}

    return attach


def _detacher(principal_type: str) -> Handler:
    param, _ = KINDS[principal_type]

    def detach(ctx: CallContext, args: Args) -> dict[str, Any]:
        if args.opt_text("ResourceGroupId"):
            raise e.UNSUPPORTED_RESOURCE_GROUP()
        grants.detach(
            ctx.tx, ctx.account_id, principal_type, args.text(param), policy_type(args), args.text("PolicyName")
        )
        return {}

    return detach


def _lister(principal_type: str) -> Handler:
    param, _ = KINDS[principal_type]

    def list_policies_for(ctx: CallContext, args: Args) -> dict[str, Any]:
        attached = grants.policies_of(ctx.tx, ctx.account_id, principal_type, args.text(param))
        items = [
            {
                "PolicyName": info.name,
                "PolicyType": info.type.value,
                "Description": info.description,
                "DefaultVersion": info.default_version,
                "AttachDate": date(when),
            }
            for info, when in attached
        ]
        return {"Policies": {"Policy": items}}

    return list_policies_for


def list_entities_for_policy(ctx: CallContext, args: Args) -> dict[str, Any]:
    found = grants.entities_for_policy(ctx.tx, ctx.account_id, policy_type(args), args.text("PolicyName"))
    users = [
        {"UserId": r.user_id, "UserName": r.user_name, "DisplayName": r.display_name, "AttachDate": date(when)}
        for r, when in found["User"]
    ]
    groups = [
        {"GroupName": r.group_name, "Comments": r.comments, "AttachDate": date(when)} for r, when in found["Group"]
    ]
    roles = [
        {
            "RoleId": r.role_id,
            "RoleName": r.role_name,
            "Arn": f"acs:ram::{ctx.account_id}:role/{r.role_name}",
            "Description": r.description,
            "AttachDate": date(when),
        }
        for r, when in found["Role"]
    ]
    return {"Users": {"User": users}, "Groups": {"Group": groups}, "Roles": {"Role": roles}}


def _operations() -> list[Operation]:
    operations: list[Operation] = []
    for principal_type, (param, kind) in KINDS.items():
        resources = with_policy((kind, param))
        spec = _spec(param)
        attach, detach = _attacher(principal_type), _detacher(principal_type)
        operations += [
            Operation(RAM, f"AttachPolicyTo{principal_type}", spec, attach, resources, mutating=True),
            Operation(RAM, f"DetachPolicyFrom{principal_type}", spec, detach, resources, mutating=True),
            Operation(
                RAM,
                f"ListPoliciesFor{principal_type}",
                OperationSpec((Param(param, required=True),)),
                _lister(principal_type),
                named((kind, param)),
            ),
        ]
    operations.append(
        Operation(
            RAM,
            "ListEntitiesForPolicy",
            OperationSpec((POLICY_TYPE, POLICY_NAME)),
            list_entities_for_policy,
            lambda ctx, args: (the_policy(ctx, args),),
        )
    )
    return operations


OPERATIONS = _operations()
