"""Malformed documents are refused with RAM's / STS's codes and a reason that says what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_builders import allow, document

from cenflow.errors import ApiError
from cenflow.iam.policy import (
    ERROR_CATALOGUE,
    IDENTITY_POLICY_MAX_CHARS,
    MALFORMED_POLICY_DOCUMENT,
    POLICY_DOCUMENT_LENGTH,
    SESSION_POLICY_GRAMMAR,
    SESSION_POLICY_MAX_BYTES,
    SESSION_POLICY_SIZE,
    parse_policy,
    parse_session_policy,
)


def statement_with(**fields: Any) -> str:
    return document({"Effect": "Allow", "Action": "*", "Resource": "*", **fields})


def condition(operator: str, key: str, values: Any) -> str:
    return statement_with(Condition={operator: {key: values}})


MALFORMED = [
    ("not-json", "{Version: 1}", "not valid JSON"),
    ("trailing-garbage", document(allow()) + "]", "not valid JSON"),
    ("empty", "", "empty"),
    ("only-whitespace", "   \n", "empty"),
    ("top-level-list", "[]", "must be a JSON object"),
    ("top-level-string", '"policy"', "must be a JSON object"),
    ("nan-constant", '{"Version": "1", "Statement": NaN}', "NaN is not JSON"),
    ("deeply-nested", '{"Version": "1", "Statement": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply"),
    ("duplicate-key", '{"Version": "1", "Version": "1", "Statement": []}', "appears twice"),
    ("unknown-top-level-element", json.dumps({"Version": "1", "Statement": [allow()], "Id": "x"}), "'Id'"),
    ("missing-version", json.dumps({"Statement": [allow()]}), "Version is missing"),
    ("version-2", json.dumps({"Version": "2", "Statement": [allow()]}), 'Version must be the string "1"'),
    ("version-number", json.dumps({"Version": 1, "Statement": [allow()]}), 'Version must be the string "1"'),
    ("missing-statement", json.dumps({"Version": "1"}), "Statement is missing"),
    ("statement-empty-list", json.dumps({"Version": "1", "Statement": []}), "no statements"),
    ("statement-string", json.dumps({"Version": "1", "Statement": "Allow"}), "must be a list"),
    ("statement-not-object", json.dumps({"Version": "1", "Statement": [allow(), 3]}), "Statement[1] must be an object"),
    ("missing-effect", document({"Action": "*", "Resource": "*"}), "Effect is missing"),
    ("effect-lowercase", statement_with(Effect="allow"), 'Effect must be "Allow" or "Deny"'),
    ("effect-list", statement_with(Effect=["Allow"]), 'Effect must be "Allow" or "Deny"'),
    ("action-and-not-action", statement_with(NotAction="ram:*"), "Action and NotAction cannot be used together"),
    ("no-action", document({"Effect": "Allow", "Resource": "*"}), "Action or NotAction is required"),
    ("action-empty-list", statement_with(Action=[]), "lists nothing"),
    ("action-not-string", statement_with(Action=["cen:*", 5]), "Action[1] must be a string"),
    ("action-empty-string", statement_with(Action=""), "is empty"),
    ("action-without-service", statement_with(Action="DescribeCens"), "<ram-code>:<action-name>"),
    ("action-with-space", statement_with(Action="cen: DescribeCens"), "<ram-code>:<action-name>"),
    ("action-two-colons", statement_with(Action="cen:a:b"), "<ram-code>:<action-name>"),
    ("resource-and-not-resource", statement_with(NotResource="*"), "cannot be used together"),
    ("no-resource", document({"Effect": "Allow", "Action": "*"}), "Resource or NotResource is required"),
    ("resource-aws-arn", statement_with(Resource="arn:aws:s3:::bucket"), "starting with 'acs:'"),
    ("resource-uppercase-prefix", statement_with(Resource="ACS:cen:*:*:*"), "starting with 'acs:'"),
    ("resource-object", statement_with(Resource={"arn": "acs:cen:*"}), "must be a string"),
    ("principal-in-identity-policy", statement_with(Principal={"RAM": "acs:ram::1:root"}), "trust policy"),
    ("unknown-statement-element", statement_with(Comment="hi"), "'Comment' is not allowed"),
    ("lowercase-element-name", document({"effect": "Allow", "Action": "*", "Resource": "*"}), "'effect'"),
    ("sid-not-string", statement_with(Sid=7), "Sid must be a string"),
    ("condition-not-object", statement_with(Condition=["StringEquals"]), "must be an object of operators"),
    ("unknown-operator", condition("StringEqualsIfExists", "acs:SourceIp", "x"), "not a supported condition operator"),
    ("operator-wrong-case", condition("stringequals", "acs:SourceIp", "x"), "not a supported condition operator"),
    ("null-operator", condition("Null", "acs:SourceIp", "true"), "not a supported condition operator"),
    ("operator-empty-object", statement_with(Condition={"StringEquals": {}}), "non-empty object of condition keys"),
    ("key-without-service", condition("StringEquals", "SourceIp", "x"), "<ram-code>:<condition-key>"),
    ("key-with-space", condition("StringEquals", "acs:Source Ip", "x"), "<ram-code>:<condition-key>"),
    ("tag-key-empty", condition("StringEquals", "acs:ResourceTag/", "x"), "names no tag key"),
    ("values-empty-list", condition("StringEquals", "acs:ResourceTag/a", []), "lists no values"),
    ("value-object", condition("StringEquals", "acs:ResourceTag/a", {"v": 1}), "values are strings"),
    ("value-null", condition("StringEquals", "acs:ResourceTag/a", None), "values are strings"),
    ("numeric-not-number", condition("NumericLessThan", "cen:Bandwidth", "ten"), "is not a number"),
    ("numeric-infinity", condition("NumericLessThan", "cen:Bandwidth", "Infinity"), "is not a number"),
    ("date-words", condition("DateLessThan", "acs:CurrentTime", "tomorrow"), "not an ISO 8601 date-time"),
    ("date-month-13", condition("DateLessThan", "acs:CurrentTime", "2019-13-01T00:00:00Z"), "not a valid date-time"),
    ("date-basic-format", condition("DateLessThan", "acs:CurrentTime", "20190812T170000Z"), "not an ISO 8601"),
    ("date-space-separator", condition("DateLessThan", "acs:CurrentTime", "2019-08-12 17:00:00"), "not an ISO 8601"),
    ("ip-bad-octet", condition("IpAddress", "acs:SourceIp", "300.1.1.1/8"), "not an IP address or CIDR block"),
    ("ip-bad-prefix", condition("IpAddress", "acs:SourceIp", "192.0.2.0/33"), "not an IP address or CIDR block"),
    ("ipv6-bad", condition("NotIpAddress", "acs:SourceIp", "2001:db8:::1/64"), "not an IP address or CIDR block"),
    ("bool-yes", condition("Bool", "acs:SecureTransport", "yes"), "is not a Boolean"),
    ("bool-two-values", condition("Bool", "acs:SecureTransport", ["true", "false"]), "exactly one value"),
]


@pytest.mark.parametrize(("name", "text", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_identity_policy_is_refused_with_the_reason(name: str, text: str, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_policy(text)

    assert caught.value.code == "MalformedPolicyDocument"
    assert caught.value.status == 400
    assert caught.value.message.startswith(MALFORMED_POLICY_DOCUMENT.message)
    assert reason in caught.value.message


# The same mistakes within a session policy's size (larger ones meet the size check first).
SESSION_MALFORMED = [m for m in MALFORMED if len(m[1].encode()) <= SESSION_POLICY_MAX_BYTES]


@pytest.mark.parametrize(("name", "text", "reason"), SESSION_MALFORMED, ids=[m[0] for m in SESSION_MALFORMED])
def test_malformed_session_policy_is_refused_as_a_grammar_error(name: str, text: str, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_session_policy(text)

    assert caught.value.code == "InvalidParameter.PolicyGrammar"
    assert caught.value.status == 400
    assert reason in caught.value.message


def padded(size: int, filler: str = " ") -> str:
    """A valid policy of exactly ``size`` characters, padded with ``filler`` inside a Sid value or
    with whitespace after the object."""
    base = document(allow("cen:*"))
    if filler == " ":
        return base + " " * (size - len(base))

    def with_sid(sid: str) -> str:
        return json.dumps({"Version": "1", "Statement": [{"Sid": sid, **allow("cen:*")}]}, ensure_ascii=False)

    return with_sid(filler * (size - len(with_sid(""))))


def test_identity_policy_of_exactly_the_limit_is_accepted() -> None:
    text = padded(IDENTITY_POLICY_MAX_CHARS)
    assert len(text) == IDENTITY_POLICY_MAX_CHARS

    assert parse_policy(text).statements


def test_identity_policy_over_the_limit_is_refused_with_the_length_code() -> None:
    text = padded(IDENTITY_POLICY_MAX_CHARS + 1)

    with pytest.raises(ApiError) as caught:
        parse_policy(text)

    assert caught.value.code == "InvalidParameter.PolicyDocument.Length"
    assert caught.value.status == 400
    assert "6145 characters" in caught.value.message


def test_whitespace_counts_towards_the_identity_policy_limit() -> None:
    text = document(allow()) + "\n" * IDENTITY_POLICY_MAX_CHARS

    with pytest.raises(ApiError) as caught:
        parse_policy(text)

    assert caught.value.code == POLICY_DOCUMENT_LENGTH.code


def test_identity_policy_limit_counts_characters_not_bytes() -> None:
    text = padded(IDENTITY_POLICY_MAX_CHARS, filler="é")
    assert len(text) == IDENTITY_POLICY_MAX_CHARS
    assert len(text.encode()) > IDENTITY_POLICY_MAX_CHARS

    assert parse_policy(text).statements


def test_session_policy_of_exactly_2048_bytes_is_accepted() -> None:
    text = padded(SESSION_POLICY_MAX_BYTES)

    assert parse_session_policy(text).statements


def test_session_policy_over_2048_bytes_is_refused_with_the_size_code() -> None:
    with pytest.raises(ApiError) as caught:
        parse_session_policy(padded(SESSION_POLICY_MAX_BYTES + 1))

    assert caught.value.code == "InvalidParameter.PolicySize"
    assert caught.value.status == 400
    assert "2049 bytes" in caught.value.message


def test_session_policy_limit_counts_utf8_bytes() -> None:
    text = padded(1100, filler="é")  # 1,100 characters, more than 2,048 bytes
    assert len(text.encode()) > SESSION_POLICY_MAX_BYTES

    with pytest.raises(ApiError) as caught:
        parse_session_policy(text)

    assert caught.value.code == SESSION_POLICY_SIZE.code


def test_a_single_statement_object_is_accepted_like_a_one_element_list() -> None:
    single = parse_policy(json.dumps({"Version": "1", "Statement": allow("cen:*")}))
    listed = parse_policy(document(allow("cen:*")))

    assert len(single.statements) == len(listed.statements) == 1


def test_unquoted_numbers_and_booleans_in_conditions_are_read_as_their_json_text() -> None:
    policy = parse_policy(
        statement_with(Condition={"NumericLessThan": {"cen:Bandwidth": 10}, "Bool": {"acs:SecureTransport": True}})
    )

    values = sorted(value for c in policy.statements[0].conditions for value in c.values)
    assert values == ["10", "true"]


def test_every_documented_operator_is_accepted() -> None:
    operators = {
        "StringEquals": "a",
        "StringNotEquals": "a",
        "StringEqualsIgnoreCase": "a",
        "StringNotEqualsIgnoreCase": "a",
        "StringLike": "a*",
        "StringNotLike": "a?",
        "NumericEquals": "1",
        "NumericNotEquals": "1",
        "NumericLessThan": "1",
        "NumericLessThanEquals": "1.5",
        "NumericGreaterThan": "-1",
        "NumericGreaterThanEquals": "1e3",
        "DateEquals": "2019-08-12T17:00:00+08:00",
        "DateNotEquals": "2019-08-12T09:00:00Z",
        "DateLessThan": "2019-08-12",
        "DateLessThanEquals": "2019-08-12T17:00Z",
        "DateGreaterThan": "2019-08-12T17:00:00.123Z",
        "DateGreaterThanEquals": "2019-08-12T17:00:00+0800",
        "Bool": "false",
        "IpAddress": ["192.0.2.0/24", "2001:db8::/32"],
        "NotIpAddress": "203.0.113.7",
    }
    block = {op: {"cen:Key": value} for op, value in operators.items()}

    policy = parse_policy(statement_with(Condition=block))

    assert sorted(c.operator for c in policy.statements[0].conditions) == sorted(operators)


def test_sid_and_pretty_printing_are_accepted() -> None:
    text = json.dumps({"Version": "1", "Statement": [{"Sid": "ReadCen", **allow("cen:Describe*")}]}, indent=4)

    assert parse_policy(text).statements[0].sid == "ReadCen"


def test_the_error_catalogue_declares_each_code_once_with_status_400() -> None:
    codes = [spec.code for spec in ERROR_CATALOGUE]

    assert sorted(codes) == sorted(
        {
            "MalformedPolicyDocument",
            "InvalidParameter.PolicyDocument.Length",
            "InvalidParameter.PolicyGrammar",
            "InvalidParameter.PolicySize",
        }
    )
    assert all(spec.status == 400 for spec in ERROR_CATALOGUE)
    assert SESSION_POLICY_GRAMMAR.message == "The parameter Policy has not passed grammar check."
