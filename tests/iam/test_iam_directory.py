"""RAM's rules in the identity and policy store: names, limits, paging, versions and conflicts (the
end-to-end tests cover the same codes through the SDK; these reach the corners cheaply)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from iam_support import ACCOUNT, NOW, allow, document

from cenflow.errors import ApiError
from cenflow.iam import attachments, directory, keys, policies
from cenflow.iam import errors as e
from cenflow.iam.keys import KeyStore, PrincipalLookup
from cenflow.iam.policy import SYSTEM_POLICIES, PolicyType
from cenflow.iam.secrets import SecretBox
from cenflow.store.database import Database


def code(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(ApiError) as failure:
        call(*args, **kwargs)
    return str(failure.value.code)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tx: directory.create_user(tx, ACCOUNT, NOW, "a b"), "InvalidParameter.UserName.InvalidChars"),
        (lambda tx: directory.create_user(tx, ACCOUNT, NOW, ""), "InvalidParameter.UserName.Length"),
        (lambda tx: directory.create_user(tx, ACCOUNT, NOW, "u" * 65), "InvalidParameter.UserName.Length"),
        (
            lambda tx: directory.create_user(tx, ACCOUNT, NOW, "ok", mobile_phone="12345"),
            "InvalidParameter.MobilePhone.Format",
        ),
        (
            lambda tx: directory.create_user(tx, ACCOUNT, NOW, "ok", display_name="d" * 129),
            "InvalidParameter.DisplayName.Length",
        ),
        (lambda tx: directory.create_group(tx, ACCOUNT, NOW, "g/1", None), "InvalidParameter.GroupName.InvalidChars"),
        (
            lambda tx: directory.create_role(tx, ACCOUNT, NOW, "role_1", "{}"),
            "InvalidParameter.RoleName.InvalidChars",
        ),
        (
            lambda tx: directory.create_role(tx, ACCOUNT, NOW, "role", "{}", max_session_duration=600),
            "InvalidParameter.MaxSessionDuration",
        ),
        (lambda tx: directory.create_role(tx, ACCOUNT, NOW, "role", "{}"), "MalformedPolicyDocument"),
        (
            lambda tx: policies.create_policy(tx, ACCOUNT, NOW, "p.1", document(allow()), None),
            "InvalidParameter.PolicyName.InvalidChars",
        ),
        (
            lambda tx: policies.create_policy(tx, ACCOUNT, NOW, "p", document(allow()), "d" * 1025),
            "InvalidParameter.Description.Length",
        ),
    ],
)
def test_names_and_texts(database: Database, make: Callable[..., object], expected: str) -> None:
    with database.write() as tx:
        assert code(make, tx) == expected


def test_users_page_with_markers(database: Database) -> None:
    with database.write() as tx:
        for index in range(5):
            directory.create_user(tx, ACCOUNT, NOW, f"user{index}")
        seen, marker = [], None
        while True:
            page = directory.list_users(tx, ACCOUNT, marker, 2)
            seen += [user.user_name for user in page.items]
            marker = page.marker
            if marker is None:
                break
        assert seen == [f"user{i}" for i in range(5)]
        assert code(directory.list_users, tx, ACCOUNT, "garbage!", 2) == "InvalidParameter"


def test_group_and_policy_limits(database: Database) -> None:
    with database.write() as tx:
        directory.create_user(tx, ACCOUNT, NOW, "joiner")
        for index in range(e.MAX_GROUPS_PER_USER + 1):
            directory.create_group(tx, ACCOUNT, NOW, f"g{index}", None)
        for index in range(e.MAX_GROUPS_PER_USER):
            directory.add_user_to_group(tx, ACCOUNT, NOW, "joiner", f"g{index}")
        assert code(directory.add_user_to_group, tx, ACCOUNT, NOW, "joiner", "g5") == "LimitExceeded.User.Group"
        for index in range(e.MAX_CUSTOM_POLICIES_PER_ENTITY + 1):
            policies.create_policy(tx, ACCOUNT, NOW, f"p{index}", document(allow()), None)
        for index in range(e.MAX_CUSTOM_POLICIES_PER_ENTITY):
            attachments.attach(tx, ACCOUNT, NOW, "User", "joiner", PolicyType.CUSTOM, f"p{index}")
        too_many = code(attachments.attach, tx, ACCOUNT, NOW, "User", "joiner", PolicyType.CUSTOM, "p5")
        assert too_many == "LimitExceeded.User.Policy"
        # System policies are counted apart.
        attachments.attach(tx, ACCOUNT, NOW, "User", "joiner", PolicyType.SYSTEM, "AliyunCENReadOnlyAccess")
        unknown = code(attachments.attach, tx, ACCOUNT, NOW, "User", "joiner", PolicyType.SYSTEM, "NoSuchPolicy")
        assert unknown == "EntityNotExist.Policy"
        missing = code(attachments.detach, tx, ACCOUNT, "Group", "g0", PolicyType.CUSTOM, "p0")
        assert missing == "EntityNotExist.Group.Policy"


def test_version_ids_are_never_reused(database: Database) -> None:
    with database.write() as tx:
        policies.create_policy(tx, ACCOUNT, NOW, "versions", document(allow("cen:*")), None)
        assert policies.create_version(tx, ACCOUNT, NOW, "versions", document(allow())).version_id == "v2"
        policies.delete_version(tx, ACCOUNT, "versions", "v2")
        assert policies.create_version(tx, ACCOUNT, NOW, "versions", document(allow())).version_id == "v3"
        assert code(policies.get_version, tx, ACCOUNT, PolicyType.CUSTOM, "versions", "v2") == (
            "EntityNotExist.Policy.Version"
        )
        assert code(policies.get_version, tx, ACCOUNT, PolicyType.CUSTOM, "versions", "2") == (
            "InvalidParameter.VersionId.Format"
        )
        bad = code(policies.create_version, tx, ACCOUNT, NOW, "versions", document(allow()), rotate="Sometimes")
        assert bad == "InvalidParameter.RotateStrategy"


def test_cascading_delete_detaches_everywhere(database: Database) -> None:
    with database.write() as tx:
        policies.create_policy(tx, ACCOUNT, NOW, "shared", document(allow()), None)
        policies.create_version(tx, ACCOUNT, NOW, "shared", document(allow("cen:*")))
        directory.create_user(tx, ACCOUNT, NOW, "holder")
        directory.create_group(tx, ACCOUNT, NOW, "holders", None)
        attachments.attach(tx, ACCOUNT, NOW, "User", "holder", PolicyType.CUSTOM, "shared")
        attachments.attach(tx, ACCOUNT, NOW, "Group", "holders", PolicyType.CUSTOM, "shared")
        assert code(policies.delete_policy, tx, ACCOUNT, "shared") == "DeleteConflict.Policy.User"
        attachments.detach(tx, ACCOUNT, "User", "holder", PolicyType.CUSTOM, "shared")
        assert code(policies.delete_policy, tx, ACCOUNT, "shared") == "DeleteConflict.Policy.Group"
        policies.delete_policy(tx, ACCOUNT, "shared", cascading=True)
        assert attachments.policies_of(tx, ACCOUNT, "Group", "holders") == []
        directory.delete_group(tx, ACCOUNT, "holders")


def test_in_force_sees_default_versions_through_groups(database: Database) -> None:
    with database.write() as tx:
        user = directory.create_user(tx, ACCOUNT, NOW, "member")
        directory.create_group(tx, ACCOUNT, NOW, "team", None)
        directory.add_user_to_group(tx, ACCOUNT, NOW, "member", "team")
        policies.create_policy(tx, ACCOUNT, NOW, "team-policy", document(allow("cen:Describe*")), None)
        policies.create_version(tx, ACCOUNT, NOW, "team-policy", document(allow("cen:*")), set_as_default=True)
        attachments.attach(tx, ACCOUNT, NOW, "Group", "team", PolicyType.CUSTOM, "team-policy")
        attachments.attach(tx, ACCOUNT, NOW, "User", "member", PolicyType.SYSTEM, "AliyunSTSAssumeRoleAccess")
        found = attachments.in_force(tx, ACCOUNT, "User", user.user_id)
        assert [(p.via, p.type, p.name, p.version) for p in found] == [
            ("User", PolicyType.SYSTEM, "AliyunSTSAssumeRoleAccess", "v1"),
            ("Group", PolicyType.CUSTOM, "team-policy", "v2"),
        ]
        directory.remove_user_from_group(tx, ACCOUNT, "member", "team")
        assert [p.name for p in attachments.in_force(tx, ACCOUNT, "User", user.user_id)] == [
            "AliyunSTSAssumeRoleAccess"
        ]


def test_system_policies_are_read_only_and_versioned_v1(database: Database) -> None:
    with database.write() as tx:
        listed, marker = policies.list_policies(tx, ACCOUNT, PolicyType.SYSTEM, None, 100)
        assert [p.name for p in listed] == list(SYSTEM_POLICIES)
        assert marker is None
        versions = policies.list_versions(tx, ACCOUNT, PolicyType.SYSTEM, "AdministratorAccess")
        assert [(v.version_id, v.is_default) for v in versions] == [("v1", True)]
        assert code(policies.create_version, tx, ACCOUNT, NOW, "AdministratorAccess", document(allow())) == (
            "EntityNotExist.Policy"
        )
        assert policies.policy_arn(ACCOUNT, "System", "AdministratorAccess") == (
            "acs:ram:*:system:policy/AdministratorAccess"
        )


def test_two_access_keys_per_user_and_statuses(database: Database, box: SecretBox) -> None:
    store = KeyStore(database, box, PrincipalLookup(ACCOUNT))
    with database.write() as tx:
        user = directory.create_user(tx, ACCOUNT, NOW, "keyed")
        first, _ = store.create(tx, keys.USER, user.user_id, NOW)
        store.create(tx, keys.USER, user.user_id, NOW)
        assert code(store.create, tx, keys.USER, user.user_id, NOW) == "LimitExceeded.User.AccessKey"
        assert code(keys.set_status, tx, keys.USER, user.user_id, first.access_key_id, "Paused") == (
            "InvalidParameter.Status"
        )
        other = directory.create_user(tx, ACCOUNT, NOW, "other")
        # Another user's key is not found under this user.
        assert code(keys.delete_key, tx, keys.USER, other.user_id, first.access_key_id) == (
            "EntityNotExist.User.AccessKey"
        )
