"""The decision table: one row per behaviour of the evaluator, each row a full evaluation.

Every row gives the attached policies (each a tuple of statements), an optional session policy, the
request, and the expected outcome: ``allow``, ``implicit`` (ImplicitDeny) or ``explicit``
(ExplicitDeny).  Rows that check *which layer* refused also give ``layer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from ipaddress import ip_address
from typing import Any

import pytest
from policy_builders import CEN_ARN, FLOWLOG_ARN, OTHER_CEN_ARN, allow, attached, deny, session

from cenflow.iam.policy import AuthorizationRequest, DenialKind, PolicyLayer, evaluate

Statements = tuple[dict[str, Any], ...]

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
TAGGED = "acs:ResourceTag/team"


def cond(operator: str, key: str, values: Any) -> dict[str, Any]:
    return {"Condition": {operator: {key: values}}}


def conds(block: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"Condition": block}


@dataclass(frozen=True)
class Case:
    id: str
    policies: tuple[Statements, ...]
    action: str
    expect: str
    resources: tuple[str, ...] = (CEN_ARN,)
    context: dict[str, Any] = field(default_factory=dict)
    session: Statements | None = None
    layer: PolicyLayer | None = None


def one(*statements: dict[str, Any]) -> tuple[Statements, ...]:
    return (statements,)


def separately(*statements: dict[str, Any]) -> tuple[Statements, ...]:
    """One attached policy per statement."""
    return tuple((statement,) for statement in statements)


def tagged(op: str, values: Any, context_value: Any = None, expect: str = "allow", name: str = "") -> Case:
    """A condition on the resource tag ``team``; ``context_value`` None leaves the key out."""
    context = {} if context_value is None else {TAGGED: context_value}
    return Case(
        f"{op}-{name or values}-vs-{context_value}",
        one(allow("cen:*", "*", **cond(op, TAGGED, values))),
        "cen:DescribeCens",
        expect,
        context=context,
    )


def numeric(op: str, values: Any, request: Any, expect: str) -> Case:
    return Case(
        f"{op}-{values}-vs-{request!r}",
        one(allow("cen:*", "*", **cond(op, "cen:Bandwidth", values))),
        "cen:ModifyCenBandwidthPackageSpec",
        expect,
        context={"cen:Bandwidth": request},
    )


def dated(op: str, values: Any, now: Any, expect: str, name: str = "") -> Case:
    return Case(
        f"{op}-{name or values}-at-{now}",
        one(allow("cen:*", "*", **cond(op, "acs:CurrentTime", values))),
        "cen:DescribeCens",
        expect,
        context={"acs:CurrentTime": now},
    )


def boolean(values: Any, request: Any, expect: str, key: str = "acs:SecureTransport") -> Case:
    context = {} if request is None else {key: request}
    return Case(
        f"Bool-{key}-{values}-vs-{request!r}",
        one(allow("cen:*", "*", **cond("Bool", key, values))),
        "cen:DescribeCens",
        expect,
        context=context,
    )


def ip(op: str, values: Any, source: Any, expect: str) -> Case:
    context = {} if source is None else {"acs:SourceIp": source}
    return Case(
        f"{op}-{values}-from-{source}",
        one(allow("cen:*", "*", **cond(op, "acs:SourceIp", values))),
        "cen:DescribeCens",
        expect,
        context=context,
    )


WILDCARDS = [
    Case("exact-action", one(allow("cen:DescribeCens")), "cen:DescribeCens", "allow"),
    Case("action-case-insensitive", one(allow("CEN:describecens")), "cen:DescribeCens", "allow"),
    Case("request-action-case-insensitive", one(allow("cen:DescribeCens")), "CEN:DESCRIBECENS", "allow"),
    Case("star-suffix", one(allow("cen:Describe*")), "cen:DescribeFlowlogs", "allow"),
    Case("star-suffix-no-match", one(allow("cen:Describe*")), "cen:CreateFlowlog", "implicit"),
    Case("star-matches-empty", one(allow("cen:DescribeCens*")), "cen:DescribeCens", "allow"),
    Case("star-alone", one(allow("*")), "vpc:DescribeVpcs", "allow"),
    Case("service-star-other-service", one(allow("cen:*")), "vpc:DescribeVpcs", "implicit"),
    Case("question-one-char", one(allow("cen:Describe?ens")), "cen:DescribeCens", "allow"),
    Case("question-not-zero-chars", one(allow("cen:DescribeCens?")), "cen:DescribeCens", "implicit"),
    Case("question-not-two-chars", one(allow("cen:Describe?ns")), "cen:DescribeCens", "implicit"),
    Case("star-in-middle", one(allow("cen:*FlowLog*")), "cen:DescribeFlowlogs", "allow"),
    Case("star-in-service-code", one(allow("*:Describe*")), "vpc:DescribeVpcs", "allow"),
    Case("action-list-second-entry", one(allow(["vpc:*", "cen:Create*"])), "cen:CreateFlowlog", "allow"),
    Case("prefix-is-not-enough", one(allow("cen:Describe")), "cen:DescribeCens", "implicit"),
    Case("exact-resource", one(allow("cen:*", CEN_ARN)), "cen:DeleteCen", "allow"),
    Case(
        "resource-case-sensitive",
        one(allow("cen:*", CEN_ARN.replace("cen-abc", "CEN-ABC"))),
        "cen:DeleteCen",
        "implicit",
    ),
    Case("resource-star-id", one(allow("cen:*", "acs:cen:*:*:ceninstance/*")), "cen:DeleteCen", "allow"),
    Case("resource-star-crosses-colons", one(allow("cen:*", "acs:cen:*")), "cen:DeleteCen", "allow"),
    Case("resource-question", one(allow("cen:*", CEN_ARN[:-1] + "?")), "cen:DeleteCen", "allow"),
    Case("resource-list", one(allow("cen:*", [OTHER_CEN_ARN, CEN_ARN])), "cen:DeleteCen", "allow"),
    Case("resource-other-account", one(allow("cen:*", "acs:cen:*:999:*")), "cen:DeleteCen", "implicit"),
    Case("resource-other-type", one(allow("cen:*", "acs:cbn:*:*:flowlog/*")), "cen:DeleteCen", "implicit"),
]

NEGATED_ELEMENTS = [
    Case("not-action-allows-others", one({"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"}), "cen:X", "allow"),
    Case(
        "not-action-excludes-listed",
        one({"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"}),
        "ram:CreateUser",
        "implicit",
    ),
    Case(
        "not-action-case-insensitive",
        one({"Effect": "Allow", "NotAction": "RAM:*", "Resource": "*"}),
        "ram:CreateUser",
        "implicit",
    ),
    Case(
        "not-resource-allows-others",
        one({"Effect": "Allow", "Action": "cen:*", "NotResource": OTHER_CEN_ARN}),
        "cen:DeleteCen",
        "allow",
    ),
    Case(
        "not-resource-excludes-listed",
        one({"Effect": "Allow", "Action": "cen:*", "NotResource": CEN_ARN}),
        "cen:DeleteCen",
        "implicit",
    ),
    Case(
        "deny-not-action-hits-unlisted",
        one(allow(), {"Effect": "Deny", "NotAction": "cen:Describe*", "Resource": "*"}),
        "cen:CreateCen",
        "explicit",
    ),
    Case(
        "deny-not-action-spares-listed",
        one(allow(), {"Effect": "Deny", "NotAction": "cen:Describe*", "Resource": "*"}),
        "cen:DescribeCens",
        "allow",
    ),
    Case(
        "deny-not-resource-hits-others",
        one(allow(), {"Effect": "Deny", "Action": "*", "NotResource": OTHER_CEN_ARN}),
        "cen:DeleteCen",
        "explicit",
    ),
]

PRECEDENCE = [
    Case("deny-beats-allow-same-policy", one(allow(), deny("cen:DeleteCen")), "cen:DeleteCen", "explicit"),
    Case("deny-beats-allow-other-policy", separately(allow(), deny("cen:*")), "cen:DeleteCen", "explicit"),
    Case("deny-before-allow-in-document", one(deny("cen:Delete*"), allow()), "cen:DeleteCen", "explicit"),
    Case("deny-other-action-ignored", one(allow(), deny("cen:DeleteCen")), "cen:DescribeCens", "allow"),
    Case("deny-other-resource-ignored", one(allow(), deny("*", OTHER_CEN_ARN)), "cen:DeleteCen", "allow"),
    Case(
        "deny-condition-not-holding-ignored",
        one(allow(), deny("*", "*", **cond("IpAddress", "acs:SourceIp", "192.0.2.0/24"))),
        "cen:DeleteCen",
        "allow",
        context={"acs:SourceIp": "198.51.100.1"},
    ),
    Case("no-policies", (), "cen:DescribeCens", "implicit"),
    Case("only-unrelated-deny", one(deny("vpc:*")), "cen:DescribeCens", "implicit"),
    Case("allow-in-any-policy", separately(allow("vpc:*"), allow("cen:*")), "cen:DeleteCen", "allow"),
]

STRINGS = [
    tagged("StringEquals", "dev", "dev", "allow"),
    tagged("StringEquals", "dev", "Dev", "implicit"),
    tagged("StringEquals", ["prod", "dev"], "dev", "allow", name="list"),
    tagged("StringEquals", "dev", "", "implicit"),
    tagged("StringNotEquals", "prod", "dev", "allow"),
    tagged("StringNotEquals", "dev", "dev", "implicit"),
    tagged("StringNotEquals", ["prod", "dev"], "dev", "implicit", name="nor-second"),
    tagged("StringNotEquals", ["prod", "dev"], "test", "allow", name="nor-none"),
    tagged("StringEqualsIgnoreCase", "dev", "DEV", "allow"),
    tagged("StringEqualsIgnoreCase", "dev", "prod", "implicit"),
    tagged("StringNotEqualsIgnoreCase", "dev", "DEV", "implicit"),
    tagged("StringNotEqualsIgnoreCase", "dev", "prod", "allow"),
    tagged("StringLike", "dev-*", "dev-eu", "allow"),
    tagged("StringLike", "dev-?", "dev-eu", "implicit"),
    tagged("StringLike", "dev-??", "dev-eu", "allow"),
    tagged("StringLike", "dev-*", "DEV-eu", "implicit"),
    tagged("StringNotLike", "dev-*", "dev-eu", "implicit"),
    tagged("StringNotLike", ["dev-*", "test-*"], "prod", "allow"),
]

NUMBERS = [
    numeric("NumericEquals", "10", 10, "allow"),
    numeric("NumericEquals", "10", Decimal("10.0"), "allow"),
    numeric("NumericEquals", "10", "10.00", "allow"),
    numeric("NumericEquals", "1e2", 100, "allow"),
    numeric("NumericEquals", "10", 11, "implicit"),
    numeric("NumericNotEquals", ["10", "12"], 11, "allow"),
    numeric("NumericNotEquals", ["10", "12"], 12, "implicit"),
    numeric("NumericLessThan", "10", 9, "allow"),
    numeric("NumericLessThan", "10", 10, "implicit"),
    numeric("NumericLessThanEquals", "10", 10, "allow"),
    numeric("NumericLessThanEquals", "10", 10.5, "implicit"),
    numeric("NumericGreaterThan", "10", 11, "allow"),
    numeric("NumericGreaterThan", "10", 10, "implicit"),
    numeric("NumericGreaterThanEquals", "10", 10, "allow"),
    numeric("NumericGreaterThanEquals", "10", -3, "implicit"),
    numeric("NumericEquals", "10", "ten", "implicit"),
    numeric("NumericNotEquals", "10", "ten", "allow"),
    numeric("NumericLessThan", ["5", "20"], 10, "allow"),
]

DATES = [
    dated("DateLessThan", "2024-05-01T12:00:01Z", NOW, "allow"),
    dated("DateLessThan", "2024-05-01T12:00:00Z", NOW, "implicit"),
    dated("DateLessThan", "2024-05-01T20:00:01+08:00", NOW, "allow", name="offset-after"),
    dated("DateLessThan", "2024-05-01T20:00:00+08:00", NOW, "implicit", name="offset-same-instant"),
    dated("DateLessThan", "2024-05-01T20:00:01+0800", NOW, "allow", name="offset-without-colon"),
    dated("DateEquals", "2024-05-01T20:00:00+08:00", NOW, "allow", name="same-instant-other-zone"),
    dated("DateEquals", "2024-05-01T12:00:01Z", NOW, "implicit"),
    dated("DateNotEquals", "2024-05-01T12:00:01Z", NOW, "allow"),
    dated("DateNotEquals", ["2024-01-01T00:00:00Z", "2024-05-01T12:00:00Z"], NOW, "implicit", name="nor"),
    dated("DateLessThanEquals", "2024-05-01T12:00:00Z", NOW, "allow"),
    dated("DateGreaterThan", "2024-05-01T11:59:59Z", NOW, "allow"),
    dated("DateGreaterThan", "2024-05-01T12:00:00Z", NOW, "implicit"),
    dated("DateGreaterThanEquals", "2024-05-01T12:00:00Z", NOW, "allow"),
    dated("DateGreaterThan", "2024-05-01", NOW, "allow", name="date-only-is-midnight-utc"),
    dated("DateLessThan", "2024-05-01", NOW, "implicit", name="date-only-before"),
    dated("DateGreaterThan", "2024-05-01T12:00:00.5Z", NOW, "implicit", name="fraction"),
    dated("DateGreaterThan", "2024-05-01T11:59:59.999Z", NOW, "allow", name="fraction-ms"),
    dated("DateLessThan", "2024-05-01T12:00:01Z", "2024-05-01T20:00:00+08:00", "allow", name="iso-string-request"),
    dated("DateLessThan", "2024-05-01T12:00:01Z", datetime(2024, 5, 1, 12), "allow", name="naive-request-is-utc"),
    dated("DateEquals", "2024-05-01T12:00", NOW, "allow", name="minutes-no-zone-is-utc"),
    dated(
        "DateLessThan",
        "2024-05-01T12:00:01Z",
        NOW.astimezone(timezone(timedelta(hours=-5))),
        "allow",
        name="request-in-other-zone",
    ),
    dated("DateLessThan", "2024-05-01T12:00:01Z", "not a date", "implicit", name="unreadable-request"),
    Case(
        "time-window-inside",
        one(
            allow(
                "cen:*",
                "*",
                **conds(
                    {
                        "DateGreaterThan": {"acs:CurrentTime": "2024-05-01T00:00:00Z"},
                        "DateLessThan": {"acs:CurrentTime": "2024-05-02T00:00:00Z"},
                    }
                ),
            )
        ),
        "cen:DescribeCens",
        "allow",
        context={"acs:CurrentTime": NOW},
    ),
    Case(
        "time-window-outside",
        one(
            allow(
                "cen:*",
                "*",
                **conds(
                    {
                        "DateGreaterThan": {"acs:CurrentTime": "2024-05-02T00:00:00Z"},
                        "DateLessThan": {"acs:CurrentTime": "2024-05-03T00:00:00Z"},
                    }
                ),
            )
        ),
        "cen:DescribeCens",
        "implicit",
        context={"acs:CurrentTime": NOW},
    ),
]

BOOLEANS = [
    boolean("true", True, "allow"),
    boolean("true", False, "implicit"),
    boolean("false", False, "allow"),
    boolean("TRUE", "true", "allow"),
    boolean("true", "TRUE", "allow"),
    boolean("true", "yes", "implicit"),
    boolean(True, True, "allow"),
    boolean("true", True, "allow", key="acs:MFAPresent"),
    boolean("true", None, "implicit", key="acs:MFAPresent"),
]

ADDRESSES = [
    ip("IpAddress", "192.0.2.0/24", "192.0.2.77", "allow"),
    ip("IpAddress", "192.0.2.0/24", "192.0.3.1", "implicit"),
    ip("IpAddress", "203.0.113.2", "203.0.113.2", "allow"),
    ip("IpAddress", "203.0.113.2", "203.0.113.3", "implicit"),
    ip("IpAddress", "192.0.2.9/24", "192.0.2.200", "allow"),
    ip("IpAddress", "2001:db8::/32", "2001:db8:1::5", "allow"),
    ip("IpAddress", "2001:db8::/32", "2001:db9::5", "implicit"),
    ip("IpAddress", "2001:db8::1", ip_address("2001:db8::1"), "allow"),
    ip("IpAddress", "192.0.2.0/24", "::ffff:192.0.2.10", "allow"),
    ip("IpAddress", "::ffff:0:0/96", "192.0.2.10", "implicit"),
    ip("IpAddress", ["2001:db8::/32", "192.0.2.0/24"], "192.0.2.1", "allow"),
    ip("IpAddress", "0.0.0.0/0", "2001:db8::1", "implicit"),
    ip("IpAddress", "192.0.2.0/24", "not-an-ip", "implicit"),
    ip("NotIpAddress", "192.0.2.0/24", "198.51.100.1", "allow"),
    ip("NotIpAddress", "192.0.2.0/24", "192.0.2.1", "implicit"),
    ip("NotIpAddress", ["192.0.2.0/24", "2001:db8::/32"], "2001:db8::9", "implicit"),
    ip("NotIpAddress", "192.0.2.0/24", "not-an-ip", "allow"),
    Case(
        "deny-outside-network",
        one(allow(), deny("*", "*", **cond("NotIpAddress", "acs:SourceIp", ["192.0.2.0/24", "203.0.113.2"]))),
        "cen:DeleteCen",
        "explicit",
        context={"acs:SourceIp": "198.51.100.1"},
    ),
    Case(
        "deny-outside-network-spares-inside",
        one(allow(), deny("*", "*", **cond("NotIpAddress", "acs:SourceIp", ["192.0.2.0/24", "203.0.113.2"]))),
        "cen:DeleteCen",
        "allow",
        context={"acs:SourceIp": "203.0.113.2"},
    ),
]

MISSING_KEYS = [
    tagged("StringEquals", "dev", None, "implicit"),
    tagged("StringNotEquals", "dev", None, "allow"),
    tagged("StringLike", "*", None, "implicit"),
    tagged("StringNotLike", "*", None, "allow"),
    ip("IpAddress", "0.0.0.0/0", None, "implicit"),
    ip("NotIpAddress", "192.0.2.0/24", None, "allow"),
    Case(
        "missing-current-time",
        one(allow("cen:*", "*", **cond("DateLessThan", "acs:CurrentTime", "2100-01-01T00:00:00Z"))),
        "cen:DescribeCens",
        "implicit",
    ),
    Case(
        "missing-number-negated",
        one(allow("cen:*", "*", **cond("NumericNotEquals", "cen:Bandwidth", "10"))),
        "cen:DescribeCens",
        "allow",
    ),
    Case(
        "deny-on-missing-key-does-not-apply",
        one(allow(), deny("*", "*", **cond("StringEquals", TAGGED, "prod"))),
        "cen:DeleteCen",
        "allow",
    ),
    Case(
        "deny-negated-on-missing-key-applies",
        one(allow(), deny("*", "*", **cond("StringNotEquals", TAGGED, "dev"))),
        "cen:DeleteCen",
        "explicit",
    ),
]

KEYS_AND_OPERATORS = [
    Case(
        "two-keys-one-operator-all-hold",
        one(allow("*", "*", **conds({"StringEquals": {TAGGED: "dev", "acs:ResourceTag/env": "eu"}}))),
        "cen:DeleteCen",
        "allow",
        context={TAGGED: "dev", "acs:ResourceTag/env": "eu"},
    ),
    Case(
        "two-keys-one-operator-one-fails",
        one(allow("*", "*", **conds({"StringEquals": {TAGGED: "dev", "acs:ResourceTag/env": "eu"}}))),
        "cen:DeleteCen",
        "implicit",
        context={TAGGED: "dev", "acs:ResourceTag/env": "us"},
    ),
    Case(
        "two-operators-both-hold",
        one(
            allow(
                "*",
                "*",
                **conds({"StringEquals": {TAGGED: "dev"}, "IpAddress": {"acs:SourceIp": "192.0.2.0/24"}}),
            )
        ),
        "cen:DeleteCen",
        "allow",
        context={TAGGED: "dev", "acs:SourceIp": "192.0.2.1"},
    ),
    Case(
        "two-operators-one-fails",
        one(
            allow(
                "*",
                "*",
                **conds({"StringEquals": {TAGGED: "dev"}, "IpAddress": {"acs:SourceIp": "192.0.2.0/24"}}),
            )
        ),
        "cen:DeleteCen",
        "implicit",
        context={TAGGED: "dev", "acs:SourceIp": "198.51.100.1"},
    ),
    Case(
        "key-name-case-insensitive-in-policy",
        one(allow("*", "*", **cond("IpAddress", "ACS:sourceip", "192.0.2.0/24"))),
        "cen:DeleteCen",
        "allow",
        context={"acs:SourceIp": "192.0.2.1"},
    ),
    Case(
        "key-name-case-insensitive-in-context",
        one(allow("*", "*", **cond("IpAddress", "acs:SourceIp", "192.0.2.0/24"))),
        "cen:DeleteCen",
        "allow",
        context={"Acs:SOURCEIP": "192.0.2.1"},
    ),
    Case(
        "tag-prefix-case-insensitive",
        one(allow("*", "*", **cond("StringEquals", "ACS:RESOURCETAG/team", "dev"))),
        "cen:DeleteCen",
        "allow",
        context={TAGGED: "dev"},
    ),
    Case(
        "tag-key-case-sensitive",
        one(allow("*", "*", **cond("StringEquals", "acs:ResourceTag/Team", "dev"))),
        "cen:DeleteCen",
        "implicit",
        context={TAGGED: "dev"},
    ),
    Case(
        "request-tag",
        one(allow("cen:TagResources", "*", **cond("StringEquals", "acs:RequestTag/owner", "alice"))),
        "cen:TagResources",
        "allow",
        context={"acs:RequestTag/owner": "alice"},
    ),
    Case(
        "multi-valued-context-any-matches",
        one(allow("*", "*", **cond("StringEquals", "cen:TagKeys", "owner"))),
        "cen:TagResources",
        "allow",
        context={"cen:TagKeys": ("team", "owner")},
    ),
    Case(
        "multi-valued-context-negated-none-may-match",
        one(allow("*", "*", **cond("StringNotEquals", "cen:TagKeys", "owner"))),
        "cen:TagResources",
        "implicit",
        context={"cen:TagKeys": ["team", "owner"]},
    ),
    Case(
        "service-specific-key",
        one(allow("*", "*", **cond("StringEquals", "cen:FlowLogStatus", "Active"))),
        "cen:DeactiveFlowLog",
        "allow",
        context={"cen:FlowLogStatus": "Active"},
    ),
]

SESSIONS = [
    Case("session-and-role-allow", one(allow("cen:*")), "cen:DeleteCen", "allow", session=(allow("cen:Delete*"),)),
    Case(
        "session-does-not-allow",
        one(allow("cen:*")),
        "cen:CreateCen",
        "implicit",
        session=(allow("cen:Describe*"),),
        layer=PolicyLayer.SESSION,
    ),
    Case(
        "role-does-not-allow",
        one(allow("cen:Describe*")),
        "cen:CreateCen",
        "implicit",
        session=(allow("*"),),
        layer=PolicyLayer.IDENTITY,
    ),
    Case(
        "session-explicit-deny",
        one(allow()),
        "cen:DeleteCen",
        "explicit",
        session=(allow(), deny("cen:Delete*")),
        layer=PolicyLayer.SESSION,
    ),
    Case(
        "role-explicit-deny-despite-session-allow",
        one(allow(), deny("cen:DeleteCen")),
        "cen:DeleteCen",
        "explicit",
        session=(allow(),),
        layer=PolicyLayer.IDENTITY,
    ),
    Case("session-narrows-resource-inside", one(allow()), "cen:DeleteCen", "allow", session=(allow("*", CEN_ARN),)),
    Case(
        "session-narrows-resource-outside",
        one(allow()),
        "cen:DeleteCen",
        "implicit",
        resources=(OTHER_CEN_ARN,),
        session=(allow("*", CEN_ARN),),
        layer=PolicyLayer.SESSION,
    ),
    Case("no-session-policy-role-decides", one(allow("cen:*")), "cen:DeleteCen", "allow", session=None),
    Case(
        "session-condition",
        one(allow()),
        "cen:DeleteCen",
        "implicit",
        context={"acs:SourceIp": "198.51.100.1"},
        session=(allow("*", "*", **cond("IpAddress", "acs:SourceIp", "192.0.2.0/24")),),
        layer=PolicyLayer.SESSION,
    ),
]

RESOURCES = [
    Case(
        "all-resources-allowed",
        one(allow("cen:*", "acs:cen:*")),
        "cen:AttachCenChildInstance",
        "allow",
        resources=(CEN_ARN, OTHER_CEN_ARN),
    ),
    Case(
        "one-resource-not-allowed",
        one(allow("cen:*", CEN_ARN)),
        "cen:AttachCenChildInstance",
        "implicit",
        resources=(CEN_ARN, OTHER_CEN_ARN),
    ),
    Case(
        "explicit-on-second-beats-implicit-on-first",
        one(allow("*", OTHER_CEN_ARN), deny("*", OTHER_CEN_ARN)),
        "cen:AttachCenChildInstance",
        "explicit",
        resources=(CEN_ARN, OTHER_CEN_ARN),
    ),
    Case(
        "not-resource-with-two-resources",
        one({"Effect": "Allow", "Action": "*", "NotResource": FLOWLOG_ARN}),
        "cen:AttachCenChildInstance",
        "allow",
        resources=(CEN_ARN, OTHER_CEN_ARN),
    ),
    Case(
        "resources-split-across-policies",
        separately(allow("*", CEN_ARN), allow("*", OTHER_CEN_ARN)),
        "cen:AttachCenChildInstance",
        "allow",
        resources=(CEN_ARN, OTHER_CEN_ARN),
    ),
]

ALL_CASES = (
    WILDCARDS
    + NEGATED_ELEMENTS
    + PRECEDENCE
    + STRINGS
    + NUMBERS
    + DATES
    + BOOLEANS
    + ADDRESSES
    + MISSING_KEYS
    + KEYS_AND_OPERATORS
    + SESSIONS
    + RESOURCES
)


def test_the_table_has_at_least_eighty_distinct_rows() -> None:
    ids = [case.id for case in ALL_CASES]
    assert len(ids) >= 80
    assert len(set(ids)) == len(ids), "row ids must be unique"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.id)
def test_decision(case: Case) -> None:
    policies = [attached(*statements, name=f"P{i}") for i, statements in enumerate(case.policies)]
    session_policy = session(*case.session) if case.session is not None else None
    request = AuthorizationRequest(case.action, case.resources, case.context)

    decision = evaluate(request, policies, session_policy)

    expected_denial = {"allow": None, "implicit": DenialKind.IMPLICIT, "explicit": DenialKind.EXPLICIT}[case.expect]
    assert decision.allowed is (case.expect == "allow")
    assert decision.denial is expected_denial
    if case.layer is not None:
        assert decision.layer is case.layer
