"""Deciding one call: may this principal perform this action on these resources?

The order of evaluation, Alibaba's documented logic with the role-session rule made explicit:

1. An explicit ``Deny`` that applies, in any attached policy or in the session policy, refuses the
   call (``ExplicitDeny``).
2. Otherwise the call needs an ``Allow`` from the identity policies (those attached to the user, its
   groups, or the role) ...
3. ... and, for a role session created with a ``Policy`` parameter, also an ``Allow`` from that
   session policy: the session's permissions are the intersection of the two (AssumeRole's
   parameter description).  A missing Allow in either is an ``ImplicitDeny``.

A call may name several resources (attaching an instance names the CEN and the network); every one
must be allowed, and an explicit Deny on any of them wins over an implicit deny on another.  The
request context applies to all of a call's resources; a caller that needs per-resource tags
(``acs:ResourceTag/...``) evaluates one request per resource.

The root identity of an account is allowed everything and never reaches the policies; the caller
short-circuits it with :func:`evaluate_principal` or :data:`ROOT_DECISION`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cenflow.iam.policy.conditions import (
    CURRENT_TIME,
    MFA_PRESENT,
    REQUEST_TAG_PREFIX,
    RESOURCE_TAG_PREFIX,
    SECURE_TRANSPORT,
    SOURCE_IP,
    normalize_key,
)
from cenflow.iam.policy.model import AttachedPolicy, CompiledPolicy, Effect, PolicyType, Statement
from cenflow.iam.policy.values import ContextValue, IpAddress
from cenflow.iam.principal import Principal


class DenialKind(StrEnum):
    """Alibaba's ``AccessDeniedDetail.NoPermissionType``."""

    EXPLICIT = "ExplicitDeny"
    IMPLICIT = "ImplicitDeny"


class PolicyLayer(StrEnum):
    """Which set of policies decided, spelled as Alibaba's ``AccessDeniedDetail.PolicyType`` spells
    the two kinds cenflow has (account-level identity policies and STS session policies)."""

    IDENTITY = "AccountLevelIdentityBasedPolicy"
    SESSION = "SessionPolicy"


@dataclass(frozen=True, slots=True)
class DecidingStatement:
    """The statement that decided.  A session policy has no name, type or version."""

    policy_name: str | None
    policy_type: PolicyType | None
    policy_version: str | None
    statement_index: int
    effect: Effect


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one evaluation.

    * allowed: ``statement`` is the identity policy's Allow that matched the first resource.
    * explicit deny: ``statement`` is the Deny and ``layer`` where it was found.
    * implicit deny: ``statement`` is None and ``layer`` is the set of policies that lacked an Allow.
    ``resource`` is the resource the decision is about (for a denial, the refused one).
    """

    allowed: bool
    denial: DenialKind | None = None
    layer: PolicyLayer | None = None
    statement: DecidingStatement | None = None
    resource: str | None = None


ROOT_DECISION = Decision(allowed=True)


class AuthorizationRequest:
    """An action (``cen:CreateFlowlog``), the resource ARN(s) it touches, and the condition context.

    Context keys are normalised once here (see ``conditions.normalize_key``) so evaluation can look
    them up directly.
    """

    __slots__ = ("action", "context", "folded_action", "resources")

    def __init__(
        self,
        action: str,
        resources: str | Sequence[str],
        context: Mapping[str, ContextValue] | None = None,
    ) -> None:
        self.action = action
        self.folded_action = action.lower()
        self.resources: tuple[str, ...] = (resources,) if isinstance(resources, str) else tuple(resources)
        if not self.resources:
            raise ValueError("an authorization request names at least one resource")
        self.context: dict[str, ContextValue] = {normalize_key(k): value for k, value in (context or {}).items()}

    def __repr__(self) -> str:
        return f"AuthorizationRequest({self.action!r}, {list(self.resources)!r}, {self.context!r})"


def request_context(
    *,
    source_ip: str | IpAddress | None = None,
    current_time: datetime | None = None,
    secure_transport: bool | None = None,
    mfa_present: bool | None = None,
    resource_tags: Mapping[str, str] | None = None,
    request_tags: Mapping[str, str] | None = None,
) -> dict[str, ContextValue]:
    """The global condition keys of a call; a value left None is absent from the context."""
    context: dict[str, ContextValue] = {}
    if source_ip is not None:
        context[SOURCE_IP] = source_ip
    if current_time is not None:
        context[CURRENT_TIME] = current_time
    if secure_transport is not None:
        context[SECURE_TRANSPORT] = secure_transport
    if mfa_present is not None:
        context[MFA_PRESENT] = mfa_present
    for prefix, tags in ((RESOURCE_TAG_PREFIX, resource_tags), (REQUEST_TAG_PREFIX, request_tags)):
        for key, value in (tags or {}).items():
            context[prefix + key] = value
    return context


def _first_applying(
    statements: Sequence[Statement], resource: str, context: Mapping[str, ContextValue]
) -> Statement | None:
    """The first of ``statements`` (already matching the action) that applies to ``resource``."""
    for statement in statements:
        if statement.applies_to(resource, context):
            return statement
    return None


def _deciding(attached: AttachedPolicy | None, statement: Statement) -> DecidingStatement:
    if attached is None:
        return DecidingStatement(None, None, None, statement.index, statement.effect)
    return DecidingStatement(attached.name, attached.type, attached.version, statement.index, statement.effect)


def evaluate(
    request: AuthorizationRequest,
    policies: Sequence[AttachedPolicy],
    session_policy: CompiledPolicy | None = None,
) -> Decision:
    """Decide ``request`` against the identity ``policies`` and, for a role session, its policy."""
    action, context = request.folded_action, request.context
    # Only the statements whose Action matches can decide; most policies have none for a given
    # action, so they drop out here, once per call, instead of once per resource.
    deny_sets: list[tuple[AttachedPolicy | None, tuple[Statement, ...]]] = []
    allow_sets: list[tuple[AttachedPolicy, tuple[Statement, ...]]] = []
    for attached in policies:
        denies, allows = attached.policy.for_action(action)
        if denies:
            deny_sets.append((attached, denies))
        if allows:
            allow_sets.append((attached, allows))
    session_allows: tuple[Statement, ...] = ()
    if session_policy is not None:
        session_denies, session_allows = session_policy.for_action(action)
        if session_denies:
            deny_sets.append((None, session_denies))

    if deny_sets:
        for resource in request.resources:
            for owner, denies in deny_sets:
                deny = _first_applying(denies, resource, context)
                if deny is not None:
                    layer = PolicyLayer.IDENTITY if owner is not None else PolicyLayer.SESSION
                    return Decision(False, DenialKind.EXPLICIT, layer, _deciding(owner, deny), resource)

    first_allow: DecidingStatement | None = None
    for resource in request.resources:
        allow: DecidingStatement | None = None
        for attached, allows in allow_sets:
            statement = _first_applying(allows, resource, context)
            if statement is not None:
                allow = _deciding(attached, statement)
                break
        if allow is None:
            return Decision(False, DenialKind.IMPLICIT, PolicyLayer.IDENTITY, None, resource)
        if session_policy is not None and _first_applying(session_allows, resource, context) is None:
            return Decision(False, DenialKind.IMPLICIT, PolicyLayer.SESSION, None, resource)
        if first_allow is None:
            first_allow = allow
    return Decision(True, None, PolicyLayer.IDENTITY, first_allow, request.resources[0])


def evaluate_principal(
    principal: Principal,
    request: AuthorizationRequest,
    policies: Sequence[AttachedPolicy],
    session_policy: CompiledPolicy | None = None,
) -> Decision:
    """:func:`evaluate`, except that an account's root identity is always allowed."""
    if principal.is_root:
        return ROOT_DECISION
    return evaluate(request, policies, session_policy)
