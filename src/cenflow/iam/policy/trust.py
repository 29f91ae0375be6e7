"""A role's trust policy (``AssumeRolePolicyDocument``): who may assume the role.

Grammar: the common one (``grammar``), with statements of ``Effect``, ``Action``, ``Principal`` and
an optional ``Condition``; ``Resource`` has no place (the resource is the role itself).  Errors are
``MalformedPolicyDocument``, which Alibaba names for ``CreateRole`` and ``UpdateRole``.

``Principal`` holds one or more of (Alibaba's "modify the trust policy of a RAM role" page):

* ``RAM``: ``acs:ram::<account>:root`` (every RAM user and role of that account),
  ``acs:ram::<account>:user/<name>`` or ``acs:ram::<account>:role/<name>`` (a session of that role);
* ``Service``: an Alibaba Cloud service such as ``ecs.aliyuncs.com``;
* ``Federated``: an identity provider, ``acs:ram::<account>:saml-provider/<name>`` or
  ``.../oidc-provider/<name>``.

Choices where Alibaba is silent: ``Action`` must name one of ``sts:AssumeRole``,
``sts:AssumeRoleWithSAML`` and ``sts:AssumeRoleWithOIDC`` (compared case-insensitively, no
wildcards), since nothing else can be done to a role through its trust policy; principals take no
wildcards; user, role and provider names compare case-sensitively, service names insensitively (they
are DNS names).  ``root`` also matches the account's root identity itself; STS refuses calls from a
root identity before asking the trust policy, as Alibaba's AssumeRole does.

Evaluation is the identity rule: an applying Deny refuses, otherwise an applying Allow permits,
otherwise the caller is implicitly denied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cenflow.iam.policy import grammar
from cenflow.iam.policy.conditions import Condition, normalize_key, parse_condition_block
from cenflow.iam.policy.errors import MALFORMED_POLICY_DOCUMENT, TRUST_POLICY_MAX_CHARS, GrammarError
from cenflow.iam.policy.evaluate import DenialKind
from cenflow.iam.policy.model import Effect
from cenflow.iam.policy.parser import sentence
from cenflow.iam.policy.values import ContextValue
from cenflow.iam.principal import Principal, PrincipalType

ASSUME_ROLE = "sts:AssumeRole"
_TRUST_ACTIONS = frozenset({"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithoidc"})
_STATEMENT_FIELDS = frozenset({"Sid", "Effect", "Action", "Principal", "Condition"})
_PRINCIPAL_KINDS = ("RAM", "Service", "Federated")
_RAM_PRINCIPAL = re.compile(r"acs:ram::(\d+):(root|user/([^\s/]+)|role/([^\s/]+))")
_FEDERATED_PRINCIPAL = re.compile(r"acs:ram::\d+:(?:saml-provider|oidc-provider)/[^\s/]+")
_SERVICE_PRINCIPAL = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True, slots=True)
class ServiceCaller:
    """An Alibaba Cloud service assuming a role on the account's behalf, e.g. ``ecs.aliyuncs.com``."""

    service: str


@dataclass(frozen=True, slots=True)
class FederatedCaller:
    """A user signed in through an identity provider, named by the provider's ARN."""

    provider_arn: str


TrustCaller = Principal | ServiceCaller | FederatedCaller


@dataclass(frozen=True, slots=True)
class _RamPrincipal:
    account_id: str
    user: str | None  # None with role None: the whole account ("root")
    role: str | None

    def matches(self, caller: Principal) -> bool:
        if caller.account_id != self.account_id:
            return False
        if self.user is None and self.role is None:
            return True
        if self.user is not None:
            return caller.type is PrincipalType.USER and caller.name == self.user
        return caller.type is PrincipalType.ROLE_SESSION and caller.name == self.role


@dataclass(frozen=True, slots=True)
class TrustStatement:
    index: int
    effect: Effect
    actions: frozenset[str]
    ram: tuple[_RamPrincipal, ...]
    services: frozenset[str]
    federated: frozenset[str]
    conditions: tuple[Condition, ...]

    def names(self, caller: TrustCaller) -> bool:
        if isinstance(caller, ServiceCaller):
            return caller.service.lower() in self.services
        if isinstance(caller, FederatedCaller):
            return caller.provider_arn in self.federated
        return any(entry.matches(caller) for entry in self.ram)

    def applies(self, caller: TrustCaller, action: str, context: Mapping[str, ContextValue]) -> bool:
        return (
            action in self.actions
            and self.names(caller)
            and all(condition.holds(context) for condition in self.conditions)
        )


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    statements: tuple[TrustStatement, ...]
    document: str


@dataclass(frozen=True, slots=True)
class TrustDecision:
    """``statement_index`` is the deciding statement; None for an implicit deny."""

    allowed: bool
    denial: DenialKind | None
    statement_index: int | None


def _principals(raw: object, where: str) -> tuple[tuple[_RamPrincipal, ...], frozenset[str], frozenset[str]]:
    if not isinstance(raw, dict) or not raw:
        raise GrammarError(f"{where} must be an object with RAM, Service or Federated.")
    for kind in raw:
        if kind not in _PRINCIPAL_KINDS:
            raise GrammarError(f"{where}: {kind!r} is not a principal type; use RAM, Service or Federated.")
    ram: list[_RamPrincipal] = []
    for entry in grammar.string_list(raw["RAM"], f"{where}.RAM") if "RAM" in raw else ():
        match = _RAM_PRINCIPAL.fullmatch(entry)
        if match is None:
            raise GrammarError(
                f"{where}.RAM: {entry!r} is not acs:ram::<account>:root, ...:user/<name> or ...:role/<name>."
            )
        ram.append(_RamPrincipal(match.group(1), match.group(3), match.group(4)))
    services = grammar.string_list(raw["Service"], f"{where}.Service") if "Service" in raw else []
    for service in services:
        if not _SERVICE_PRINCIPAL.fullmatch(service):
            raise GrammarError(f"{where}.Service: {service!r} is not a service name such as ecs.aliyuncs.com.")
    federated = grammar.string_list(raw["Federated"], f"{where}.Federated") if "Federated" in raw else []
    for provider in federated:
        if not _FEDERATED_PRINCIPAL.fullmatch(provider):
            raise GrammarError(
                f"{where}.Federated: {provider!r} is not acs:ram::<account>:saml-provider/<name> or oidc-provider."
            )
    return tuple(ram), frozenset(s.lower() for s in services), frozenset(federated)


def _statement(raw: Any, index: int) -> TrustStatement:
    where = f"Statement[{index}]"
    fields = grammar.check_fields(raw, where, _STATEMENT_FIELDS, ("Effect", "Action", "Principal"))
    effect = grammar.parse_effect(fields["Effect"], where)
    actions = grammar.string_list(fields["Action"], f"{where}.Action")
    for action in actions:
        if action.lower() not in _TRUST_ACTIONS:
            raise GrammarError(
                f"{where}.Action: {action!r} is not sts:AssumeRole, sts:AssumeRoleWithSAML or sts:AssumeRoleWithOIDC."
            )
    ram, services, federated = _principals(fields["Principal"], f"{where}.Principal")
    conditions = parse_condition_block(fields["Condition"], f"{where}.Condition") if "Condition" in fields else ()
    return TrustStatement(index, effect, frozenset(a.lower() for a in actions), ram, services, federated, conditions)


def parse_trust_policy(document: str) -> TrustPolicy:
    """Validate and compile a trust policy; raises ``MalformedPolicyDocument`` with the reason."""
    try:
        if len(document) > TRUST_POLICY_MAX_CHARS:
            raise GrammarError(f"the trust policy has {len(document)} characters; at most {TRUST_POLICY_MAX_CHARS}.")
        statements = grammar.statements_of(grammar.load_json(document))
        return TrustPolicy(tuple(_statement(raw, i) for i, raw in enumerate(statements)), document)
    except GrammarError as error:
        raise MALFORMED_POLICY_DOCUMENT(sentence(error.detail)) from None


def may_assume_role(
    trust: TrustPolicy,
    caller: TrustCaller,
    *,
    action: str = ASSUME_ROLE,
    context: Mapping[str, ContextValue] | None = None,
) -> TrustDecision:
    """Whether ``caller`` may assume the role whose trust policy is ``trust``.

    This answers only for the trust policy.  A RAM user or role must also be allowed
    ``sts:AssumeRole`` on the role by its own identity policies (e.g. ``AliyunSTSAssumeRoleAccess``).
    """
    folded = action.lower()
    normalized = {normalize_key(k): value for k, value in (context or {}).items()}
    for statement in trust.statements:
        if statement.effect is Effect.DENY and statement.applies(caller, folded, normalized):
            return TrustDecision(False, DenialKind.EXPLICIT, statement.index)
    for statement in trust.statements:
        if statement.effect is Effect.ALLOW and statement.applies(caller, folded, normalized):
            return TrustDecision(True, None, statement.index)
    return TrustDecision(False, DenialKind.IMPLICIT, None)
