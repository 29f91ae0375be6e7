"""domain.rules: names, descriptions, SLS names and tags, with the codes each rule answers."""

from __future__ import annotations

import pytest

from cenflow.domain import errors as e
from cenflow.domain.rules import (
    check_description,
    check_logstore_name,
    check_name,
    check_project_name,
    check_tags,
    tag_filters,
)
from cenflow.errors import ApiError


def refused(call: object, *args: object, **kwargs: object) -> ApiError:
    assert callable(call)
    with pytest.raises(ApiError) as error:
        call(*args, **kwargs)
    return error.value


# -- names and descriptions -------------------------------------------------------------------
@pytest.mark.parametrize("value", [None, "", "a", "x" * 128, "名前", "ftp://fine", "has http:// inside"])
def test_acceptable_names(value: str | None) -> None:
    assert check_name(value, "FlowLogName") == (value or "")


@pytest.mark.parametrize("value", ["x" * 129, "http://example.com", "https://example.com"])
def test_unacceptable_names(value: str) -> None:
    error = refused(check_name, value, "FlowLogName")
    assert (error.code, error.status) == ("InvalidParameter", 400)
    assert error.message.startswith("Invalid parameter.")
    assert "FlowLogName must be 1 to 128 characters" in error.message


def test_descriptions_take_256_characters() -> None:
    assert check_description("d" * 256) == "d" * 256
    error = refused(check_description, "d" * 257)
    assert error.code == "InvalidParameter"
    assert "Description must be 1 to 256 characters" in error.message


# -- SLS names --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["abc", "a-b", "cen-flowlog-1000000000000001-cn-hangzhou", "0" * 63, "a1-2b"])
def test_acceptable_project_names(name: str) -> None:
    assert check_project_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 64, "-abc", "abc-", "Abc", "a_b", "a.b", "a b", "ab\u00e9"])
def test_unacceptable_project_names(name: str) -> None:
    error = refused(check_project_name, name)
    assert (error.code, error.status) == ("InvalidParameter.ProjectName", 400)
    assert error.message.startswith("Project name is invalid or does not belong to specified region.")


@pytest.mark.parametrize("name", ["abc", "a_b", "a-b", "cen-flowlog", "l" * 63])
def test_acceptable_logstore_names(name: str) -> None:
    assert check_logstore_name(name) == name


@pytest.mark.parametrize("name", ["ab", "l" * 64, "_abc", "abc_", "-abc", "ABC", "a.b"])
def test_unacceptable_logstore_names(name: str) -> None:
    error = refused(check_logstore_name, name)
    assert (error.code, error.status) == ("InvalidParameter", 400)
    assert "LogStoreName must be 3 to 63 characters" in error.message


# -- tags -------------------------------------------------------------------------------------
def test_tags_keep_their_order_and_an_absent_value_is_empty() -> None:
    tags = [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": None}, {"Key": "c", "Value": ""}]
    assert list(check_tags(tags).items()) == [("b", "2"), ("a", ""), ("c", "")]


def test_twenty_tags_are_allowed_but_not_twenty_one() -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(21)]
    assert len(check_tags(tags[:20])) == 20
    error = refused(check_tags, tags)
    assert (error.code, error.message.split(" At most")[0]) == ("QuotaExceeded.TagNum", "Custom Tags quota exceeded")


@pytest.mark.parametrize(
    ("tag", "code", "message"),
    [
        ({"Key": "", "Value": "v"}, "MissingParameter.TagKey", "TagKey must be specified."),
        ({"Key": None, "Value": "v"}, "MissingParameter.TagKey", "TagKey must be specified."),
        ({"Key": "k" * 65, "Value": "v"}, "IllegalParamLength.Tag", "The specified length of Tag is invalid."),
        ({"Key": "k", "Value": "v" * 129}, "IllegalParamLength.Tag", "The specified length of Tag is invalid."),
        ({"Key": "aliyun-x", "Value": "v"}, "InvalidTagKey", "The tag keys are not valid."),
        ({"Key": "ALIYUN", "Value": "v"}, "InvalidTagKey", "The tag keys are not valid."),
        ({"Key": "acs:x", "Value": "v"}, "InvalidTagKey", "The tag keys are not valid."),
        ({"Key": "see http://x", "Value": "v"}, "InvalidTagKey", "The tag keys are not valid."),
        ({"Key": "k", "Value": "aliyun"}, "InvalidTagValue", "The tag values are not valid."),
        ({"Key": "k", "Value": "acs:v"}, "InvalidTagValue", "The tag values are not valid."),
        ({"Key": "k", "Value": "HTTPS://v"}, "InvalidTagValue", "The tag values are not valid."),
    ],
)
def test_invalid_tags(tag: dict[str, str | None], code: str, message: str) -> None:
    error = refused(check_tags, [tag])
    assert (error.code, error.status) == (code, 400)
    assert error.message.startswith(message)


def test_longest_tag_key_and_value() -> None:
    assert check_tags([{"Key": "k" * 64, "Value": "v" * 128}]) == {"k" * 64: "v" * 128}


def test_a_key_given_twice() -> None:
    error = refused(check_tags, [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])
    assert (error.code, error.status) == ("DuplicatedParam.TagKey", 400)
    assert error.message.startswith("The parameter TagKey is duplicated.")


def test_a_value_may_be_required() -> None:
    error = refused(check_tags, [{"Key": "k", "Value": None}], require_value=True)
    assert error.code == "MissingParameter.TagValue"
    assert check_tags([{"Key": "k", "Value": ""}], require_value=True) == {"k": ""}


def test_callers_choose_the_codes_of_bad_keys_and_values() -> None:
    assert refused(check_tags, [{"Key": "acs:k", "Value": "v"}], key_error=e.ILLEGAL_TAG_KEY).code == (
        "IllegalParam.TagKey"
    )
    assert refused(check_tags, [{"Key": "k", "Value": "acs:v"}], value_error=e.ILLEGAL_TAG_VALUE).code == (
        "IllegalParam.TagValue"
    )


def test_tag_filters_take_any_value_when_none_is_given() -> None:
    filters = tag_filters([{"Key": "a", "Value": "1"}, {"Key": "b", "Value": None}, {"Key": "c", "Value": ""}])
    assert filters == [("a", "1"), ("b", None), ("c", None)]


def test_a_tag_filter_needs_a_key() -> None:
    error = refused(tag_filters, [{"Key": None, "Value": "1"}])
    assert (error.code, error.status) == ("IllegalParam.TagKey", 400)
