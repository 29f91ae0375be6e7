"""The authorizer: every call's RAM action on its resources, decided by the policy engine.

Per call, for a RAM user or a role session (the root identity is allowed everything and costs
nothing): one query fetches the default version of every policy attached to the principal (for a
user, directly and through its groups), compiled policies come from ``PolicyCache`` (one parse per
policy version), and the engine evaluates the request.  A second query, for the resources' tags,
runs only when a policy in force has an ``acs:ResourceTag/...`` condition; the resources are then
evaluated one by one, each with its own tags, and an explicit deny on any of them wins.

The condition context: ``acs:SourceIp`` (the peer address), ``acs:CurrentTime`` (the call's clock),
``acs:SecureTransport`` (HTTPS), ``acs:MFAPresent`` (false: cenflow has no MFA sign-in),
``acs:RequestTag/<key>`` (the ``Tag.N`` pairs of the request) and ``acs:ResourceTag/<key>``.

A denial is HTTP 403 with the product's code (``Forbidden.RAM`` for Cbn, ``NoPermission`` for RAM and
STS) and ``AccessDeniedDetail`` in the error body; its ``EncodedDiagnosticMessage`` is readable with
RAM's ``DecodeDiagnosticMessage``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from cenflow.api.context import CallContext
from cenflow.api.registry import Operation
from cenflow.domain import resources as types
from cenflow.errors import ApiError, ErrorSpec
from cenflow.iam import errors as ram_errors
from cenflow.iam.attachments import InForce, in_force
from cenflow.iam.diagnostics import DiagnosticCodec, diagnostic, matched_policy
from cenflow.iam.policy import (
    RESOURCE_TAG_PREFIX,
    AttachedPolicy,
    AuthorizationRequest,
    CompiledPolicy,
    ContextValue,
    Decision,
    DenialKind,
    PolicyCache,
    PolicyType,
    attached_system_policy,
    evaluate,
    request_context,
)
from cenflow.iam.principal import Principal, PrincipalType
from cenflow.store.tables import tags
from cenflow.wire.spec import Args

FORBIDDEN_RAM = ErrorSpec(
    "Forbidden.RAM",
    "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
    403,
)
# What each product answers a RAM denial with (the default is Cbn's).
DENIALS: Mapping[str, ErrorSpec] = {"Ram": ram_errors.NO_PERMISSION, "Sts": ram_errors.STS_NO_PERMISSION}

_FOLDED_RESOURCE_TAG = RESOURCE_TAG_PREFIX.lower()
# Which tag types an ARN's resource kind is stored under (attachments share one ARN kind).
_ARN = re.compile(r"acs:(?:cbn|cen):[^:]*:[^:]*:([A-Za-z]+)/(.+)")
_TAG_TYPES: Mapping[str, tuple[str, ...]] = {
    "flowlog": (types.FLOWLOG,),
    "cen": (types.CEN,),
    "ceninstance": (types.CEN,),
    "centransitrouter": (types.TRANSIT_ROUTER,),
    "centransitrouterattachment": (types.VPC_ATTACHMENT, types.VBR_ATTACHMENT, types.PEER_ATTACHMENT),
}


@dataclass(frozen=True)
class Explained:
    """A decision and what it was made from (for denials, ``simulate`` and tests)."""

    decision: Decision
    policies: tuple[tuple[str, AttachedPolicy], ...]  # (via User/Group/Role, policy)
    documents: Mapping[tuple[PolicyType, str], str]
    session_policy: str | None
    context: Mapping[str, ContextValue]


def display_name(principal: Principal) -> str:
    """``AuthPrincipalDisplayName``: a user's id; a role session's ``<role id>:<session name>``."""
    if principal.type is PrincipalType.ROLE_SESSION:
        return f"{principal.principal_id}:{principal.session_name}"
    return principal.principal_id


def call_context(ctx: CallContext, args: Args | None) -> dict[str, ContextValue]:
    request_tags: dict[str, str] = {}
    for tag in args.items("Tag") if args is not None else ():
        if isinstance(tag, dict) and tag.get("Key"):
            request_tags[str(tag["Key"])] = str(tag.get("Value") or "")
    return request_context(
        source_ip=ctx.source_ip or None,
        current_time=ctx.now,
        secure_transport=ctx.secure,
        mfa_present=ctx.principal.mfa_present,
        request_tags=request_tags,
    )


def resource_tags(tx: Connection, resources: Sequence[str]) -> dict[str, dict[str, str]]:
    """The tags of the Cbn resources among ``resources`` (by ARN), in one query."""
    wanted: dict[str, tuple[str, tuple[str, ...]]] = {}
    for arn in resources:
        match = _ARN.fullmatch(arn)
        kinds = _TAG_TYPES.get(match.group(1)) if match else None
        if match and kinds:
            wanted[arn] = (match.group(2), kinds)
    found: dict[str, dict[str, str]] = {arn: {} for arn in resources}
    if not wanted:
        return found
    ids = {resource_id for resource_id, _ in wanted.values()}
    rows = tx.execute(
        select(tags.c.resource_type, tags.c.resource_id, tags.c.key, tags.c.value).where(tags.c.resource_id.in_(ids))
    ).all()
    for arn, (resource_id, kinds) in wanted.items():
        for row in rows:
            if row.resource_id == resource_id and row.resource_type in kinds:
                found[arn][row.key] = row.value
    return found


def _uses_resource_tags(policies: Sequence[CompiledPolicy]) -> bool:
    return any(
        condition.key.startswith(_FOLDED_RESOURCE_TAG)
        for policy in policies
        for statement in policy.statements
        for condition in statement.conditions
    )


class Enforcer:
    """The ``Authorizer`` of the gateway (see ``iam.authorizer``)."""

    def __init__(self, cache: PolicyCache, diagnostics: DiagnosticCodec | None = None) -> None:
        self.cache = cache
        self.diagnostics = diagnostics

    # -- the gateway hook -------------------------------------------------------------------
    def authorize(self, ctx: CallContext, operation: Operation, args: Args) -> None:
        principal = ctx.principal
        if principal.is_root:
            return
        resources = tuple(operation.resources(ctx, args))
        context = call_context(ctx, args)
        explained = self.explain(ctx.tx, principal, operation.ram_action, resources, context)
        if not explained.decision.allowed:
            raise self.denial(operation.product.name, principal, operation.ram_action, explained)

    # -- deciding ---------------------------------------------------------------------------
    def policies(self, tx: Connection, principal: Principal) -> list[tuple[str, AttachedPolicy, InForce]]:
        if principal.type is PrincipalType.USER:
            rows = in_force(tx, principal.account_id, "User", principal.principal_id)
        elif principal.type is PrincipalType.ROLE_SESSION:
            rows = in_force(tx, principal.account_id, "Role", principal.principal_id)
        else:
            rows = []
        result = []
        for row in rows:
            if row.type == PolicyType.SYSTEM:
                attached = attached_system_policy(row.name)
            else:
                attached = self.cache.attached(row.type, row.name, row.version, row.document)
            result.append((row.via, attached, row))
        return result

    def explain(
        self,
        tx: Connection,
        principal: Principal,
        action: str,
        resources: Sequence[str],
        context: Mapping[str, ContextValue],
    ) -> Explained:
        """The decision for ``principal`` doing ``action`` on ``resources`` in ``context``."""
        loaded = self.policies(tx, principal)
        attached = [policy for _, policy, _ in loaded]
        session = self.cache.session_policy(principal.session_policy) if principal.session_policy else None
        compiled = [policy.policy for policy in attached] + ([session] if session is not None else [])
        if principal.is_root:
            decision = Decision(allowed=True, resource=resources[0] if resources else None)
        elif _uses_resource_tags(compiled):
            decision, context = self._per_resource(tx, action, resources, context, attached, session)
        else:
            decision = evaluate(AuthorizationRequest(action, resources, context), attached, session)
        documents = {(row.type, row.name): row.document for _, _, row in loaded if row.document}
        return Explained(
            decision,
            tuple((via, policy) for via, policy, _ in loaded),
            documents,
            principal.session_policy,
            dict(context),
        )

    def _per_resource(
        self,
        tx: Connection,
        action: str,
        resources: Sequence[str],
        context: Mapping[str, ContextValue],
        attached: Sequence[AttachedPolicy],
        session: CompiledPolicy | None,
    ) -> tuple[Decision, Mapping[str, ContextValue]]:
        """Each resource evaluated with its own tags; the decision and the context it was made in."""
        tagged = resource_tags(tx, resources)
        decisions: list[tuple[Decision, Mapping[str, ContextValue]]] = []
        for resource in resources:
            # The resource's own tags; a key the context already has (``cenflow iam simulate
            # --context acs:ResourceTag/...``) wins.
            with_tags: dict[str, ContextValue] = {
                RESOURCE_TAG_PREFIX + key: value for key, value in tagged.get(resource, {}).items()
            }
            with_tags.update(context)
            decision = evaluate(AuthorizationRequest(action, resource, with_tags), attached, session)
            decisions.append((decision, with_tags))
        for decision, used in decisions:
            if decision.denial is DenialKind.EXPLICIT:
                return decision, used
        for decision, used in decisions:
            if not decision.allowed:
                return decision, used
        return decisions[0]

    # -- refusing ---------------------------------------------------------------------------
    def denial(self, product: str, principal: Principal, action: str, explained: Explained) -> ApiError:
        decision = explained.decision
        matched: list[dict[str, str]] = []
        statement = decision.statement
        if statement is not None:
            via = next((v for v, p in explained.policies if p.name == statement.policy_name), "Session")
            matched.append(
                matched_policy(
                    effect=statement.effect.value,
                    name=statement.policy_name,
                    policy_type=statement.policy_type.value if statement.policy_type else None,
                    version=statement.policy_version,
                    via=via if statement.policy_name else "Session",
                )
            )
        spec = DENIALS.get(product, FORBIDDEN_RAM)
        return self.access_denied(
            spec,
            principal,
            action,
            resource=decision.resource or "*",
            denial=decision.denial or DenialKind.IMPLICIT,
            policy_type=decision.layer.value if decision.layer is not None else "AccountLevelIdentityBasedPolicy",
            context=explained.context,
            matched=matched,
            detail=f"Resource: {decision.resource} Action: {action}" if spec is ram_errors.NO_PERMISSION else None,
        )

    def access_denied(
        self,
        spec: ErrorSpec,
        principal: Principal,
        action: str,
        *,
        resource: str,
        denial: DenialKind,
        policy_type: str,
        context: Mapping[str, ContextValue],
        matched: Sequence[Mapping[str, str]] = (),
        detail: str | None = None,
    ) -> ApiError:
        """The 403 ``spec`` with Alibaba's ``AccessDeniedDetail`` in the error body."""
        who = {
            "AuthPrincipalType": principal.type.value,
            "AuthPrincipalOwnerId": principal.account_id,
            "AuthPrincipalDisplayName": display_name(principal),
        }
        message = diagnostic(
            account_id=principal.account_id,
            action=action,
            resource=resource,
            principal=who,
            denial=denial,
            policy_type=policy_type,
            context=context,
            matched=matched,
        )
        encoded = self.diagnostics.encode(message) if self.diagnostics is not None else ""
        error = spec(detail)
        error.extra["AccessDeniedDetail"] = {
            "AuthAction": action,
            **who,
            "PolicyType": policy_type,
            "NoPermissionType": denial.value,
            "EncodedDiagnosticMessage": encoded,
        }
        return error


def now_context(source_ip: str | None, now: datetime, secure: bool) -> dict[str, ContextValue]:
    """The global context of a call made outside the gateway (``cenflow iam simulate``)."""
    return request_context(source_ip=source_ip, current_time=now, secure_transport=secure, mfa_present=False)
