"""The Enforcer (the gateway's authorizer) against a real database: which policies are in force, how
many queries a decision costs, resource and request tags, role sessions, and the denial it raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from iam_support import (
    ACCOUNT,
    FLOWLOG_ARN,
    NOW,
    OTHER_FLOWLOG_ARN,
    allow,
    call_context,
    counting_queries,
    deny,
    document,
)

from cenflow.api.cbn import CBN
from cenflow.api.context import CallContext
from cenflow.api.ram import RAM
from cenflow.api.registry import Operation
from cenflow.domain.resources import FLOWLOG
from cenflow.errors import ApiError
from cenflow.iam import attachments, directory, policies
from cenflow.iam.diagnostics import DiagnosticCodec
from cenflow.iam.enforcer import Enforcer
from cenflow.iam.keys import user_principal
from cenflow.iam.policy import DenialKind, PolicyCache, PolicyLayer, PolicyType
from cenflow.iam.principal import Principal, root_principal
from cenflow.iam.secrets import SecretBox
from cenflow.iam.sts import SessionClaims, session_principal
from cenflow.store.database import Database
from cenflow.store.tags import put_tags
from cenflow.wire.spec import Args, OperationSpec, tag_list


def user_with(
    database: Database, name: str, *custom: str, system: Sequence[str] = (), group: str | None = None
) -> Principal:
    """A user with custom policies (documents), system policies and optionally a group holding them."""
    with database.write() as tx:
        user = directory.create_user(tx, ACCOUNT, NOW, name)
        target, target_name = ("Group", group) if group else ("User", name)
        if group:
            directory.create_group(tx, ACCOUNT, NOW, group, None)
            directory.add_user_to_group(tx, ACCOUNT, NOW, name, group)
        for index, text in enumerate(custom):
            policy_name = f"{name}-p{index}"
            policies.create_policy(tx, ACCOUNT, NOW, policy_name, text, None)
            attachments.attach(tx, ACCOUNT, NOW, target, target_name, PolicyType.CUSTOM, policy_name)
        for policy_name in system:
            attachments.attach(tx, ACCOUNT, NOW, target, target_name, PolicyType.SYSTEM, policy_name)
    return user_principal(ACCOUNT, user)


def operation(action: str, *resources: str, product: Any = CBN, tags: bool = False) -> Operation:
    spec = OperationSpec((tag_list(),) if tags else ())

    def resolve(ctx: CallContext, args: Args) -> Sequence[str]:
        del ctx, args
        return resources

    service, _, name = action.partition(":")
    assert service == product.ram_service, action
    return Operation(product, name, spec, lambda ctx, args: {}, resolve)


def authorize(enforcer: Enforcer, database: Database, principal: Principal, op: Operation, **params: str) -> None:
    with database.read() as tx:
        enforcer.authorize(call_context(principal, tx), op, op.spec.parse(params))


@pytest.fixture
def enforcer(box: SecretBox) -> Enforcer:
    return Enforcer(PolicyCache(), DiagnosticCodec(box))


def test_user_and_group_policies_are_in_force_with_one_query(enforcer: Enforcer, database: Database) -> None:
    principal = user_with(database, "alice", document(allow("cen:ActiveFlowLog", FLOWLOG_ARN)), group="ops")
    with database.write() as tx:
        attachments.attach(tx, ACCOUNT, NOW, "User", "alice", PolicyType.SYSTEM, "AliyunCENReadOnlyAccess")
    with database.read() as tx, counting_queries(database) as queries:
        loaded = enforcer.policies(tx, principal)
    assert [(via, policy.name, policy.type) for via, policy, _ in loaded] == [
        ("User", "AliyunCENReadOnlyAccess", PolicyType.SYSTEM),
        ("Group", "alice-p0", PolicyType.CUSTOM),
    ]
    assert len(queries) == 1
    authorize(enforcer, database, principal, operation("cen:ActiveFlowLog", FLOWLOG_ARN))
    authorize(enforcer, database, principal, operation("cen:DescribeFlowlogs", "*"))
    with pytest.raises(ApiError) as refused:
        authorize(enforcer, database, principal, operation("cen:ActiveFlowLog", OTHER_FLOWLOG_ARN))
    assert (refused.value.code, refused.value.status) == ("Forbidden.RAM", 403)


def test_root_is_allowed_without_resolving_resources_or_querying(enforcer: Enforcer, database: Database) -> None:
    def explode(ctx: CallContext, args: Args) -> Sequence[str]:
        raise AssertionError("resources resolved for root")

    op = Operation(CBN, "DeleteCen", OperationSpec(()), lambda ctx, args: {}, explode)
    with database.read() as tx, counting_queries(database) as queries:
        enforcer.authorize(call_context(root_principal(ACCOUNT), tx), op, op.spec.parse({}))
    assert queries == []


def test_policies_are_compiled_once_per_version(enforcer: Enforcer, database: Database) -> None:
    principal = user_with(database, "bob", document(allow("cen:Describe*")))
    op = operation("cen:DescribeCens", "*")
    for _ in range(5):
        authorize(enforcer, database, principal, op)
    assert enforcer.cache.compilations == 1
    with database.write() as tx:
        policies.create_version(tx, ACCOUNT, NOW, "bob-p0", document(allow("cen:DescribeCens")), set_as_default=True)
    for _ in range(5):
        authorize(enforcer, database, principal, op)
    assert enforcer.cache.compilations == 2
    with pytest.raises(ApiError):
        authorize(enforcer, database, principal, operation("cen:DescribeFlowlogs", "*"))


def test_denial_carries_access_denied_detail_and_a_decodable_diagnostic(
    enforcer: Enforcer, database: Database, box: SecretBox
) -> None:
    principal = user_with(database, "carol", document(deny("cen:*Flowlog*")), system=["AliyunCENFullAccess"], group="g")
    with pytest.raises(ApiError) as refused:
        authorize(enforcer, database, principal, operation("cen:DeleteFlowlog", FLOWLOG_ARN))
    error = refused.value
    assert error.message == "User not authorized to operate on the specified resource, or this API doesn't support RAM."
    detail = error.extra["AccessDeniedDetail"]
    assert detail == {
        "AuthAction": "cen:DeleteFlowlog",
        "AuthPrincipalType": "SubUser",
        "AuthPrincipalOwnerId": ACCOUNT,
        "AuthPrincipalDisplayName": principal.principal_id,
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "NoPermissionType": "ExplicitDeny",
        "EncodedDiagnosticMessage": detail["EncodedDiagnosticMessage"],
    }
    decoded = DiagnosticCodec(box).decode(detail["EncodedDiagnosticMessage"], ACCOUNT)
    assert decoded["AuthResource"] == FLOWLOG_ARN
    assert decoded["ExplicitDeny"] is True
    assert decoded["MatchedPolicies"] == [
        {
            "Effect": "Deny",
            "PolicyIdentifier": "carol-p0",
            "PolicyType": "Custom",
            "PolicyVersion": "v1",
            "AttachedEntityType": "RamGroup",
            "AttachedScope": "Account",
        }
    ]
    assert {c["ConditionKey"]: c["ConditionValues"] for c in decoded["AuthConditions"]}["acs:SourceIp"] == [
        "192.0.2.10"
    ]
    with pytest.raises(ApiError) as other_account:
        DiagnosticCodec(box).decode(detail["EncodedDiagnosticMessage"], "9999999999999999")
    assert other_account.value.code == "InvalidParameter.EncodedDiagnosticMessage"


def test_ram_denials_name_the_resource_and_action(enforcer: Enforcer, database: Database) -> None:
    principal = user_with(database, "dave", system=["AliyunRAMReadOnlyAccess"])
    resource = f"acs:ram:*:{ACCOUNT}:user/*"
    with pytest.raises(ApiError) as refused:
        authorize(enforcer, database, principal, operation("ram:CreateUser", resource, product=RAM))
    assert (refused.value.code, refused.value.status) == ("NoPermission", 403)
    assert refused.value.message == (
        f"You are not authorized to do this action. Resource: {resource} Action: ram:CreateUser"
    )


def test_resource_tags_are_read_only_when_a_policy_needs_them(enforcer: Enforcer, database: Database) -> None:
    with database.write() as tx:
        put_tags(tx, FLOWLOG, "flowlog-one", {"team": "blue"})
        put_tags(tx, FLOWLOG, "flowlog-two", {"team": "red"})
    tagged = user_with(
        database, "erin", document(allow("cen:ActiveFlowLog", StringEquals={"acs:ResourceTag/team": "blue"}))
    )
    plain = user_with(database, "frank", document(allow("cen:ActiveFlowLog")))
    with counting_queries(database) as queries:
        authorize(enforcer, database, tagged, operation("cen:ActiveFlowLog", FLOWLOG_ARN))
    assert len(queries) == 2  # the policies, then the tags
    with counting_queries(database) as queries:
        authorize(enforcer, database, plain, operation("cen:ActiveFlowLog", FLOWLOG_ARN))
    assert len(queries) == 1
    with pytest.raises(ApiError) as refused:
        authorize(enforcer, database, tagged, operation("cen:ActiveFlowLog", OTHER_FLOWLOG_ARN))
    assert refused.value.extra["AccessDeniedDetail"]["NoPermissionType"] == "ImplicitDeny"
    # Both resources named: the untagged one is refused even though the first is allowed.
    with pytest.raises(ApiError):
        authorize(enforcer, database, tagged, operation("cen:ActiveFlowLog", FLOWLOG_ARN, OTHER_FLOWLOG_ARN))


def test_explicit_deny_on_any_resource_wins_with_resource_tags(enforcer: Enforcer, database: Database) -> None:
    with database.write() as tx:
        put_tags(tx, FLOWLOG, "flowlog-two", {"locked": "yes"})
    principal = user_with(
        database,
        "gina",
        document(allow("cen:*"), deny("cen:*", StringEquals={"acs:ResourceTag/locked": "yes"})),
    )
    with database.read() as tx:
        explained = enforcer.explain(
            tx, principal, "cen:ActiveFlowLog", [f"{FLOWLOG_ARN}-missing", OTHER_FLOWLOG_ARN], {}
        )
    assert explained.decision.denial is DenialKind.EXPLICIT
    assert explained.decision.resource == OTHER_FLOWLOG_ARN
    assert explained.context["acs:ResourceTag/locked"] == "yes"


def test_request_tags_and_source_ip_are_in_the_context(enforcer: Enforcer, database: Database) -> None:
    principal = user_with(
        database,
        "hank",
        document(
            allow(
                "cen:CreateCen",
                StringEquals={"acs:RequestTag/env": "dev"},
                IpAddress={"acs:SourceIp": "192.0.2.0/24"},
            )
        ),
    )
    op = operation("cen:CreateCen", "*", tags=True)
    authorize(enforcer, database, principal, op, **{"Tag.1.Key": "env", "Tag.1.Value": "dev"})
    with pytest.raises(ApiError):
        authorize(enforcer, database, principal, op, **{"Tag.1.Key": "env", "Tag.1.Value": "prod"})
    args = op.spec.parse({"Tag.1.Key": "env", "Tag.1.Value": "dev"})
    with database.read() as tx:
        elsewhere = call_context(principal, tx, source_ip="198.51.100.1")
        with pytest.raises(ApiError):
            enforcer.authorize(elsewhere, op, args)


def test_role_sessions_get_the_role_policies_within_the_session_policy(enforcer: Enforcer, database: Database) -> None:
    with database.write() as tx:
        role = directory.create_role(
            tx,
            ACCOUNT,
            NOW,
            "reader",
            document_trust(),
        )
        attachments.attach(tx, ACCOUNT, NOW, "Role", "reader", PolicyType.SYSTEM, "AliyunCENReadOnlyAccess")

    def session(policy: str | None) -> Principal:
        return session_principal(
            SessionClaims("STS.x", "s", ACCOUNT, role.role_id, "reader", "sess", NOW, NOW, policy=policy)
        )

    authorize(enforcer, database, session(None), operation("cen:DescribeFlowlogs", "*"))
    narrowed = session(document(allow("cen:DescribeCens")))
    authorize(enforcer, database, narrowed, operation("cen:DescribeCens", "*"))
    with pytest.raises(ApiError) as refused:
        authorize(enforcer, database, narrowed, operation("cen:DescribeFlowlogs", "*"))
    detail = refused.value.extra["AccessDeniedDetail"]
    assert (detail["PolicyType"], detail["AuthPrincipalType"]) == (PolicyLayer.SESSION.value, "AssumedRoleUser")
    assert detail["AuthPrincipalDisplayName"] == f"{role.role_id}:sess"
    with pytest.raises(ApiError) as beyond_role:
        authorize(enforcer, database, session(document(allow("*"))), operation("cen:DeleteCen", "*"))
    assert beyond_role.value.extra["AccessDeniedDetail"]["PolicyType"] == PolicyLayer.IDENTITY.value


def document_trust() -> str:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{ACCOUNT}:root"]}}
    return document(statement)


def test_authorising_a_call_with_group_and_conditional_policies_is_one_query(
    enforcer: Enforcer, database: Database
) -> None:
    """A user with a direct system policy and two custom policies through a group, authorised
    inside an already open transaction (as in the gateway): one query however many policies, and
    the conditions decide.  How long it takes is measured by bench/authz.py, not asserted here."""
    principal = user_with(
        database,
        "ivy",
        document(allow("cen:ActiveFlowLog", FLOWLOG_ARN), deny("cen:DeleteCen")),
        document(allow("cen:Describe*", IpAddress={"acs:SourceIp": "192.0.2.0/24"})),
        group="fast",
    )
    with database.write() as tx:
        attachments.attach(tx, ACCOUNT, NOW, "User", "ivy", PolicyType.SYSTEM, "AliyunCENReadOnlyAccess")
    op = operation("cen:ActiveFlowLog", FLOWLOG_ARN)
    args = op.spec.parse({})
    with database.read() as tx:
        ctx = call_context(principal, tx)
        with counting_queries(database) as queries:
            enforcer.authorize(ctx, op, args)
        assert len(queries) == 1
        for _ in range(3):  # compiled policies are cached: later calls cost the same one query
            with counting_queries(database) as again:
                enforcer.authorize(ctx, op, args)
            assert len(again) == 1
        delete = operation("cen:DeleteCen", "*")
        with pytest.raises(ApiError) as refused:
            enforcer.authorize(ctx, delete, delete.spec.parse({}))
        assert refused.value.extra["AccessDeniedDetail"]["NoPermissionType"] == "ExplicitDeny"
