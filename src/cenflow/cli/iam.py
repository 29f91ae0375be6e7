"""``cenflow iam``: RAM users, keys, groups, roles and policies from the shell, and ``simulate``.

The commands work on the state database directly (no server needed, safe beside a running one) and
apply the same rules as the RAM API: the same names, limits, document checks and error codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cenflow.cli.iam_simulate import simulate_command
from cenflow.cli.iam_state import F, State, account_options, emit, format_option, master_key_option, now
from cenflow.iam import attachments, directory, keys, policies
from cenflow.iam.policy import SYSTEM_POLICIES, PolicyType


def policy_reference(name: str, given: str | None) -> PolicyType:
    """``--type``, or System for a system policy's name and Custom otherwise."""
    if given is not None:
        return PolicyType(given)
    return PolicyType.SYSTEM if name in SYSTEM_POLICIES else PolicyType.CUSTOM


@click.group("iam")
def iam_group() -> None:
    """RAM identities and permissions: users, AccessKeys, groups, roles, policies.

    Bootstrap and script access to the API: create a RAM user with an AccessKey (the secret is
    printed once and never again), give it a system or custom policy, and check what a principal
    may do with `cenflow iam simulate`.  Everything here is also reachable through the RAM API
    (Ram 2015-05-01) with the official SDKs, signed with the root AccessKey.
    """


# -- users and keys ------------------------------------------------------------------------------
@iam_group.command("create-user")
@click.argument("name")
@click.option("--display-name", default=None, help="Display name (1-128 characters).")
@click.option("--comments", default=None, help="Comments (at most 128 characters).")
@click.option("--key/--no-key", "with_key", default=True, show_default=True, help="Also create an AccessKey.")
@click.option(
    "--policy",
    "policy_names",
    multiple=True,
    metavar="NAME",
    help="Attach this policy (a system policy by its name, else the custom policy); repeatable.",
)
@account_options
@master_key_option
@format_option
def create_user(
    name: str,
    display_name: str | None,
    comments: str | None,
    with_key: bool,
    policy_names: tuple[str, ...],
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
    master_key_file: Path | None,
    fmt: str,
) -> None:
    """Create the RAM user NAME, with an AccessKey unless --no-key.

    The AccessKey secret is printed once; store it now (it is kept only encrypted and cannot be
    shown again).  Example:

        cenflow iam create-user ops --policy AliyunCENReadOnlyAccess
    """
    state = State(data_dir, database_url, account_id)
    store = state.key_store(master_key_file) if with_key else None
    at = now()
    with state.write() as tx:
        user = directory.create_user(tx, state.account_id, at, name, display_name=display_name, comments=comments)
        for policy_name in policy_names:
            kind = policy_reference(policy_name, None)
            attachments.attach(tx, state.account_id, at, "User", name, kind, policy_name)
        created = store.create(tx, keys.USER, user.user_id, at) if store is not None else None
    value: dict[str, Any] = {
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Arn": user.arn(state.account_id),
        "Policies": list(policy_names),
    }
    lines = [f"user {user.user_name} (id {user.user_id}, {user.arn(state.account_id)})"]
    lines += [f"attached policy {p}" for p in policy_names]
    if created is not None:
        record, secret = created
        value.update(AccessKeyId=record.access_key_id, AccessKeySecret=secret)
        lines += [f"access_key_id     = {record.access_key_id}", f"access_key_secret = {secret}"]
        lines.append("The secret is shown only now; store it securely.")
    emit(fmt, value, "\n".join(lines))


@iam_group.command("delete-user")
@click.argument("name")
@account_options
def delete_user(name: str, data_dir: Path, database_url: str | None, account_id: str | None) -> None:
    """Delete the RAM user NAME (refused while it has AccessKeys, policies or groups, as in RAM)."""
    state = State(data_dir, database_url, account_id)
    with state.write() as tx:
        directory.delete_user(tx, state.account_id, name)
    click.echo(f"deleted user {name}")


@iam_group.command("create-key")
@click.argument("user_name")
@account_options
@master_key_option
@format_option
def create_key(
    user_name: str,
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
    master_key_file: Path | None,
    fmt: str,
) -> None:
    """Create an AccessKey for USER_NAME (at most two per user) and print its secret once."""
    state = State(data_dir, database_url, account_id)
    store = state.key_store(master_key_file)
    with state.write() as tx:
        user = directory.user(tx, state.account_id, user_name)
        record, secret = store.create(tx, keys.USER, user.user_id, now())
    emit(
        fmt,
        {"UserName": user_name, "AccessKeyId": record.access_key_id, "AccessKeySecret": secret},
        f"access_key_id     = {record.access_key_id}\naccess_key_secret = {secret}\n"
        "The secret is shown only now; store it securely.",
    )


@iam_group.command("set-key-status")
@click.argument("user_name")
@click.argument("access_key_id")
@click.argument("status", type=click.Choice(["Active", "Inactive"]))
@account_options
def set_key_status(
    user_name: str, access_key_id: str, status: str, data_dir: Path, database_url: str | None, account_id: str | None
) -> None:
    """Make a user's AccessKey Active or Inactive; an inactive key is refused from the next request on."""
    state = State(data_dir, database_url, account_id)
    with state.write() as tx:
        user = directory.user(tx, state.account_id, user_name)
        keys.set_status(tx, keys.USER, user.user_id, access_key_id, status)
    click.echo(f"{access_key_id} is {status}")


@iam_group.command("delete-key")
@click.argument("user_name")
@click.argument("access_key_id")
@account_options
def delete_key(
    user_name: str, access_key_id: str, data_dir: Path, database_url: str | None, account_id: str | None
) -> None:
    """Delete a user's AccessKey; requests signed with it fail with InvalidAccessKeyId.NotFound."""
    state = State(data_dir, database_url, account_id)
    with state.write() as tx:
        user = directory.user(tx, state.account_id, user_name)
        keys.delete_key(tx, keys.USER, user.user_id, access_key_id)
    click.echo(f"deleted {access_key_id}")


# -- groups, roles, policies ---------------------------------------------------------------------
@iam_group.command("create-group")
@click.argument("name")
@click.option("--comments", default=None, help="Comments (at most 128 characters).")
@click.option("--member", "members", multiple=True, metavar="USER", help="Add this user to the group; repeatable.")
@account_options
def create_group(
    name: str,
    comments: str | None,
    members: tuple[str, ...],
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
) -> None:
    """Create the group NAME, optionally with members."""
    state = State(data_dir, database_url, account_id)
    at = now()
    with state.write() as tx:
        directory.create_group(tx, state.account_id, at, name, comments)
        for member in members:
            directory.add_user_to_group(tx, state.account_id, at, member, name)
    click.echo(f"group {name}" + (f" with {', '.join(members)}" if members else ""))


@iam_group.command("create-role")
@click.argument("name")
@click.option(
    "--trust-policy",
    type=click.File("r"),
    required=True,
    help="The AssumeRolePolicyDocument (JSON file, or - for standard input): who may assume the role.",
)
@click.option("--description", default=None, help="Description (at most 1024 characters).")
@click.option(
    "--max-session-duration",
    type=click.IntRange(3600, 43200),
    default=3600,
    show_default=True,
    help="Longest STS session, in seconds.",
)
@account_options
def create_role(
    name: str,
    trust_policy: Any,
    description: str | None,
    max_session_duration: int,
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
) -> None:
    """Create the role NAME that principals named by its trust policy may assume with STS AssumeRole."""
    state = State(data_dir, database_url, account_id)
    with state.write() as tx:
        role = directory.create_role(
            tx,
            state.account_id,
            now(),
            name,
            trust_policy.read(),
            description=description,
            max_session_duration=max_session_duration,
        )
    click.echo(f"role {name} (id {role.role_id}, {role.arn(state.account_id)})")


@iam_group.command("create-policy")
@click.argument("name")
@click.option(
    "--document", type=click.File("r"), required=True, help="The policy document (JSON file, or - for standard input)."
)
@click.option("--description", default=None, help="Description (at most 1024 characters).")
@account_options
def create_policy(
    name: str, document: Any, description: str | None, data_dir: Path, database_url: str | None, account_id: str | None
) -> None:
    """Create the custom policy NAME (version v1) from a RAM policy document.

    The document is checked as RAM checks it: MalformedPolicyDocument says what is wrong and where.
    """
    state = State(data_dir, database_url, account_id)
    with state.write() as tx:
        policies.create_policy(tx, state.account_id, now(), name, document.read(), description)
    click.echo(f"policy {name} v1")


def _principal_option(func: F) -> F:
    for kind in ("role", "group", "user"):
        func = click.option(f"--{kind}", f"{kind}_name", default=None, metavar="NAME", help=f"The {kind}.")(func)
    return func


def _one_principal(user_name: str | None, group_name: str | None, role_name: str | None) -> tuple[str, str]:
    given = [(kind, name) for kind, name in (("User", user_name), ("Group", group_name), ("Role", role_name)) if name]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --user, --group and --role")
    return given[0]


@iam_group.command("attach-policy")
@click.argument("policy_name")
@_principal_option
@click.option(
    "--type",
    "policy_type",
    type=click.Choice(["System", "Custom"]),
    default=None,
    help="Default: System when POLICY_NAME is a system policy, else Custom.",
)
@account_options
def attach_policy(
    policy_name: str,
    user_name: str | None,
    group_name: str | None,
    role_name: str | None,
    policy_type: str | None,
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
) -> None:
    """Attach POLICY_NAME to a user, group or role.  Example:

    cenflow iam attach-policy AliyunCENReadOnlyAccess --user ops
    """
    kind, name = _one_principal(user_name, group_name, role_name)
    state = State(data_dir, database_url, account_id)
    reference = policy_reference(policy_name, policy_type)
    with state.write() as tx:
        attachments.attach(tx, state.account_id, now(), kind, name, reference, policy_name)
    click.echo(f"attached {reference.value} policy {policy_name} to {kind.lower()} {name}")


@iam_group.command("detach-policy")
@click.argument("policy_name")
@_principal_option
@click.option("--type", "policy_type", type=click.Choice(["System", "Custom"]), default=None, help="As for attach.")
@account_options
def detach_policy(
    policy_name: str,
    user_name: str | None,
    group_name: str | None,
    role_name: str | None,
    policy_type: str | None,
    data_dir: Path,
    database_url: str | None,
    account_id: str | None,
) -> None:
    """Detach POLICY_NAME from a user, group or role."""
    kind, name = _one_principal(user_name, group_name, role_name)
    state = State(data_dir, database_url, account_id)
    reference = policy_reference(policy_name, policy_type)
    with state.write() as tx:
        attachments.detach(tx, state.account_id, kind, name, reference, policy_name)
    click.echo(f"detached {reference.value} policy {policy_name} from {kind.lower()} {name}")


# -- listing -------------------------------------------------------------------------------------
@iam_group.command("list")
@click.argument("what", type=click.Choice(["users", "groups", "roles", "policies", "keys"]))
@click.option("--user", "user_name", default=None, metavar="NAME", help="For keys: whose (required).")
@account_options
@format_option
def list_command(
    what: str, user_name: str | None, data_dir: Path, database_url: str | None, account_id: str | None, fmt: str
) -> None:
    """List users (with their groups and policies), groups, roles, policies, or a user's keys."""
    state = State(data_dir, database_url, account_id)
    rows: list[dict[str, Any]] = []
    with state.read() as tx:
        if what == "users":
            for user in directory.list_users(tx, state.account_id, None, directory.MAX_LIST_ITEMS).items:
                groups = [g.group_name for g, _ in directory.groups_for_user(tx, state.account_id, user.user_name)]
                attached = [p.name for p, _ in attachments.policies_of(tx, state.account_id, "User", user.user_name)]
                rows.append(
                    {"UserName": user.user_name, "UserId": user.user_id, "Groups": groups, "Policies": attached}
                )
        elif what == "groups":
            for group in directory.list_groups(tx, state.account_id, None, directory.MAX_LIST_ITEMS).items:
                members = [u.user_name for u, _ in directory.users_in_group(tx, state.account_id, group.group_name)]
                rows.append({"GroupName": group.group_name, "GroupId": group.group_id, "Members": members})
        elif what == "roles":
            for role in directory.list_roles(tx, state.account_id, None, directory.MAX_LIST_ITEMS).items:
                attached = [p.name for p, _ in attachments.policies_of(tx, state.account_id, "Role", role.role_name)]
                rows.append({"RoleName": role.role_name, "Arn": role.arn(state.account_id), "Policies": attached})
        elif what == "policies":
            listed, _ = policies.list_policies(tx, state.account_id, None, None, 10_000)
            rows = [
                {"PolicyName": p.name, "PolicyType": p.type.value, "DefaultVersion": p.default_version} for p in listed
            ]
        else:
            if user_name is None:
                raise click.UsageError("list keys needs --user NAME")
            user = directory.user(tx, state.account_id, user_name)
            rows = [
                {"AccessKeyId": k.access_key_id, "Status": k.status, "CreateDate": k.created_at.isoformat()}
                for k in keys.keys_of(tx, keys.USER, user.user_id)
            ]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo("  ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in row.items()))
    if not rows:
        click.echo(f"(no {what})")


iam_group.add_command(simulate_command)
