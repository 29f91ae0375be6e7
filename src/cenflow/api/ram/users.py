"""RAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser."""

from __future__ import annotations

from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.ram.common import MARKER, MAX_ITEMS, USER_NAME, every, named, paged, render_user
from cenflow.api.registry import Operation
from cenflow.iam import directory
from cenflow.wire.spec import Args, OperationSpec, Param

CREATE = OperationSpec((USER_NAME, Param("DisplayName"), Param("MobilePhone"), Param("Email"), Param("Comments")))
GET = OperationSpec((USER_NAME,))
LIST = OperationSpec((MARKER, MAX_ITEMS))
UPDATE = OperationSpec(
    (
        USER_NAME,
        Param("NewUserName"),
        Param("NewDisplayName"),
        Param("NewMobilePhone"),
        Param("NewEmail"),
        Param("NewComments"),
    )
)


def create_user(ctx: CallContext, args: Args) -> dict[str, Any]:
    user = directory.create_user(
        ctx.tx,
        ctx.account_id,
        ctx.now,
        args.text("UserName"),
        display_name=args.opt_text("DisplayName"),
        email=args.opt_text("Email"),
        mobile_phone=args.opt_text("MobilePhone"),
        comments=args.opt_text("Comments"),
    )
    return {"User": render_user(user, updated=False)}


def get_user(ctx: CallContext, args: Args) -> dict[str, Any]:
    return {"User": render_user(directory.user(ctx.tx, ctx.account_id, args.text("UserName")))}


def list_users(ctx: CallContext, args: Args) -> dict[str, Any]:
    page = directory.list_users(ctx.tx, ctx.account_id, args.opt_text("Marker"), args.number("MaxItems"))
    return paged("Users", "User", [render_user(user) for user in page.items], page.marker)


def update_user(ctx: CallContext, args: Args) -> dict[str, Any]:
    user = directory.update_user(
        ctx.tx,
        ctx.account_id,
        ctx.now,
        args.text("UserName"),
        new_name=args.opt_text("NewUserName"),
        display_name=args.value("NewDisplayName"),
        email=args.value("NewEmail"),
        mobile_phone=args.value("NewMobilePhone"),
        comments=args.value("NewComments"),
    )
    return {"User": render_user(user)}


def delete_user(ctx: CallContext, args: Args) -> dict[str, Any]:
    directory.delete_user(ctx.tx, ctx.account_id, args.text("UserName"))
    return {}


_USER = named(("user", "UserName"))

OPERATIONS = [
    Operation(RAM, "CreateUser", CREATE, create_user, every("user"), mutating=True),
    Operation(RAM, "GetUser", GET, get_user, _USER),
    Operation(RAM, "ListUsers", LIST, list_users, every("user")),
    Operation(RAM, "UpdateUser", UPDATE, update_user, _USER, mutating=True),
    Operation(RAM, "DeleteUser", GET, delete_user, _USER, mutating=True),
]
