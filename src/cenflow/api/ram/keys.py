"""AccessKeys of RAM users: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey.

``UserName`` is optional: a RAM user calling without it manages its own keys (RAM's documented
default), and the root identity its own root keys.  A role session must name the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.ram.common import date, iam, ram_arn
from cenflow.api.registry import Operation
from cenflow.iam import directory, keys
from cenflow.iam.principal import PrincipalType
from cenflow.wire.errors import MISSING_OPERATION_PARAMETER
from cenflow.wire.spec import Args, OperationSpec, Param

OPTIONAL_USER = Param("UserName")
KEY_ID = Param("UserAccessKeyId", required=True)
CREATE = OperationSpec((OPTIONAL_USER,))
UPDATE = OperationSpec((OPTIONAL_USER, KEY_ID, Param("Status", required=True)))
DELETE = OperationSpec((OPTIONAL_USER, KEY_ID))


def _target(ctx: CallContext, args: Args) -> Sequence[str]:
    name = args.opt_text("UserName")
    if name is None and ctx.principal.type is PrincipalType.USER:
        name = ctx.principal.name
    return (ram_arn(ctx, "user", name or "*"),)


def _owner(ctx: CallContext, args: Args) -> tuple[str, str]:
    """(owner_type, owner_id) of the keys the call is about."""
    name = args.opt_text("UserName")
    principal = ctx.principal
    if name is not None:
        return keys.USER, directory.user(ctx.tx, ctx.account_id, name).user_id
    if principal.type is PrincipalType.USER:
        return keys.USER, principal.principal_id
    if principal.is_root:
        return keys.ROOT, ctx.account_id
    raise MISSING_OPERATION_PARAMETER(name="UserName")


def create_access_key(ctx: CallContext, args: Args) -> dict[str, Any]:
    owner_type, owner_id = _owner(ctx, args)
    record, secret = iam(ctx).keys.create(ctx.tx, owner_type, owner_id, ctx.now)
    return {
        "AccessKey": {
            "AccessKeyId": record.access_key_id,
            "AccessKeySecret": secret,
            "Status": record.status,
            "CreateDate": date(record.created_at),
        }
    }


def list_access_keys(ctx: CallContext, args: Args) -> dict[str, Any]:
    owner_type, owner_id = _owner(ctx, args)
    listed = [
        {"AccessKeyId": key.access_key_id, "Status": key.status, "CreateDate": date(key.created_at)}
        for key in keys.keys_of(ctx.tx, owner_type, owner_id)
    ]
    return {"AccessKeys": {"AccessKey": listed}}


def update_access_key(ctx: CallContext, args: Args) -> dict[str, Any]:
    owner_type, owner_id = _owner(ctx, args)
    keys.set_status(ctx.tx, owner_type, owner_id, args.text("UserAccessKeyId"), args.text("Status"))
    return {}


def delete_access_key(ctx: CallContext, args: Args) -> dict[str, Any]:
    owner_type, owner_id = _owner(ctx, args)
    keys.delete_key(ctx.tx, owner_type, owner_id, args.text("UserAccessKeyId"))
    return {}


OPERATIONS = [
    Operation(RAM, "CreateAccessKey", CREATE, create_access_key, _target, mutating=True),
    Operation(RAM, "ListAccessKeys", CREATE, list_access_keys, _target),
    Operation(RAM, "UpdateAccessKey", UPDATE, update_access_key, _target, mutating=True),
    Operation(RAM, "DeleteAccessKey", DELETE, delete_access_key, _target, mutating=True),
]
