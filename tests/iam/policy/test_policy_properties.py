"""Properties: parsing never fails with anything but ``ApiError``; evaluation of any accepted policy
never raises; wildcard matching agrees with a straightforward reference implementation."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cenflow.errors import ApiError
from cenflow.iam.policy import (
    SESSION_POLICY_MAX_BYTES,
    AttachedPolicy,
    AuthorizationRequest,
    PolicyType,
    evaluate,
    parse_policy,
    parse_session_policy,
    parse_trust_policy,
)
from cenflow.iam.policy.wildcard import PatternSet

PARSERS = (parse_policy, parse_session_policy, parse_trust_policy)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)

# Documents close enough to valid ones to reach the deeper checks: the real element names, operators
# and keys, with values drawn from shapes both right and wrong.
element_names = st.sampled_from(
    ["Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal", "Sid", "Other"]
)
likely_values = st.one_of(
    st.sampled_from(["Allow", "Deny", "*", "cen:*", "acs:cen:*", "sts:AssumeRole", "acs:ram::1:root", "x"]),
    st.lists(st.sampled_from(["cen:Describe*", "acs:cen:*:*:*", "ecs.aliyuncs.com", "?", ""]), max_size=3),
    json_values,
)
operators = st.sampled_from(
    ["StringEquals", "StringNotLike", "NumericLessThan", "DateGreaterThan", "Bool", "IpAddress", "NotIpAddress", "Nope"]
)
condition_keys = st.sampled_from(["acs:SourceIp", "acs:CurrentTime", "acs:ResourceTag/team", "cen:Key", "bad key"])
condition_values = st.one_of(
    st.sampled_from(["192.0.2.0/24", "2001:db8::/32", "2024-01-01T00:00:00Z", "true", "10", "dev*", "x"]),
    st.lists(st.sampled_from(["1", "::1", "false", "2019-08-12"]), max_size=3),
    json_values,
)
conditions = st.dictionaries(operators, st.dictionaries(condition_keys, condition_values, max_size=2), max_size=2)
statements = st.dictionaries(element_names, likely_values | conditions, max_size=6)
near_documents = st.fixed_dictionaries(
    {"Version": st.sampled_from(["1", 1, "2"]), "Statement": st.lists(statements, max_size=3) | statements}
)


def _parse_each(text: str) -> None:
    for parse in PARSERS:
        with contextlib.suppress(ApiError):
            parse(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_parsing_arbitrary_json_raises_only_api_errors(value: Any) -> None:
    _parse_each(json.dumps(value))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(near_documents)
def test_parsing_near_valid_documents_raises_only_api_errors(value: dict[str, Any]) -> None:
    _parse_each(json.dumps(value))


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_parsing_arbitrary_text_raises_only_api_errors(text: str) -> None:
    _parse_each(text)


# Valid policies, built from pieces the grammar accepts, for properties of evaluation.
words = st.text("ab*?", min_size=1, max_size=4)
STRING_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
)
string_conditions = st.tuples(
    st.sampled_from(STRING_OPERATORS),
    st.sampled_from(["acs:ResourceTag/team", "cen:Key"]),
    st.lists(words, min_size=1, max_size=3),
)
numeric_conditions = st.tuples(
    st.sampled_from(["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericGreaterThanEquals"]),
    st.just("cen:Bandwidth"),
    st.lists(st.integers(-5, 5).map(str), min_size=1, max_size=3),
)
date_conditions = st.tuples(
    st.sampled_from(["DateEquals", "DateNotEquals", "DateLessThan", "DateGreaterThan"]),
    st.just("acs:CurrentTime"),
    st.lists(
        st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)).map(
            lambda d: d.isoformat()
        ),
        min_size=1,
        max_size=2,
    ),
)
bool_conditions = st.tuples(st.just("Bool"), st.just("acs:SecureTransport"), st.sampled_from([["true"], ["false"]]))
ip_conditions = st.tuples(
    st.sampled_from(["IpAddress", "NotIpAddress"]),
    st.just("acs:SourceIp"),
    st.lists(st.sampled_from(["192.0.2.0/24", "10.0.0.1", "2001:db8::/32", "::/0"]), min_size=1, max_size=2),
)
valid_conditions = st.lists(
    string_conditions | numeric_conditions | date_conditions | bool_conditions | ip_conditions, max_size=3
).map(lambda entries: {op: {key: values} for op, key, values in entries})
valid_statements = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Action": st.lists(
            st.sampled_from(["*", "cen:*", "cen:Describe*", "ram:Create?ser", "*:Get*"]), min_size=1, max_size=3
        ),
        "Resource": st.lists(
            st.sampled_from(["*", "acs:cen:*", "acs:cen:*:1:ceninstance/cen-?", "acs:ram::1:*"]), min_size=1
        ),
    },
    optional={"Condition": valid_conditions},
)
# Small enough to stay under a session policy's 2,048 bytes.
valid_documents = st.lists(valid_statements, min_size=1, max_size=3).map(
    lambda statements: json.dumps({"Version": "1", "Statement": statements})
)
context_values = st.one_of(
    st.text("ab", max_size=3),
    st.booleans(),
    st.integers(-6, 6),
    st.floats(allow_nan=True),
    st.sampled_from(["192.0.2.9", "2001:db8::1", "::ffff:192.0.2.1", "2024-01-01T00:00:00Z", "true", "nope"]),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.lists(st.text("ab", max_size=3), max_size=3),
)
contexts = st.dictionaries(
    st.sampled_from(["acs:SourceIp", "acs:CurrentTime", "acs:SecureTransport", "acs:ResourceTag/team", "cen:Key"])
    | st.just("cen:Bandwidth"),
    context_values,
    max_size=5,
)
actions = st.sampled_from(["cen:DescribeCens", "ram:CreateUser", "cen:DeleteCen", "vpc:GetThing"])
resources = st.lists(
    st.sampled_from(["acs:cen:*:1:ceninstance/cen-1", "acs:ram::1:user/a", "acs:cen:*:1:ceninstance/cen-22"]),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(valid_documents, max_size=3),
    st.none() | valid_documents.filter(lambda d: len(d.encode()) <= SESSION_POLICY_MAX_BYTES),
    actions,
    resources,
    contexts,
)
def test_evaluating_valid_policies_never_raises_and_is_consistent(
    documents: list[str], session_document: str | None, action: str, names: list[str], context: Any
) -> None:
    policies = [AttachedPolicy(f"P{i}", PolicyType.CUSTOM, "v1", parse_policy(d)) for i, d in enumerate(documents)]
    session_policy = parse_session_policy(session_document) if session_document is not None else None

    decision = evaluate(AuthorizationRequest(action, names, context), policies, session_policy)

    assert decision.allowed is (decision.denial is None)
    if not policies:
        assert not decision.allowed
    if decision.statement is not None and decision.statement.policy_name is not None:
        index = int(decision.statement.policy_name[1:])
        assert decision.statement.statement_index < len(policies[index].policy.statements)


def reference_match(pattern: str, value: str) -> bool:
    """Plain recursive wildcard matching, written for clarity rather than speed."""
    if not pattern:
        return not value
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(reference_match(rest, value[i:]) for i in range(len(value) + 1))
    if not value:
        return False
    return (head == "?" or head == value[0]) and reference_match(rest, value[1:])


alphabet = st.sampled_from("ab:/.*?")


@settings(max_examples=500)
@given(st.lists(st.text(alphabet, max_size=6), min_size=1, max_size=3), st.text("ab:/.*?\n", max_size=8))
def test_wildcards_agree_with_the_reference_matcher(patterns: list[str], value: str) -> None:
    expected = any(reference_match(p, value) for p in patterns)

    assert PatternSet(patterns, ignore_case=False).matches(value) is expected


@settings(max_examples=200)
@given(st.text("aAbB*?", max_size=5), st.text("aAbB", max_size=5))
def test_case_folded_sets_match_regardless_of_case(pattern: str, value: str) -> None:
    expected = reference_match(pattern.lower(), value.lower())

    assert PatternSet([pattern.lower()], ignore_case=True).matches(value.lower()) is expected
