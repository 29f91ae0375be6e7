"""What a decision reports (for AccessDeniedDetail and ``cenflow iam simulate``), root, system
policies and the request object."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from policy_builders import ACCOUNT, CEN_ARN, FLOWLOG_ARN, OTHER_CEN_ARN, allow, attached, deny, session

from cenflow.iam.policy import (
    ROOT_DECISION,
    SYSTEM_POLICIES,
    AuthorizationRequest,
    DecidingStatement,
    DenialKind,
    Effect,
    PolicyLayer,
    PolicyType,
    attached_system_policy,
    evaluate,
    evaluate_principal,
    request_context,
)
from cenflow.iam.principal import Principal, PrincipalType, root_principal


def test_allow_names_the_policy_version_and_statement_that_allowed() -> None:
    policies = [attached(allow("vpc:*"), name="Network", version="v2"), attached(deny("ram:*"), allow("cen:*"))]

    decision = evaluate(AuthorizationRequest("cen:CreateFlowlog", CEN_ARN), policies)

    assert decision.allowed
    assert decision.denial is None
    assert decision.layer is PolicyLayer.IDENTITY
    assert decision.statement == DecidingStatement("Policy", PolicyType.CUSTOM, "v1", 1, Effect.ALLOW)


def test_explicit_deny_names_the_deny_statement_even_when_an_allow_comes_first() -> None:
    policies = [
        attached(allow(), name="Everything"),
        attached(allow(), deny("cen:Delete*"), name="Guard", version="v3"),
    ]

    decision = evaluate(AuthorizationRequest("cen:DeleteFlowlog", FLOWLOG_ARN), policies)

    assert not decision.allowed
    assert decision.denial is DenialKind.EXPLICIT
    assert decision.layer is PolicyLayer.IDENTITY
    assert decision.statement == DecidingStatement("Guard", PolicyType.CUSTOM, "v3", 1, Effect.DENY)
    assert decision.resource == FLOWLOG_ARN


def test_implicit_deny_names_no_statement_and_the_identity_layer() -> None:
    decision = evaluate(AuthorizationRequest("cen:CreateCen", CEN_ARN), [attached(allow("cen:Describe*"))])

    assert decision.denial is DenialKind.IMPLICIT
    assert decision.statement is None
    assert decision.layer is PolicyLayer.IDENTITY


def test_session_deny_is_reported_without_a_policy_name() -> None:
    decision = evaluate(
        AuthorizationRequest("cen:DeleteCen", CEN_ARN), [attached(allow())], session(allow(), deny("cen:DeleteCen"))
    )

    assert decision.layer is PolicyLayer.SESSION
    assert decision.statement == DecidingStatement(None, None, None, 1, Effect.DENY)


def test_denial_of_a_multi_resource_call_names_the_refused_resource() -> None:
    request = AuthorizationRequest("cen:AttachCenChildInstance", (CEN_ARN, OTHER_CEN_ARN))

    decision = evaluate(request, [attached(allow("*", CEN_ARN))])

    assert decision.denial is DenialKind.IMPLICIT
    assert decision.resource == OTHER_CEN_ARN


def test_root_is_allowed_without_any_policy() -> None:
    root = root_principal(ACCOUNT)

    decision = evaluate_principal(root, AuthorizationRequest("ram:DeleteUser", "*"), [])

    assert decision is ROOT_DECISION
    assert decision.allowed


def test_a_user_goes_through_the_policies() -> None:
    user = Principal(PrincipalType.USER, ACCOUNT, "200", "alice", f"acs:ram::{ACCOUNT}:user/alice")

    decision = evaluate_principal(user, AuthorizationRequest("ram:DeleteUser", "*"), [])

    assert decision.denial is DenialKind.IMPLICIT


@pytest.mark.parametrize(
    ("policy", "action", "allowed"),
    [
        ("AdministratorAccess", "ram:DeleteUser", True),
        ("AdministratorAccess", "cen:DeleteFlowlog", True),
        ("AliyunCENFullAccess", "cen:DeleteFlowlog", True),
        ("AliyunCENFullAccess", "ram:CreateUser", False),
        ("AliyunCENReadOnlyAccess", "cen:DescribeFlowlogs", True),
        ("AliyunCENReadOnlyAccess", "cen:ListTagResources", True),
        ("AliyunCENReadOnlyAccess", "cen:GetTransitRouterFlowLog", True),
        ("AliyunCENReadOnlyAccess", "cen:CreateFlowlog", False),
        ("AliyunRAMFullAccess", "ram:CreatePolicy", True),
        ("AliyunRAMFullAccess", "sts:AssumeRole", False),
        ("AliyunRAMReadOnlyAccess", "ram:ListUsers", True),
        ("AliyunRAMReadOnlyAccess", "ram:GetPolicy", True),
        ("AliyunRAMReadOnlyAccess", "ram:AttachPolicyToUser", False),
        ("AliyunSTSAssumeRoleAccess", "sts:AssumeRole", True),
        ("AliyunSTSAssumeRoleAccess", "sts:GetCallerIdentity", False),
    ],
)
def test_system_policies_grant_what_their_name_says(policy: str, action: str, allowed: bool) -> None:
    decision = evaluate(AuthorizationRequest(action, "*"), [attached_system_policy(policy)])

    assert decision.allowed is allowed
    if allowed:
        assert decision.statement is not None
        assert (decision.statement.policy_name, decision.statement.policy_type) == (policy, PolicyType.SYSTEM)


def test_every_system_policy_has_a_description_and_compiles_once() -> None:
    assert set(SYSTEM_POLICIES) == {
        "AdministratorAccess",
        "AliyunCENFullAccess",
        "AliyunCENReadOnlyAccess",
        "AliyunRAMFullAccess",
        "AliyunRAMReadOnlyAccess",
        "AliyunSTSAssumeRoleAccess",
    }
    for name, policy in SYSTEM_POLICIES.items():
        assert policy.description
        assert policy.type is PolicyType.SYSTEM
        assert attached_system_policy(name) is attached_system_policy(name)


def test_request_needs_a_resource() -> None:
    with pytest.raises(ValueError, match="at least one resource"):
        AuthorizationRequest("cen:DescribeCens", [])


def test_request_context_builder_names_the_global_keys() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)

    context = request_context(
        source_ip="192.0.2.1",
        current_time=now,
        secure_transport=True,
        mfa_present=False,
        resource_tags={"team": "dev"},
        request_tags={"Owner": "alice"},
    )

    assert context == {
        "acs:SourceIp": "192.0.2.1",
        "acs:CurrentTime": now,
        "acs:SecureTransport": True,
        "acs:MFAPresent": False,
        "acs:ResourceTag/team": "dev",
        "acs:RequestTag/Owner": "alice",
    }
    assert request_context() == {}


def test_the_package_imports_no_storage_api_or_web_framework() -> None:
    code = (
        "import sys, cenflow.iam.policy; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'starlette', 'uvicorn', 'sqlalchemy', 'httpx'} "
        "or m.startswith(('cenflow.store', 'cenflow.api'))))"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_action_candidates_are_remembered_per_action_and_bounded() -> None:
    policy = attached(allow("cen:Describe*"), deny("cen:*"), {"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"})
    compiled = policy.policy

    denies, allows = compiled.for_action("cen:describecens")
    assert [s.index for s in denies] == [1]
    assert [s.index for s in allows] == [0, 2]
    assert compiled.for_action("cen:describecens") is compiled.for_action("cen:describecens")

    for n in range(3000):
        compiled.for_action(f"svc:action{n}")
    assert len(compiled._by_action) <= 1024
