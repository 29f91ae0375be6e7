"""STS AssumeRole and GetCallerIdentity.

AssumeRole is authorised twice, as Alibaba documents: the caller's own policies must allow
``sts:AssumeRole`` on the role's ARN (the gateway checks that, e.g. ``AliyunSTSAssumeRoleAccess``),
and the role's trust policy must accept the caller (checked here, with ``sts:ExternalId`` in the
context when given).  The root identity cannot assume roles.  The credentials last
``DurationSeconds`` (900 seconds to the role's ``MaxSessionDuration``, 3600 by default); the optional
``Policy`` narrows the session to the intersection with the role's policies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

from cenflow.api.context import CallContext
from cenflow.api.ram.common import iam
from cenflow.api.registry import Operation
from cenflow.api.sts import STS
from cenflow.iam import directory
from cenflow.iam import errors as e
from cenflow.iam.enforcer import call_context
from cenflow.iam.names import ram_date
from cenflow.iam.policy import DenialKind, TrustPolicy, may_assume_role, parse_session_policy, parse_trust_policy
from cenflow.iam.principal import PrincipalType
from cenflow.wire.spec import Args, OperationSpec, Param

ROLE_ARN = re.compile(r"acs:ram::(\d+):role/([^/\s]+)")
SESSION_NAME = re.compile(r"[A-Za-z0-9.@_-]{2,64}")
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")
SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}")
MIN_DURATION, DEFAULT_DURATION = 900, 3600
TRUST_POLICY_TYPE = "AssumeRolePolicy"

ASSUME_ROLE = OperationSpec(
    (
        Param("RoleArn", required=True),
        Param("RoleSessionName", required=True),
        Param("DurationSeconds", "integer"),
        Param("Policy"),
        Param("ExternalId"),
        Param("SourceIdentity"),
    )
)
NOTHING = OperationSpec(())


@lru_cache(maxsize=1024)
def _trust(document: str) -> TrustPolicy:
    return parse_trust_policy(document)


def _role_arn(args: Args) -> tuple[str, str]:
    match = ROLE_ARN.fullmatch(args.text("RoleArn"))
    if match is None:
        raise e.STS_INVALID_ROLE_ARN("The format is acs:ram::<account_id>:role/<role_name>.")
    return match.group(1), match.group(2)


def _role_resource(ctx: CallContext, args: Args) -> Sequence[str]:
    del ctx
    account, name = _role_arn(args)
    return (f"acs:ram::{account}:role/{name}",)


def assume_role(ctx: CallContext, args: Args) -> dict[str, Any]:
    account, name = _role_arn(args)
    session_name = args.text("RoleSessionName")
    if not SESSION_NAME.fullmatch(session_name):
        raise e.STS_INVALID_SESSION_NAME("2 to 64 letters, digits and . @ - _.")
    external_id = args.opt_text("ExternalId")
    if external_id is not None and not EXTERNAL_ID.fullmatch(external_id):
        raise e.STS_INVALID_EXTERNAL_ID()
    source_identity = args.opt_text("SourceIdentity")
    if source_identity is not None and not SOURCE_IDENTITY.fullmatch(source_identity):
        raise e.STS_INVALID_SOURCE_IDENTITY()
    policy = args.opt_text("Policy")
    if policy is not None:
        parse_session_policy(policy)  # InvalidParameter.PolicyGrammar / PolicySize
    caller = ctx.principal
    if caller.is_root:
        raise e.STS_NO_PERMISSION("The root identity cannot assume a role; call with a RAM user or a role session.")
    role = directory.find_role(ctx.tx, ctx.account_id, name) if account == ctx.account_id else None
    if role is None:
        raise e.STS_ROLE_NOT_FOUND()
    duration = args.opt_number("DurationSeconds") or DEFAULT_DURATION
    if not MIN_DURATION <= duration <= role.max_session_duration:
        raise e.STS_INVALID_DURATION(f"This role allows {MIN_DURATION} to {role.max_session_duration} seconds.")
    context = call_context(ctx, None)
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    trust = may_assume_role(_trust(role.trust_policy), caller, context=context)
    if not trust.allowed:
        raise iam(ctx).enforcer.access_denied(
            e.STS_NO_PERMISSION,
            caller,
            "sts:AssumeRole",
            resource=role.arn(ctx.account_id),
            denial=trust.denial or DenialKind.IMPLICIT,
            policy_type=TRUST_POLICY_TYPE,
            context=context,
        )
    issued = iam(ctx).tokens.issue(
        account_id=ctx.account_id,
        role=role,
        session_name=session_name,
        duration=timedelta(seconds=duration),
        now=ctx.now,
        policy=policy,
        source_identity=source_identity,
    )
    body: dict[str, Any] = {
        "AssumedRoleUser": {
            "Arn": f"{role.arn(ctx.account_id)}/{session_name}",
            "AssumedRoleId": f"{role.role_id}:{session_name}",
        },
        "Credentials": {
            "AccessKeyId": issued.access_key_id,
            "AccessKeySecret": issued.secret,
            "SecurityToken": issued.security_token,
            "Expiration": ram_date(issued.expires_at),
        },
    }
    if source_identity is not None:
        body["SourceIdentity"] = source_identity
    return body


def get_caller_identity(ctx: CallContext, args: Args) -> dict[str, Any]:
    del args
    principal = ctx.principal
    body: dict[str, Any] = {"AccountId": principal.account_id, "Arn": principal.arn}
    if principal.type is PrincipalType.ROLE_SESSION:
        body.update(
            IdentityType="AssumedRoleUser",
            PrincipalId=f"{principal.principal_id}:{principal.session_name}",
            RoleId=principal.principal_id,
        )
    else:
        body.update(
            IdentityType="Account" if principal.is_root else "RAMUser",
            PrincipalId=principal.principal_id,
            UserId=principal.principal_id,
        )
    return body


OPERATIONS = [
    Operation(STS, "AssumeRole", ASSUME_ROLE, assume_role, _role_resource),
    Operation(STS, "GetCallerIdentity", NOTHING, get_caller_identity, authorize=False),
]
