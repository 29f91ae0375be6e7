"""RAM groups: CreateGroup, GetGroup, ListGroups, DeleteGroup and membership."""

from __future__ import annotations

from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.ram.common import GROUP_NAME, MARKER, MAX_ITEMS, USER_NAME, date, every, named, paged, render_group
from cenflow.api.registry import Operation
from cenflow.iam import directory
from cenflow.wire.spec import Args, OperationSpec, Param

CREATE = OperationSpec((GROUP_NAME, Param("Comments")))
ONE = OperationSpec((GROUP_NAME,))
LIST = OperationSpec((MARKER, MAX_ITEMS))
MEMBERSHIP = OperationSpec((USER_NAME, GROUP_NAME))
FOR_USER = OperationSpec((USER_NAME,))
MEMBERS = OperationSpec((GROUP_NAME, MARKER, MAX_ITEMS))


def create_group(ctx: CallContext, args: Args) -> dict[str, Any]:
    group = directory.create_group(ctx.tx, ctx.account_id, ctx.now, args.text("GroupName"), args.opt_text("Comments"))
    body = render_group(group)
    del body["UpdateDate"]
    return {"Group": body}


def get_group(ctx: CallContext, args: Args) -> dict[str, Any]:
    return {"Group": render_group(directory.group(ctx.tx, ctx.account_id, args.text("GroupName")))}


def list_groups(ctx: CallContext, args: Args) -> dict[str, Any]:
    page = directory.list_groups(ctx.tx, ctx.account_id, args.opt_text("Marker"), args.number("MaxItems"))
    return paged("Groups", "Group", [render_group(group) for group in page.items], page.marker)


def delete_group(ctx: CallContext, args: Args) -> dict[str, Any]:
    directory.delete_group(ctx.tx, ctx.account_id, args.text("GroupName"))
    return {}


def add_user_to_group(ctx: CallContext, args: Args) -> dict[str, Any]:
    directory.add_user_to_group(ctx.tx, ctx.account_id, ctx.now, args.text("UserName"), args.text("GroupName"))
    return {}


def remove_user_from_group(ctx: CallContext, args: Args) -> dict[str, Any]:
    directory.remove_user_from_group(ctx.tx, ctx.account_id, args.text("UserName"), args.text("GroupName"))
    return {}


def list_groups_for_user(ctx: CallContext, args: Args) -> dict[str, Any]:
    groups = [
        {"GroupId": group.group_id, "GroupName": group.group_name, "Comments": group.comments, "JoinDate": date(joined)}
        for group, joined in directory.groups_for_user(ctx.tx, ctx.account_id, args.text("UserName"))
    ]
    return {"Groups": {"Group": groups}}


def list_users_for_group(ctx: CallContext, args: Args) -> dict[str, Any]:
    members = directory.users_in_group(ctx.tx, ctx.account_id, args.text("GroupName"))
    start = 0
    marker = args.opt_text("Marker")
    if marker:
        start = directory.decode_marker(marker)
    limit = args.number("MaxItems")
    window = members[start : start + limit]
    more = start + limit < len(members)
    users = [
        {"UserName": user.user_name, "DisplayName": user.display_name, "JoinDate": date(joined)}
        for user, joined in window
    ]
    return paged("Users", "User", users, directory.encode_marker(start + limit) if more else None)


_GROUP = named(("group", "GroupName"))
_BOTH = named(("user", "UserName"), ("group", "GroupName"))

OPERATIONS = [
    Operation(RAM, "CreateGroup", CREATE, create_group, every("group"), mutating=True),
    Operation(RAM, "GetGroup", ONE, get_group, _GROUP),
    Operation(RAM, "ListGroups", LIST, list_groups, every("group")),
    Operation(RAM, "DeleteGroup", ONE, delete_group, _GROUP, mutating=True),
    Operation(RAM, "AddUserToGroup", MEMBERSHIP, add_user_to_group, _BOTH, mutating=True),
    Operation(RAM, "RemoveUserFromGroup", MEMBERSHIP, remove_user_from_group, _BOTH, mutating=True),
    Operation(RAM, "ListGroupsForUser", FOR_USER, list_groups_for_user, named(("user", "UserName"))),
    Operation(RAM, "ListUsersForGroup", MEMBERS, list_users_for_group, _GROUP),
]
