"""RAM's policy language: parsing and validating documents, and deciding calls with them.

Pure domain code: no I/O, no storage, no web framework.  The pieces:

* ``parser``: identity policies (``parse_policy``) and STS session policies (``parse_session_policy``)
* ``trust``: role trust policies (``parse_trust_policy``, ``may_assume_role``)
* ``evaluate``: ``AuthorizationRequest`` + attached policies (+ session policy) -> ``Decision``
* ``cache``: ``PolicyCache``, compiled policies keyed by (type, name, version)
* ``system``: the system policies every account has
* ``errors``: the ``ErrorSpec`` rows documents are refused with
"""

from cenflow.iam.policy.cache import PolicyCache
from cenflow.iam.policy.conditions import (
    CURRENT_TIME,
    MFA_PRESENT,
    REQUEST_TAG_PREFIX,
    RESOURCE_TAG_PREFIX,
    SECURE_TRANSPORT,
    SOURCE_IP,
)
from cenflow.iam.policy.errors import (
    ERROR_CATALOGUE,
    IDENTITY_POLICY_MAX_CHARS,
    MALFORMED_POLICY_DOCUMENT,
    POLICY_DOCUMENT_LENGTH,
    SESSION_POLICY_GRAMMAR,
    SESSION_POLICY_MAX_BYTES,
    SESSION_POLICY_SIZE,
    TRUST_POLICY_MAX_CHARS,
)
from cenflow.iam.policy.evaluate import (
    ROOT_DECISION,
    AuthorizationRequest,
    DecidingStatement,
    Decision,
    DenialKind,
    PolicyLayer,
    evaluate,
    evaluate_principal,
    request_context,
)
from cenflow.iam.policy.model import AttachedPolicy, CompiledPolicy, Effect, PolicyType
from cenflow.iam.policy.parser import parse_policy, parse_session_policy
from cenflow.iam.policy.system import SYSTEM_POLICIES, SystemPolicy, attached_system_policy, system_policy
from cenflow.iam.policy.trust import (
    ASSUME_ROLE,
    FederatedCaller,
    ServiceCaller,
    TrustCaller,
    TrustDecision,
    TrustPolicy,
    may_assume_role,
    parse_trust_policy,
)
from cenflow.iam.policy.values import ContextValue

__all__ = [
    "ASSUME_ROLE",
    "CURRENT_TIME",
    "ERROR_CATALOGUE",
    "IDENTITY_POLICY_MAX_CHARS",
    "MALFORMED_POLICY_DOCUMENT",
    "MFA_PRESENT",
    "POLICY_DOCUMENT_LENGTH",
    "REQUEST_TAG_PREFIX",
    "RESOURCE_TAG_PREFIX",
    "ROOT_DECISION",
    "SECURE_TRANSPORT",
    "SESSION_POLICY_GRAMMAR",
    "SESSION_POLICY_MAX_BYTES",
    "SESSION_POLICY_SIZE",
    "SOURCE_IP",
    "SYSTEM_POLICIES",
    "TRUST_POLICY_MAX_CHARS",
    "AttachedPolicy",
    "AuthorizationRequest",
    "CompiledPolicy",
    "ContextValue",
    "DecidingStatement",
    "Decision",
    "DenialKind",
    "Effect",
    "FederatedCaller",
    "PolicyCache",
    "PolicyLayer",
    "PolicyType",
    "ServiceCaller",
    "SystemPolicy",
    "TrustCaller",
    "TrustDecision",
    "TrustPolicy",
    "attached_system_policy",
    "evaluate",
    "evaluate_principal",
    "may_assume_role",
    "parse_policy",
    "parse_session_policy",
    "parse_trust_policy",
    "request_context",
    "system_policy",
]
