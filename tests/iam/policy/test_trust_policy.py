"""Role trust policies: parsing, refusing malformed ones, and deciding who may assume the role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cenflow.errors import ApiError
from cenflow.iam.policy import (
    DenialKind,
    FederatedCaller,
    ServiceCaller,
    TrustCaller,
    may_assume_role,
    parse_trust_policy,
)
from cenflow.iam.principal import Principal, PrincipalType, root_principal

HOME = "1234567890123456"
OTHER = "6543210987654321"


def user(name: str, account: str = HOME) -> Principal:
    return Principal(PrincipalType.USER, account, f"2{name}", name, f"acs:ram::{account}:user/{name}")


def role_session(role: str, account: str = HOME) -> Principal:
    return Principal(
        PrincipalType.ROLE_SESSION,
        account,
        f"3{role}",
        role,
        f"acs:ram::{account}:assumed-role/{role}/session",
        session_name="session",
    )


def trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def trusting(principal: Any, effect: str = "Allow", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": "sts:AssumeRole", "Principal": principal, **extra}


SAML = f"acs:ram::{HOME}:saml-provider/corp-idp"

CASES: list[tuple[str, str, TrustCaller, bool]] = [
    ("root-entry-admits-a-user-of-the-account", trust(trusting({"RAM": f"acs:ram::{HOME}:root"})), user("alice"), True),
    (
        "root-entry-admits-a-role-session-of-the-account",
        trust(trusting({"RAM": f"acs:ram::{HOME}:root"})),
        role_session("ops"),
        True,
    ),
    (
        "root-entry-admits-the-account-root",
        trust(trusting({"RAM": f"acs:ram::{HOME}:root"})),
        root_principal(HOME),
        True,
    ),
    (
        "root-entry-refuses-another-account",
        trust(trusting({"RAM": f"acs:ram::{HOME}:root"})),
        user("alice", OTHER),
        False,
    ),
    ("user-entry-admits-that-user", trust(trusting({"RAM": f"acs:ram::{HOME}:user/alice"})), user("alice"), True),
    ("user-entry-refuses-another-user", trust(trusting({"RAM": f"acs:ram::{HOME}:user/alice"})), user("bob"), False),
    ("user-names-are-case-sensitive", trust(trusting({"RAM": f"acs:ram::{HOME}:user/alice"})), user("Alice"), False),
    (
        "user-entry-refuses-a-role-of-the-same-name",
        trust(trusting({"RAM": f"acs:ram::{HOME}:user/alice"})),
        role_session("alice"),
        False,
    ),
    (
        "role-entry-admits-its-sessions",
        trust(trusting({"RAM": f"acs:ram::{HOME}:role/ops"})),
        role_session("ops"),
        True,
    ),
    (
        "role-entry-refuses-other-roles",
        trust(trusting({"RAM": f"acs:ram::{HOME}:role/ops"})),
        role_session("dev"),
        False,
    ),
    (
        "cross-account-role-entry",
        trust(trusting({"RAM": [f"acs:ram::{OTHER}:role/auditor"]})),
        role_session("auditor", OTHER),
        True,
    ),
    (
        "service-entry-admits-the-service",
        trust(trusting({"Service": "ecs.aliyuncs.com"})),
        ServiceCaller("ecs.aliyuncs.com"),
        True,
    ),
    (
        "service-names-ignore-case",
        trust(trusting({"Service": "ECS.aliyuncs.com"})),
        ServiceCaller("ecs.aliyuncs.com"),
        True,
    ),
    (
        "service-entry-refuses-other-services",
        trust(trusting({"Service": "ecs.aliyuncs.com"})),
        ServiceCaller("fc.aliyuncs.com"),
        False,
    ),
    ("service-entry-refuses-ram-users", trust(trusting({"Service": "ecs.aliyuncs.com"})), user("alice"), False),
    ("federated-entry-admits-the-provider", trust(trusting({"Federated": SAML})), FederatedCaller(SAML), True),
    (
        "federated-entry-refuses-another-provider",
        trust(trusting({"Federated": SAML})),
        FederatedCaller(SAML.replace("corp-idp", "other")),
        False,
    ),
    (
        "several-principal-kinds-in-one-statement",
        trust(trusting({"RAM": f"acs:ram::{HOME}:root", "Service": ["ecs.aliyuncs.com", "cen.aliyuncs.com"]})),
        ServiceCaller("cen.aliyuncs.com"),
        True,
    ),
    (
        "deny-beats-allow",
        trust(
            trusting({"RAM": f"acs:ram::{HOME}:root"}),
            trusting({"RAM": f"acs:ram::{HOME}:user/mallory"}, effect="Deny"),
        ),
        user("mallory"),
        False,
    ),
    (
        "deny-for-someone-else-does-not-apply",
        trust(
            trusting({"RAM": f"acs:ram::{HOME}:root"}),
            trusting({"RAM": f"acs:ram::{HOME}:user/mallory"}, effect="Deny"),
        ),
        user("alice"),
        True,
    ),
]


@pytest.mark.parametrize(("name", "policy", "caller", "allowed"), CASES, ids=[c[0] for c in CASES])
def test_trust_decision(name: str, policy: str, caller: TrustCaller, allowed: bool) -> None:
    decision = may_assume_role(parse_trust_policy(policy), caller)

    assert decision.allowed is allowed


def test_explicit_deny_reports_the_deny_statement() -> None:
    policy = parse_trust_policy(
        trust(
            trusting({"RAM": f"acs:ram::{HOME}:root"}),
            trusting({"RAM": f"acs:ram::{HOME}:user/mallory"}, effect="Deny"),
        )
    )

    decision = may_assume_role(policy, user("mallory"))

    assert (decision.allowed, decision.denial, decision.statement_index) == (False, DenialKind.EXPLICIT, 1)


def test_nobody_named_is_an_implicit_deny_without_a_statement() -> None:
    policy = parse_trust_policy(trust(trusting({"RAM": f"acs:ram::{HOME}:user/alice"})))

    decision = may_assume_role(policy, user("bob"))

    assert (decision.allowed, decision.denial, decision.statement_index) == (False, DenialKind.IMPLICIT, None)


def test_condition_on_external_id_must_hold() -> None:
    policy = parse_trust_policy(
        trust(
            trusting(
                {"RAM": f"acs:ram::{OTHER}:root"},
                Condition={"StringEquals": {"sts:ExternalId": "abcd1234"}},
            )
        )
    )

    assert may_assume_role(policy, user("partner", OTHER), context={"sts:ExternalId": "abcd1234"}).allowed
    assert not may_assume_role(policy, user("partner", OTHER), context={"sts:ExternalId": "wrong"}).allowed
    assert not may_assume_role(policy, user("partner", OTHER)).allowed


def test_statement_allows_only_the_actions_it_names() -> None:
    policy = parse_trust_policy(trust(trusting({"Federated": SAML})))

    decision = may_assume_role(policy, FederatedCaller(SAML), action="sts:AssumeRoleWithSAML")

    assert decision.denial is DenialKind.IMPLICIT


def test_saml_action_is_matched_case_insensitively() -> None:
    policy = parse_trust_policy(
        trust({"Effect": "Allow", "Action": "sts:AssumeRoleWithSAML", "Principal": {"Federated": SAML}})
    )

    assert may_assume_role(policy, FederatedCaller(SAML), action="STS:assumerolewithsaml").allowed


def test_alibabas_documented_example_parses() -> None:
    example = (
        '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow",'
        '"Principal":{"RAM":"acs:ram::1234567890123456:root"}}],"Version":"1"}'
    )

    policy = parse_trust_policy(example)

    assert policy.document == example
    assert may_assume_role(policy, user("alice")).allowed


MALFORMED = [
    ("missing-principal", trust({"Effect": "Allow", "Action": "sts:AssumeRole"}), "Principal is missing"),
    ("principal-string", trust(trusting("acs:ram::1:root")), "must be an object"),
    ("principal-empty", trust(trusting({})), "must be an object"),
    ("unknown-principal-kind", trust(trusting({"AWS": "arn:aws:iam::1:root"})), "'AWS' is not a principal type"),
    ("ram-entry-bare-account", trust(trusting({"RAM": HOME})), "is not acs:ram::<account>:root"),
    ("ram-entry-wildcard", trust(trusting({"RAM": "acs:ram::*:root"})), "is not acs:ram::<account>:root"),
    ("ram-entry-group", trust(trusting({"RAM": f"acs:ram::{HOME}:group/dev"})), "is not acs:ram::<account>:root"),
    ("service-with-space", trust(trusting({"Service": "ecs aliyuncs com"})), "is not a service name"),
    ("federated-not-provider", trust(trusting({"Federated": f"acs:ram::{HOME}:user/x"})), "saml-provider"),
    (
        "action-not-sts",
        trust({**trusting({"RAM": f"acs:ram::{HOME}:root"}), "Action": "cen:*"}),
        "is not sts:AssumeRole",
    ),
    (
        "action-wildcard",
        trust({**trusting({"RAM": f"acs:ram::{HOME}:root"}), "Action": "sts:*"}),
        "is not sts:AssumeRole",
    ),
    ("resource-in-trust", trust(trusting({"RAM": f"acs:ram::{HOME}:root"}, Resource="*")), "'Resource' is not allowed"),
    ("bad-effect", trust(trusting({"RAM": f"acs:ram::{HOME}:root"}, effect="Permit")), 'Effect must be "Allow"'),
    ("bad-version", json.dumps({"Version": "2012-10-17", "Statement": []}), 'Version must be the string "1"'),
    (
        "bad-condition",
        trust(trusting({"RAM": f"acs:ram::{HOME}:root"}, Condition={"StringMatches": {"sts:ExternalId": "x"}})),
        "not a supported condition operator",
    ),
    ("not-json", "{", "not valid JSON"),
    ("too-long", trust(trusting({"Service": ["ecs.aliyuncs.com"] * 400})), "characters; at most 6144"),
]


@pytest.mark.parametrize(("name", "text", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_trust_policy_is_refused_with_the_reason(name: str, text: str, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_trust_policy(text)

    assert caught.value.code == "MalformedPolicyDocument"
    assert caught.value.status == 400
    assert reason in caught.value.message
