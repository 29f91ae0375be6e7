"""RAM, STS and the authorization of every call, end to end: the official SDKs (RAM 2015-05-01,
STS 2015-04-01, Cbn stacks A-V3, A-v2 and C) against a real ``cenflow serve`` over HTTP.

One server for the module; every test creates its own users, policies and roles, so they do not
see each other.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.iam_support import (
    FlowLog,
    allow,
    cbn_client,
    deny,
    flowlog_status,
    make_flowlogs,
    policy,
    ram_client,
    sts_client,
)
from tests.harness import STACK_A_V3, STACK_C, STACKS, CenflowServer, SdkClient, api_error, checked_server

pytestmark = pytest.mark.e2e

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


@pytest.fixture(scope="module")
def iam_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenflowServer]:
    with checked_server(tmp_path_factory.mktemp("iam-server"), "--transition-delay", "0") as server:
        yield server


@pytest.fixture(scope="module")
def account_id(iam_server: CenflowServer) -> str:
    return str(httpx.get(f"{iam_server.base_url}/healthz").json()["account_id"])


@pytest.fixture(scope="module")
def ram(iam_server: CenflowServer) -> Any:
    return ram_client(iam_server)


@pytest.fixture(scope="module")
def root(iam_server: CenflowServer) -> SdkClient:
    return iam_server.client(STACK_A_V3)


@pytest.fixture(scope="module")
def flowlogs(root: SdkClient) -> list[FlowLog]:
    """Two Inactive flow logs (cn-hangzhou, cn-shanghai) for tests that only read or are denied."""
    return make_flowlogs(root, ["cn-hangzhou", "cn-shanghai"])


@dataclass(frozen=True)
class Key:
    user: str
    key_id: str
    secret: str


def new_user(ram: Any, *system: str, custom: str | None = None, prefix: str = "user") -> Key:
    """A RAM user with an AccessKey, the given system policies and, if given, a custom policy."""
    from alibabacloud_ram20150501 import models as m

    name = unique(prefix)
    ram.create_user(m.CreateUserRequest(user_name=name))
    for policy_name in system:
        ram.attach_policy_to_user(
            m.AttachPolicyToUserRequest(policy_type="System", policy_name=policy_name, user_name=name)
        )
    if custom is not None:
        policy_name = unique("policy")
        ram.create_policy(m.CreatePolicyRequest(policy_name=policy_name, policy_document=custom))
        ram.attach_policy_to_user(
            m.AttachPolicyToUserRequest(policy_type="Custom", policy_name=policy_name, user_name=name)
        )
    key = ram.create_access_key(m.CreateAccessKeyRequest(user_name=name)).body.access_key
    return Key(name, key.access_key_id, key.access_key_secret)


def trust_policy(principal: str) -> str:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [principal]}}
    return json.dumps({"Version": "1", "Statement": [statement]})


def as_user(server: CenflowServer, key: Key, stack: str = STACK_A_V3) -> SdkClient:
    return cbn_client(server, stack, key.key_id, key.secret)


def assert_denied(
    failure: Any,
    stack: str,
    action: str,
    *,
    kind: str = "ImplicitDeny",
    code: str = "Forbidden.RAM",
    principal_type: str = "SubUser",
    policy_type: str = "AccountLevelIdentityBasedPolicy",
) -> None:
    """403 with the code on every stack; stack A also exposes AccessDeniedDetail."""
    assert (failure.code, failure.status) == (code, 403), failure
    if stack == STACK_C:
        return
    detail = failure.exception.access_denied_detail
    assert detail["AuthAction"] == action
    assert detail["NoPermissionType"] == kind
    assert detail["PolicyType"] == policy_type
    assert detail["AuthPrincipalType"] == principal_type
    assert detail["AuthPrincipalOwnerId"].isdigit()
    assert detail["AuthPrincipalDisplayName"]
    assert detail["EncodedDiagnosticMessage"]


# -- RAM management through alibabacloud-ram20150501 ---------------------------------------------
def test_users_keys_and_policies_through_the_ram_sdk(iam_server: CenflowServer, ram: Any, account_id: str) -> None:
    from alibabacloud_ram20150501 import models as m

    name = unique("alice")
    created = ram.create_user(m.CreateUserRequest(user_name=name, display_name="Alice", comments="ops")).body.user
    assert (created.user_name, created.display_name, created.comments) == (name, "Alice", "ops")
    assert created.user_id.isdigit()
    assert created.create_date.endswith("Z")
    assert ram.get_user(m.GetUserRequest(user_name=name)).body.user.user_id == created.user_id
    listed = ram.list_users(m.ListUsersRequest(max_items=1000)).body
    assert name in [u.user_name for u in listed.users.user]
    assert listed.is_truncated is False

    renamed = unique("alice-renamed")
    updated = ram.update_user(m.UpdateUserRequest(user_name=name, new_user_name=renamed, new_email="a@example.com"))
    assert (updated.body.user.user_name, updated.body.user.email) == (renamed, "a@example.com")

    key = ram.create_access_key(m.CreateAccessKeyRequest(user_name=renamed)).body.access_key
    assert key.status == "Active"
    assert len(key.access_key_secret) == 30
    keys = ram.list_access_keys(m.ListAccessKeysRequest(user_name=renamed)).body.access_keys.access_key
    assert [(k.access_key_id, k.status) for k in keys] == [(key.access_key_id, "Active")]
    assert all("AccessKeySecret" not in k.to_map() for k in keys)
    assert key.access_key_secret not in iam_server.log_text()

    policy_name = unique("flowlog-admin")
    document = policy(allow("cen:*Flowlog*"))
    made = ram.create_policy(m.CreatePolicyRequest(policy_name=policy_name, policy_document=document)).body.policy
    assert (made.policy_type, made.default_version) == ("Custom", "v1")
    ram.attach_policy_to_user(
        m.AttachPolicyToUserRequest(policy_type="Custom", policy_name=policy_name, user_name=renamed)
    )
    attached = ram.list_policies_for_user(m.ListPoliciesForUserRequest(user_name=renamed)).body.policies.policy
    assert [(p.policy_name, p.policy_type, p.default_version) for p in attached] == [(policy_name, "Custom", "v1")]
    entities = ram.list_entities_for_policy(
        m.ListEntitiesForPolicyRequest(policy_type="Custom", policy_name=policy_name)
    ).body
    assert [u.user_name for u in entities.users.user] == [renamed]
    assert entities.groups.group == []
    assert entities.roles.role == []

    v2 = ram.create_policy_version(
        m.CreatePolicyVersionRequest(
            policy_name=policy_name, policy_document=policy(allow("cen:Describe*")), set_as_default=True
        )
    ).body.policy_version
    assert (v2.version_id, v2.is_default_version) == ("v2", True)
    got = ram.get_policy(m.GetPolicyRequest(policy_type="Custom", policy_name=policy_name)).body
    assert (got.policy.default_version, got.policy.attachment_count) == ("v2", 1)
    assert json.loads(got.default_policy_version.policy_document)["Statement"][0]["Action"] == "cen:Describe*"
    versions = ram.list_policy_versions(m.ListPolicyVersionsRequest(policy_type="Custom", policy_name=policy_name))
    assert [(v.version_id, v.is_default_version) for v in versions.body.policy_versions.policy_version] == [
        ("v1", False),
        ("v2", True),
    ]
    v1 = ram.get_policy_version(
        m.GetPolicyVersionRequest(policy_type="Custom", policy_name=policy_name, version_id="v1")
    )
    assert v1.body.policy_version.policy_document == document
    ram.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name=policy_name, version_id="v1"))
    ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name=policy_name, version_id="v2"))

    # Cleaning up in RAM's order: keys, policies, then the user.
    ram.delete_access_key(m.DeleteAccessKeyRequest(user_name=renamed, user_access_key_id=key.access_key_id))
    ram.detach_policy_from_user(
        m.DetachPolicyFromUserRequest(policy_type="Custom", policy_name=policy_name, user_name=renamed)
    )
    ram.delete_policy(m.DeletePolicyRequest(policy_name=policy_name))
    ram.delete_user(m.DeleteUserRequest(user_name=renamed))
    assert api_error(ram.get_user, m.GetUserRequest(user_name=renamed)).code == "EntityNotExist.User"


def test_system_policies_are_listed_and_readable(ram: Any) -> None:
    from alibabacloud_ram20150501 import models as m

    from cenflow.iam.policy import SYSTEM_POLICIES

    listed = ram.list_policies(m.ListPoliciesRequest(policy_type="System")).body.policies.policy
    assert {p.policy_name for p in listed} == set(SYSTEM_POLICIES)
    assert {p.policy_type for p in listed} == {"System"}
    got = ram.get_policy(m.GetPolicyRequest(policy_type="System", policy_name="AliyunCENReadOnlyAccess")).body
    assert got.policy.policy_type == "System"
    assert got.default_policy_version.policy_document == SYSTEM_POLICIES["AliyunCENReadOnlyAccess"].document
    # Paging with Marker across system and custom policies sees every policy exactly once.
    seen, marker = [], None
    while True:
        page = ram.list_policies(m.ListPoliciesRequest(max_items=2, marker=marker)).body
        seen += [p.policy_name for p in page.policies.policy]
        if not page.is_truncated:
            break
        marker = page.marker
    assert len(seen) == len(set(seen))
    assert set(SYSTEM_POLICIES) <= set(seen)
    failure = api_error(ram.delete_policy, m.DeletePolicyRequest(policy_name="AliyunCENReadOnlyAccess"))
    assert (failure.code, failure.status) == ("EntityNotExist.Policy", 404)


def test_groups_and_roles_through_the_ram_sdk(ram: Any, account_id: str) -> None:
    from alibabacloud_ram20150501 import models as m

    user, group = unique("member"), unique("team")
    ram.create_user(m.CreateUserRequest(user_name=user))
    created = ram.create_group(m.CreateGroupRequest(group_name=group, comments="dev")).body.group
    assert created.group_id.startswith("g-")
    ram.add_user_to_group(m.AddUserToGroupRequest(user_name=user, group_name=group))
    groups = ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name=user)).body.groups.group
    assert [(g.group_name, g.comments) for g in groups] == [(group, "dev")]
    assert groups[0].join_date.endswith("Z")
    failure = api_error(ram.add_user_to_group, m.AddUserToGroupRequest(user_name=user, group_name=group))
    assert (failure.code, failure.status) == ("EntityAlreadyExists.User.Group", 409)
    failure = api_error(ram.delete_group, m.DeleteGroupRequest(group_name=group))
    assert (failure.code, failure.status) == ("DeleteConflict.Group.User", 409)
    ram.remove_user_from_group(m.RemoveUserFromGroupRequest(user_name=user, group_name=group))
    ram.delete_group(m.DeleteGroupRequest(group_name=group))

    role = unique("reader")
    trust = trust_policy(f"acs:ram::{account_id}:root")
    made = ram.create_role(
        m.CreateRoleRequest(role_name=role, assume_role_policy_document=trust, max_session_duration=7200)
    ).body.role
    assert made.arn == f"acs:ram::{account_id}:role/{role}"
    assert made.max_session_duration == 7200
    assert ram.get_role(m.GetRoleRequest(role_name=role)).body.role.assume_role_policy_document == trust
    ram.attach_policy_to_role(
        m.AttachPolicyToRoleRequest(policy_type="System", policy_name="AliyunCENReadOnlyAccess", role_name=role)
    )
    failure = api_error(ram.delete_role, m.DeleteRoleRequest(role_name=role))
    assert (failure.code, failure.status) == ("DeleteConflict.Role.Policy", 409)
    ram.detach_policy_from_role(
        m.DetachPolicyFromRoleRequest(policy_type="System", policy_name="AliyunCENReadOnlyAccess", role_name=role)
    )
    ram.delete_role(m.DeleteRoleRequest(role_name=role))
    bad = api_error(ram.create_role, m.CreateRoleRequest(role_name=unique("r"), assume_role_policy_document="{}"))
    assert (bad.code, bad.status) == ("MalformedPolicyDocument", 400)


def test_ram_error_codes(ram: Any) -> None:
    from alibabacloud_ram20150501 import models as m

    name = unique("conflicts")
    ram.create_user(m.CreateUserRequest(user_name=name))
    cases = [
        (ram.create_user, m.CreateUserRequest(user_name=name), "EntityAlreadyExists.User", 409),
        (ram.get_user, m.GetUserRequest(user_name="nobody-here"), "EntityNotExist.User", 404),
        (ram.create_user, m.CreateUserRequest(user_name="bad name!"), "InvalidParameter.UserName.InvalidChars", 400),
        (ram.create_user, m.CreateUserRequest(user_name="x" * 65), "InvalidParameter.UserName.Length", 400),
        (
            ram.create_user,
            m.CreateUserRequest(user_name=unique("u"), email="nope"),
            "InvalidParameter.Email.Format",
            400,
        ),
        (ram.get_policy, m.GetPolicyRequest(policy_type="Other", policy_name="x"), "InvalidParameter.PolicyType", 400),
        (ram.get_policy, m.GetPolicyRequest(policy_type="Custom", policy_name="missing"), "EntityNotExist.Policy", 404),
    ]
    for call, request, code, status in cases:
        failure = api_error(call, request)
        assert (failure.code, failure.status) == (code, status), (request, failure)

    # DeleteConflict while the user still has keys, then policies, then groups.
    first = ram.create_access_key(m.CreateAccessKeyRequest(user_name=name)).body.access_key
    second = ram.create_access_key(m.CreateAccessKeyRequest(user_name=name)).body.access_key
    third = api_error(ram.create_access_key, m.CreateAccessKeyRequest(user_name=name))
    assert (third.code, third.status) == ("LimitExceeded.User.AccessKey", 409)
    assert api_error(ram.delete_user, m.DeleteUserRequest(user_name=name)).code == "DeleteConflict.User.AccessKey"
    for key in (first, second):
        ram.delete_access_key(m.DeleteAccessKeyRequest(user_name=name, user_access_key_id=key.access_key_id))
    missing = api_error(
        ram.delete_access_key, m.DeleteAccessKeyRequest(user_name=name, user_access_key_id=first.access_key_id)
    )
    assert (missing.code, missing.status) == ("EntityNotExist.User.AccessKey", 404)
    attach = m.AttachPolicyToUserRequest(policy_type="System", policy_name="AliyunCENReadOnlyAccess", user_name=name)
    ram.attach_policy_to_user(attach)
    assert api_error(ram.attach_policy_to_user, attach).code == "EntityAlreadyExists.User.Policy"
    assert api_error(ram.delete_user, m.DeleteUserRequest(user_name=name)).code == "DeleteConflict.User.Policy"
    ram.detach_policy_from_user(
        m.DetachPolicyFromUserRequest(policy_type="System", policy_name="AliyunCENReadOnlyAccess", user_name=name)
    )
    group = unique("g")
    ram.create_group(m.CreateGroupRequest(group_name=group))
    ram.add_user_to_group(m.AddUserToGroupRequest(user_name=name, group_name=group))
    conflict = api_error(ram.delete_user, m.DeleteUserRequest(user_name=name))
    assert (conflict.code, conflict.status) == ("DeleteConflict.User.Group", 409)
    ram.remove_user_from_group(m.RemoveUserFromGroupRequest(user_name=name, group_name=group))
    ram.delete_user(m.DeleteUserRequest(user_name=name))

    # Policy documents and versions.
    malformed = api_error(
        ram.create_policy,
        m.CreatePolicyRequest(
            policy_name=unique("p"), policy_document='{"Version": "1", "Statement": [{"Effect": "Maybe"}]}'
        ),
    )
    assert (malformed.code, malformed.status) == ("MalformedPolicyDocument", 400)
    assert len(malformed.message) > len("The policy document is invalid.")
    too_long = api_error(
        ram.create_policy,
        m.CreatePolicyRequest(policy_name=unique("p"), policy_document=policy(allow("cen:*")) + " " * 6144),
    )
    assert (too_long.code, too_long.status) == ("InvalidParameter.PolicyDocument.Length", 400)
    name = unique("versioned")
    ram.create_policy(m.CreatePolicyRequest(policy_name=name, policy_document=policy(allow("cen:Describe*"))))
    ram.create_policy_version(m.CreatePolicyVersionRequest(policy_name=name, policy_document=policy(allow("cen:*"))))
    default = api_error(ram.delete_policy_version, m.DeletePolicyVersionRequest(policy_name=name, version_id="v1"))
    assert (default.code, default.status) == ("DeleteConflict.Policy.Version.Default", 409)
    assert api_error(ram.delete_policy, m.DeletePolicyRequest(policy_name=name)).code == "DeleteConflict.Policy.Version"
    for _ in range(3):
        ram.create_policy_version(
            m.CreatePolicyVersionRequest(policy_name=name, policy_document=policy(allow("cen:*")))
        )
    sixth = api_error(
        ram.create_policy_version,
        m.CreatePolicyVersionRequest(policy_name=name, policy_document=policy(allow("cen:*"))),
    )
    assert (sixth.code, sixth.status) == ("LimitExceeded.Policy.Version", 409)
    rotated = ram.create_policy_version(
        m.CreatePolicyVersionRequest(
            policy_name=name,
            policy_document=policy(allow("cen:*")),
            rotate_strategy="DeleteOldestNonDefaultVersionWhenLimitExceeded",
        )
    ).body.policy_version
    assert rotated.version_id == "v6"
    ram.delete_policy(m.DeletePolicyRequest(policy_name=name, cascading_delete=True))
    assert api_error(ram.get_policy, m.GetPolicyRequest(policy_type="Custom", policy_name=name)).status == 404


# -- authorization of Cbn calls -------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_read_only_user_describes_but_cannot_activate(
    iam_server: CenflowServer, ram: Any, flowlogs: list[FlowLog], stack: str
) -> None:
    key = new_user(ram, "AliyunCENReadOnlyAccess")
    client = as_user(iam_server, key, stack)
    listed = client.invoke("DescribeFlowlogs", {"RegionId": "cn-hangzhou"})["FlowLogs"]["FlowLog"]
    assert flowlogs[0].flow_log_id in [f["FlowLogId"] for f in listed]
    failure = api_error(client.invoke, "ActiveFlowLog", flowlogs[0].params())
    assert_denied(failure, stack, "cen:ActiveFlowLog")
    assert "not authorized" in failure.message


def test_denial_body_and_its_diagnostic_message(
    iam_server: CenflowServer, ram: Any, account_id: str, flowlogs: list[FlowLog]
) -> None:
    from alibabacloud_ram20150501 import models as m

    key = new_user(ram, "AliyunCENReadOnlyAccess")
    failure = api_error(as_user(iam_server, key).invoke, "DeleteFlowlog", flowlogs[1].params())
    assert failure.body is not None
    assert failure.body["Code"] == "Forbidden.RAM"
    assert failure.body["HostId"] == "cbn.aliyuncs.com"
    detail = failure.body["AccessDeniedDetail"]
    user_id = ram.get_user(m.GetUserRequest(user_name=key.user)).body.user.user_id
    assert detail["AuthPrincipalOwnerId"] == account_id
    assert detail["AuthPrincipalDisplayName"] == user_id
    decoded = ram.decode_diagnostic_message(
        m.DecodeDiagnosticMessageRequest(encoded_diagnostic_message=detail["EncodedDiagnosticMessage"])
    ).body.decoded_diagnostic_message
    assert decoded.auth_action == "cen:DeleteFlowlog"
    assert decoded.auth_resource == flowlogs[1].arn(account_id)
    assert decoded.explicit_deny is False
    assert "acs:SourceIp" in {c.condition_key for c in decoded.auth_conditions}
    forged = api_error(
        ram.decode_diagnostic_message, m.DecodeDiagnosticMessageRequest(encoded_diagnostic_message="bm90IG1pbmU=")
    )
    assert (forged.code, forged.status) == ("InvalidParameter.EncodedDiagnosticMessage", 400)


@pytest.mark.parametrize("stack", [STACK_A_V3, STACK_C])
def test_allowed_on_one_flowlog_arn_only(
    iam_server: CenflowServer, ram: Any, root: SdkClient, account_id: str, stack: str
) -> None:
    mine, other = make_flowlogs(
        root, ["cn-beijing", "cn-shenzhen"] if stack == STACK_C else ["cn-qingdao", "cn-zhangjiakou"]
    )
    key = new_user(ram, custom=policy(allow("cen:ActiveFlowLog", mine.arn(account_id)), allow("cen:DescribeFlowlogs")))
    client = as_user(iam_server, key, stack)
    assert client.invoke("ActiveFlowLog", mine.params())["Success"] in ("true", True)
    assert_denied(api_error(client.invoke, "ActiveFlowLog", other.params()), stack, "cen:ActiveFlowLog")
    assert flowlog_status(root, other) == "Inactive"


@pytest.mark.parametrize("stack", STACKS)
def test_explicit_deny_beats_full_access(
    iam_server: CenflowServer, ram: Any, flowlogs: list[FlowLog], stack: str
) -> None:
    key = new_user(ram, "AliyunCENFullAccess", custom=policy(deny("cen:*Flowlog*")))
    client = as_user(iam_server, key, stack)
    client.invoke("DescribeCens", {})  # the rest of CEN stays allowed
    failure = api_error(client.invoke, "ActiveFlowLog", flowlogs[0].params())
    assert_denied(failure, stack, "cen:ActiveFlowLog", kind="ExplicitDeny")
    listing = api_error(client.invoke, "DescribeFlowlogs", {"RegionId": "cn-hangzhou"})
    assert_denied(listing, stack, "cen:DescribeFlowlogs", kind="ExplicitDeny")


def test_listing_needs_permission_on_every_flowlog(
    iam_server: CenflowServer, ram: Any, account_id: str, flowlogs: list[FlowLog]
) -> None:
    """DescribeFlowlogs is authorised on flowlog/<FlowLogId>, else on flowlog/* (refused, not filtered)."""
    one = flowlogs[0]
    key = new_user(ram, custom=policy(allow("cen:DescribeFlowlogs", one.arn(account_id))))
    client = as_user(iam_server, key)
    assert [f["FlowLogId"] for f in client.invoke("DescribeFlowlogs", one.params())["FlowLogs"]["FlowLog"]] == [
        one.flow_log_id
    ]
    assert_denied(
        api_error(client.invoke, "DescribeFlowlogs", {"RegionId": one.region_id}), STACK_A_V3, "cen:DescribeFlowlogs"
    )


@pytest.mark.parametrize("stack", [STACK_A_V3, STACK_C])
def test_source_ip_condition(iam_server: CenflowServer, ram: Any, stack: str) -> None:
    here = new_user(ram, custom=policy(allow("cen:Describe*", IpAddress={"acs:SourceIp": "127.0.0.0/8"})))
    elsewhere = new_user(ram, custom=policy(allow("cen:Describe*", IpAddress={"acs:SourceIp": "192.0.2.0/24"})))
    as_user(iam_server, here, stack).invoke("DescribeCens", {})
    failure = api_error(as_user(iam_server, elsewhere, stack).invoke, "DescribeCens", {})
    assert_denied(failure, stack, "cen:DescribeCens")


def test_group_policies_and_resource_tags(iam_server: CenflowServer, ram: Any, root: SdkClient) -> None:
    from alibabacloud_ram20150501 import models as m

    tagged, untagged = make_flowlogs(root, ["cn-huhehaote", "cn-wulanchabu"])
    root.invoke(
        "TagResources",
        {
            "RegionId": tagged.region_id,
            "ResourceType": "Flowlog",
            "ResourceId": [tagged.flow_log_id],
            "Tag": [{"Key": "team", "Value": "blue"}],
        },
    )
    key = new_user(ram)
    group, policy_name = unique("blue-team"), unique("blue-flowlogs")
    document = policy(allow("cen:ActiveFlowLog", StringEquals={"acs:ResourceTag/team": "blue"}))
    ram.create_policy(m.CreatePolicyRequest(policy_name=policy_name, policy_document=document))
    ram.create_group(m.CreateGroupRequest(group_name=group))
    ram.attach_policy_to_group(
        m.AttachPolicyToGroupRequest(policy_type="Custom", policy_name=policy_name, group_name=group)
    )
    client = as_user(iam_server, key)
    assert_denied(api_error(client.invoke, "ActiveFlowLog", tagged.params()), STACK_A_V3, "cen:ActiveFlowLog")
    ram.add_user_to_group(m.AddUserToGroupRequest(user_name=key.user, group_name=group))
    client.invoke("ActiveFlowLog", tagged.params())
    assert_denied(api_error(client.invoke, "ActiveFlowLog", untagged.params()), STACK_A_V3, "cen:ActiveFlowLog")


def test_inactive_and_deleted_keys_are_refused_at_once(iam_server: CenflowServer, ram: Any) -> None:
    from alibabacloud_ram20150501 import models as m

    key = new_user(ram, "AliyunCENReadOnlyAccess")
    client = as_user(iam_server, key)
    client.invoke("DescribeCens", {})
    ram.update_access_key(
        m.UpdateAccessKeyRequest(user_name=key.user, user_access_key_id=key.key_id, status="Inactive")
    )
    for stack in STACKS:
        failure = api_error(as_user(iam_server, key, stack).invoke, "DescribeCens", {})
        assert (failure.code, failure.status) == ("InvalidAccessKeyId.Inactive", 400), stack
    ram.update_access_key(m.UpdateAccessKeyRequest(user_name=key.user, user_access_key_id=key.key_id, status="Active"))
    client.invoke("DescribeCens", {})
    ram.delete_access_key(m.DeleteAccessKeyRequest(user_name=key.user, user_access_key_id=key.key_id))
    failure = api_error(client.invoke, "DescribeCens", {})
    assert (failure.code, failure.status) == ("InvalidAccessKeyId.NotFound", 404)


def test_ram_calls_are_authorised_too(iam_server: CenflowServer, ram: Any, account_id: str) -> None:
    from alibabacloud_ram20150501 import models as m

    key = new_user(ram, "AliyunRAMReadOnlyAccess")
    reader = ram_client(iam_server, key.key_id, key.secret)
    assert reader.get_user(m.GetUserRequest(user_name=key.user)).body.user.user_name == key.user
    failure = api_error(reader.create_user, m.CreateUserRequest(user_name=unique("intruder")))
    assert (failure.code, failure.status) == ("NoPermission", 403)
    assert f"acs:ram:*:{account_id}:user/*" in failure.message
    assert failure.body is not None
    assert failure.body["HostId"] == "ram.aliyuncs.com"
    assert failure.body["AccessDeniedDetail"]["AuthAction"] == "ram:CreateUser"
    # A user lists its own keys without naming itself (UserName defaults to the caller).
    own = new_user(ram, prefix="self")
    grant = _own_keys_policy(ram, account_id, own.user)
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type="Custom", policy_name=grant, user_name=own.user))
    keys = ram_client(iam_server, own.key_id, own.secret).list_access_keys(m.ListAccessKeysRequest()).body
    assert [k.access_key_id for k in keys.access_keys.access_key] == [own.key_id]


def _own_keys_policy(ram: Any, account_id: str, user: str) -> str:
    from alibabacloud_ram20150501 import models as m

    name = unique("own-keys")
    document = policy(allow("ram:ListAccessKeys", f"acs:ram:*:{account_id}:user/{user}"))
    ram.create_policy(m.CreatePolicyRequest(policy_name=name, policy_document=document))
    return name


# -- STS ------------------------------------------------------------------------------------------
def new_role(ram: Any, account_id: str, *system: str, trusted: str | None = None) -> str:
    from alibabacloud_ram20150501 import models as m

    name = unique("role")
    principal = f"acs:ram::{account_id}:user/{trusted}" if trusted else f"acs:ram::{account_id}:root"
    trust = trust_policy(principal)
    ram.create_role(m.CreateRoleRequest(role_name=name, assume_role_policy_document=trust))
    for policy_name in system:
        ram.attach_policy_to_role(
            m.AttachPolicyToRoleRequest(policy_type="System", policy_name=policy_name, role_name=name)
        )
    return name


def assume(server: CenflowServer, key: Key, account_id: str, role: str, **extra: Any) -> Any:
    from alibabacloud_sts20150401 import models as s

    request = s.AssumeRoleRequest(role_arn=f"acs:ram::{account_id}:role/{role}", role_session_name="tester", **extra)
    return sts_client(server, key.key_id, key.secret).assume_role(request).body


@pytest.mark.parametrize("stack", STACKS)
def test_assume_role_and_call_with_the_session(
    iam_server: CenflowServer, ram: Any, account_id: str, flowlogs: list[FlowLog], stack: str
) -> None:
    role = new_role(ram, account_id, "AliyunCENReadOnlyAccess")
    key = new_user(ram, "AliyunSTSAssumeRoleAccess")
    body = assume(iam_server, key, account_id, role, duration_seconds=900)
    credentials = body.credentials
    assert credentials.access_key_id.startswith("STS.")
    expires = datetime.strptime(credentials.expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(seconds=880) < expires - datetime.now(UTC) <= timedelta(seconds=901)
    assert body.assumed_role_user.arn == f"acs:ram::{account_id}:role/{role}/tester"
    session = cbn_client(
        iam_server, stack, credentials.access_key_id, credentials.access_key_secret, credentials.security_token
    )
    listed = session.invoke("DescribeFlowlogs", {"RegionId": "cn-hangzhou"})["FlowLogs"]["FlowLog"]
    assert flowlogs[0].flow_log_id in [f["FlowLogId"] for f in listed]
    failure = api_error(session.invoke, "ActiveFlowLog", flowlogs[0].params())
    assert_denied(failure, stack, "cen:ActiveFlowLog", principal_type="AssumedRoleUser")
    identity = (
        sts_client(iam_server, credentials.access_key_id, credentials.access_key_secret, credentials.security_token)
        .get_caller_identity()
        .body
    )
    assert identity.identity_type == "AssumedRoleUser"
    assert identity.arn == f"acs:ram::{account_id}:assumed-role/{role}/tester"
    assert identity.principal_id == f"{identity.role_id}:tester"
    log = iam_server.log_text()
    assert credentials.access_key_secret not in log
    assert credentials.security_token not in log


def test_session_policy_narrows_the_role(iam_server: CenflowServer, ram: Any, account_id: str) -> None:
    role = new_role(ram, account_id, "AliyunCENReadOnlyAccess")
    key = new_user(ram, "AliyunSTSAssumeRoleAccess")
    credentials = assume(iam_server, key, account_id, role, policy=policy(allow("cen:DescribeCens"))).credentials
    session = cbn_client(
        iam_server, STACK_A_V3, credentials.access_key_id, credentials.access_key_secret, credentials.security_token
    )
    session.invoke("DescribeCens", {})
    failure = api_error(session.invoke, "DescribeFlowlogs", {"RegionId": "cn-hangzhou"})
    assert_denied(
        failure, STACK_A_V3, "cen:DescribeFlowlogs", principal_type="AssumedRoleUser", policy_type="SessionPolicy"
    )


def test_assume_role_refusals(iam_server: CenflowServer, ram: Any, account_id: str) -> None:
    from alibabacloud_sts20150401 import models as s

    trusted_only = new_user(ram, "AliyunSTSAssumeRoleAccess")
    other = new_user(ram, "AliyunSTSAssumeRoleAccess")
    role = new_role(ram, account_id, "AliyunCENReadOnlyAccess", trusted=trusted_only.user)
    assume(iam_server, trusted_only, account_id, role)
    refused = api_error(assume, iam_server, other, account_id, role)
    assert (refused.code, refused.status) == ("NoPermission", 403)
    assert refused.body is not None
    assert refused.body["AccessDeniedDetail"]["PolicyType"] == "AssumeRolePolicy"
    no_sts_policy = new_user(ram, "AliyunCENReadOnlyAccess")
    assert api_error(assume, iam_server, no_sts_policy, account_id, role).code == "NoPermission"
    assert api_error(assume, iam_server, trusted_only, account_id, "no-such-role").code == "EntityNotExist.Role"
    too_long = api_error(assume, iam_server, trusted_only, account_id, role, duration_seconds=3601)
    assert (too_long.code, too_long.status) == ("InvalidParameter.DurationSeconds", 400)
    grammar = api_error(assume, iam_server, trusted_only, account_id, role, policy='{"Statement": 1}')
    assert grammar.code == "InvalidParameter.PolicyGrammar"
    root_sts = sts_client(iam_server, str(iam_server.access_key_id), str(iam_server.access_key_secret))
    as_root = api_error(
        root_sts.assume_role,
        s.AssumeRoleRequest(role_arn=f"acs:ram::{account_id}:role/{role}", role_session_name="root"),
    )
    assert (as_root.code, as_root.status) == ("NoPermission", 403)


def test_expired_forged_and_orphaned_tokens(iam_server: CenflowServer, ram: Any, account_id: str) -> None:
    from alibabacloud_ram20150501 import models as m
    from cryptography.fernet import Fernet

    from cenflow.iam.directory import Role
    from cenflow.iam.secrets import SecretBox
    from cenflow.iam.sts import TokenService
    from cenflow.store.database import Database

    role = new_role(ram, account_id, "AliyunCENReadOnlyAccess")
    key = new_user(ram, "AliyunSTSAssumeRoleAccess")
    live = assume(iam_server, key, account_id, role).credentials

    def call(key_id: str, secret: str, token: str) -> Any:
        return cbn_client(iam_server, STACK_A_V3, key_id, secret, token).invoke("DescribeCens", {})

    call(live.access_key_id, live.access_key_secret, live.security_token)

    # Expired: a token sealed with the server's own master key whose hour ended yesterday.
    got = ram.get_role(m.GetRoleRequest(role_name=role)).body.role
    box = SecretBox.from_file(iam_server.data_dir / "master.key")
    database = Database(f"sqlite:///{iam_server.data_dir / 'cenflow.db'}")
    tokens = TokenService(database, box)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    stale = tokens.issue(
        account_id=account_id,
        role=Role(got.role_id, role, "", "", 3600, yesterday, yesterday),
        session_name="old",
        duration=timedelta(hours=1),
        now=yesterday,
    )
    expired = api_error(call, stale.access_key_id, stale.secret, stale.security_token)
    assert expired.code == "InvalidSecurityToken.Expired"

    # Forged: flipped characters, or sealed under another master key.
    token = live.security_token
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    assert api_error(call, live.access_key_id, live.access_key_secret, flipped).code == "InvalidSecurityToken.Malformed"
    foreign = TokenService(database, SecretBox(Fernet.generate_key()))
    alien = foreign.issue(
        account_id=account_id,
        role=Role(got.role_id, role, "", "", 3600, yesterday, yesterday),
        session_name="alien",
        duration=timedelta(hours=1),
        now=datetime.now(UTC),
    )
    assert (
        api_error(call, alien.access_key_id, alien.secret, alien.security_token).code
        == "InvalidSecurityToken.Malformed"
    )
    # Another session's token with this session's key, and a token sent with a permanent key.
    second = assume(iam_server, key, account_id, role).credentials
    mismatch = api_error(call, live.access_key_id, live.access_key_secret, second.security_token)
    assert mismatch.code == "InvalidSecurityToken.MismatchWithAccessKey"
    assert (
        api_error(call, key.key_id, key.secret, live.security_token).code
        == "InvalidSecurityToken.MismatchWithAccessKey"
    )

    # Orphaned: the role is deleted, its sessions stop at once.
    ram.detach_policy_from_role(
        m.DetachPolicyFromRoleRequest(policy_type="System", policy_name="AliyunCENReadOnlyAccess", role_name=role)
    )
    ram.delete_role(m.DeleteRoleRequest(role_name=role))
    orphaned = api_error(call, live.access_key_id, live.access_key_secret, live.security_token)
    assert orphaned.code == "InvalidSecurityToken.Malformed"
    assert "no longer exists" in orphaned.message


def test_caller_identity_of_root_and_users(iam_server: CenflowServer, ram: Any, account_id: str) -> None:
    root = sts_client(iam_server, str(iam_server.access_key_id), str(iam_server.access_key_secret))
    me = root.get_caller_identity().body
    assert (me.identity_type, me.account_id, me.arn) == ("Account", account_id, f"acs:ram::{account_id}:root")
    key = new_user(ram)  # no policy at all: GetCallerIdentity needs none
    them = sts_client(iam_server, key.key_id, key.secret).get_caller_identity().body
    assert (them.identity_type, them.arn) == ("RAMUser", f"acs:ram::{account_id}:user/{key.user}")
    assert them.user_id == them.principal_id


# -- cenflow iam beside a running server ----------------------------------------------------------
def test_cli_bootstraps_a_user_the_server_accepts(iam_server: CenflowServer, flowlogs: list[FlowLog]) -> None:
    import subprocess
    import sys

    def cenflow_iam(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "cenflow.cli.main", "iam", *args, "--data-dir", str(iam_server.data_dir)]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    name = unique("cli-user")
    created = cenflow_iam("create-user", name, "--policy", "AliyunCENReadOnlyAccess", "--format", "json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    client = cbn_client(iam_server, STACK_C, key["AccessKeyId"], key["AccessKeySecret"])
    listed = client.invoke("DescribeFlowlogs", {"RegionId": "cn-hangzhou"})["FlowLogs"]["FlowLog"]
    assert flowlogs[0].flow_log_id in [f["FlowLogId"] for f in listed]
    decision = cenflow_iam(
        "simulate", "--principal", f"user/{name}", "--action", "cen:ActiveFlowLog", "--resource", "*"
    )
    assert decision.returncode == 2
    assert decision.stdout.startswith("DENY")
    assert cenflow_iam("set-key-status", name, key["AccessKeyId"], "Inactive").returncode == 0
    failure = api_error(client.invoke, "DescribeCens", {})
    assert (failure.code, failure.status) == ("InvalidAccessKeyId.Inactive", 400)
