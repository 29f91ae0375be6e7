"""RAM policies and their versions: Create/Get/List/DeletePolicy, Create/Get/List/Set/DeletePolicyVersion.

System policies (``PolicyType=System``) are listed and readable like custom ones, at version ``v1``;
they cannot be changed.  Documents are validated by the policy engine (``MalformedPolicyDocument``
with the reason, ``InvalidParameter.PolicyDocument.Length``) and stored as sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.ram.common import (
    MARKER,
    MAX_ITEMS,
    POLICY_NAME,
    POLICY_TYPE,
    VERSION_ID,
    every,
    paged,
    policy_type,
    render_policy,
    render_version,
    the_policy,
)
from cenflow.api.registry import Operation
from cenflow.iam import policies
from cenflow.wire.spec import Args, OperationSpec, Param

DOCUMENT = Param("PolicyDocument", required=True)
CREATE = OperationSpec((POLICY_NAME, Param("Description"), DOCUMENT))
TYPED = OperationSpec((POLICY_TYPE, POLICY_NAME))
LIST = OperationSpec((Param("PolicyType"), MARKER, MAX_ITEMS))
DELETE = OperationSpec((POLICY_NAME, Param("CascadingDelete", "boolean", default=False)))
CREATE_VERSION = OperationSpec(
    (POLICY_NAME, DOCUMENT, Param("SetAsDefault", "boolean", default=False), Param("RotateStrategy"))
)
TYPED_VERSION = OperationSpec((POLICY_TYPE, POLICY_NAME, VERSION_ID))
VERSION = OperationSpec((POLICY_NAME, VERSION_ID))


def _policy(ctx: CallContext, args: Args) -> Sequence[str]:
    return (the_policy(ctx, args),)


def create_policy(ctx: CallContext, args: Args) -> dict[str, Any]:
    info, _ = policies.create_policy(
        ctx.tx,
        ctx.account_id,
        ctx.now,
        args.text("PolicyName"),
        args.text("PolicyDocument"),
        args.opt_text("Description"),
    )
    body = render_policy(info)
    del body["UpdateDate"]
    return {"Policy": body}


def get_policy(ctx: CallContext, args: Args) -> dict[str, Any]:
    kind, name = policy_type(args), args.text("PolicyName")
    info = policies.policy(ctx.tx, ctx.account_id, kind, name)
    default = policies.get_version(ctx.tx, ctx.account_id, kind, name, info.default_version)
    count = policies.attachment_counts(ctx.tx, ctx.account_id, [(kind.value, name)])[(kind.value, name)]
    body = {**render_policy(info), "AttachmentCount": count, "PolicyDocument": default.document}
    return {"Policy": body, "DefaultPolicyVersion": render_version(default)}


def list_policies(ctx: CallContext, args: Args) -> dict[str, Any]:
    kind = policy_type(args) if args.opt_text("PolicyType") is not None else None
    listed, marker = policies.list_policies(
        ctx.tx, ctx.account_id, kind, args.opt_text("Marker"), args.number("MaxItems")
    )
    counts = policies.attachment_counts(ctx.tx, ctx.account_id, [(p.type.value, p.name) for p in listed])
    items = [{**render_policy(p), "AttachmentCount": counts[(p.type.value, p.name)]} for p in listed]
    return paged("Policies", "Policy", items, marker)


def delete_policy(ctx: CallContext, args: Args) -> dict[str, Any]:
    policies.delete_policy(ctx.tx, ctx.account_id, args.text("PolicyName"), cascading=args.flag("CascadingDelete"))
    return {}


def create_policy_version(ctx: CallContext, args: Args) -> dict[str, Any]:
    version = policies.create_version(
        ctx.tx,
        ctx.account_id,
        ctx.now,
        args.text("PolicyName"),
        args.text("PolicyDocument"),
        set_as_default=args.flag("SetAsDefault"),
        rotate=args.opt_text("RotateStrategy"),
    )
    return {"PolicyVersion": render_version(version)}


def get_policy_version(ctx: CallContext, args: Args) -> dict[str, Any]:
    version = policies.get_version(
        ctx.tx, ctx.account_id, policy_type(args), args.text("PolicyName"), args.text("VersionId")
    )
    return {"PolicyVersion": render_version(version)}


def list_policy_versions(ctx: CallContext, args: Args) -> dict[str, Any]:
    versions = policies.list_versions(ctx.tx, ctx.account_id, policy_type(args), args.text("PolicyName"))
    return {"PolicyVersions": {"PolicyVersion": [render_version(v) for v in versions]}}


def set_default_policy_version(ctx: CallContext, args: Args) -> dict[str, Any]:
    policies.set_default_version(ctx.tx, ctx.account_id, ctx.now, args.text("PolicyName"), args.text("VersionId"))
    return {}


def delete_policy_version(ctx: CallContext, args: Args) -> dict[str, Any]:
    policies.delete_version(ctx.tx, ctx.account_id, args.text("PolicyName"), args.text("VersionId"))
    return {}


OPERATIONS = [
    Operation(RAM, "CreatePolicy", CREATE, create_policy, every("policy"), mutating=True),
    Operation(RAM, "GetPolicy", TYPED, get_policy, _policy),
    Operation(RAM, "ListPolicies", LIST, list_policies, every("policy")),
    Operation(RAM, "DeletePolicy", DELETE, delete_policy, _policy, mutating=True),
    Operation(RAM, "CreatePolicyVersion", CREATE_VERSION, create_policy_version, _policy, mutating=True),
    Operation(RAM, "GetPolicyVersion", TYPED_VERSION, get_policy_version, _policy),
    Operation(RAM, "ListPolicyVersions", TYPED, list_policy_versions, _policy),
    Operation(RAM, "SetDefaultPolicyVersion", VERSION, set_default_policy_version, _policy, mutating=True),
    Operation(RAM, "DeletePolicyVersion", VERSION, delete_policy_version, _policy, mutating=True),
]
