"""RAM roles: CreateRole, GetRole, ListRoles, DeleteRole."""

from __future__ import annotations

from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.ram.common import MARKER, MAX_ITEMS, ROLE_NAME, every, named, paged, render_role
from cenflow.api.registry import Operation
from cenflow.iam import directory
from cenflow.wire.spec import Args, OperationSpec, Param

CREATE = OperationSpec(
    (
        ROLE_NAME,
        Param("AssumeRolePolicyDocument", required=True),
        Param("Description"),
        Param("MaxSessionDuration", "integer"),
    )
)
ONE = OperationSpec((ROLE_NAME,))
LIST = OperationSpec((MARKER, MAX_ITEMS))


def create_role(ctx: CallContext, args: Args) -> dict[str, Any]:
    role = directory.create_role(
        ctx.tx,
        ctx.account_id,
        ctx.now,
        args.text("RoleName"),
        args.text("AssumeRolePolicyDocument"),
        description=args.opt_text("Description"),
        max_session_duration=args.opt_number("MaxSessionDuration"),
    )
    body = render_role(ctx, role)
    del body["UpdateDate"]
    return {"Role": body}


def get_role(ctx: CallContext, args: Args) -> dict[str, Any]:
    return {"Role": render_role(ctx, directory.role(ctx.tx, ctx.account_id, args.text("RoleName")))}


def list_roles(ctx: CallContext, args: Args) -> dict[str, Any]:
    page = directory.list_roles(ctx.tx, ctx.account_id, args.opt_text("Marker"), args.number("MaxItems"))
    roles = []
    for role in page.items:
        body = render_role(ctx, role)
        del body["AssumeRolePolicyDocument"]
        roles.append(body)
    return paged("Roles", "Role", roles, page.marker)


def delete_role(ctx: CallContext, args: Args) -> dict[str, Any]:
    directory.delete_role(ctx.tx, ctx.account_id, args.text("RoleName"))
    return {}


_ROLE = named(("role", "RoleName"))

OPERATIONS = [
    Operation(RAM, "CreateRole", CREATE, create_role, every("role"), mutating=True),
    Operation(RAM, "GetRole", ONE, get_role, _ROLE),
    Operation(RAM, "ListRoles", LIST, list_roles, every("role")),
    Operation(RAM, "DeleteRole", ONE, delete_role, _ROLE, mutating=True),
]
