"""cenflow.wire.spec: parameter tables, flattened lists and typed values."""

from __future__ import annotations

from typing import Any

import pytest

from cenflow.errors import ApiError, ErrorSpec
from cenflow.wire.spec import MAX_INDEX, MAX_VALUE_LENGTH, Args, ListParam, OperationSpec, Param, tag_list

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def fails(parse: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse(*args)
    return info.value


def invalid(parse: Any, *args: Any) -> ApiError:
    error = fails(parse, *args)
    assert error.code == "InvalidParameter", error
    assert error.status == 400
    return error


# -- strings -------------------------------------------------------------------------------
def test_a_string_is_taken_as_is() -> None:
    assert Param("Name").extract({"Name": " a b "}) == " a b "


def test_an_absent_optional_parameter_takes_its_default() -> None:
    assert Param("Name").extract({}) is None
    assert Param("Lang", default="zh-CN").extract({}) == "zh-CN"


def test_string_length_limits() -> None:
    param = Param("Name", min_length=2, max_length=4)
    assert param.extract({"Name": "ab"}) == "ab"
    assert param.extract({"Name": "abcd"}) == "abcd"
    invalid(param.extract, {"Name": "a"})
    invalid(param.extract, {"Name": "abcde"})


def test_string_length_counts_characters_not_bytes() -> None:
    assert Param("Name", max_length=2).extract({"Name": "你好"}) == "你好"


def test_string_pattern_must_match_the_whole_value() -> None:
    param = Param("Id", pattern=r"flowlog-[a-z0-9]+")
    assert param.extract({"Id": "flowlog-abc1"}) == "flowlog-abc1"
    invalid(param.extract, {"Id": "xflowlog-abc1"})
    invalid(param.extract, {"Id": "flowlog-abc1\n"})


def test_ascii_only_strings() -> None:
    invalid(Param("Name", ascii_only=True).extract, {"Name": "名"})


def test_choices() -> None:
    param = Param("ProductType", choices=("VPC", "VBR", "CCN"))
    assert param.extract({"ProductType": "VBR"}) == "VBR"
    error = invalid(param.extract, {"ProductType": "vpc"})
    assert "ProductType" in error.message
    assert "VPC, VBR, CCN" in error.message


def test_values_longer_than_the_limit_are_refused() -> None:
    invalid(Param("Name").extract, {"Name": "x" * (MAX_VALUE_LENGTH + 1)})


def test_the_error_names_the_parameter() -> None:
    error = invalid(Param("Description", max_length=3).extract, {"Description": "long"})
    assert '"Description"' in error.message


def test_a_custom_invalid_error() -> None:
    spec = ErrorSpec("InvalidFlowLogName", "The flow log name {name} is invalid.")
    error = fails(Param("FlowLogName", max_length=2, invalid=spec).extract, {"FlowLogName": "abc"})
    assert error.code == "InvalidFlowLogName"


# -- required parameters and Missing<Name> ---------------------------------------------------
def test_a_missing_required_parameter_answers_missing_name() -> None:
    error = fails(Param("FlowLogId", required=True).extract, {})
    assert error.code == "MissingFlowLogId"
    assert error.status == 400
    assert "FlowLogId" in error.message


def test_an_empty_required_string_counts_as_missing() -> None:
    assert fails(Param("CenId", required=True).extract, {"CenId": ""}).code == "MissingCenId"


def test_a_custom_missing_error() -> None:
    spec = ErrorSpec("MissingParameter.RegionId", "RegionId is mandatory.")
    assert fails(Param("RegionId", required=True, missing=spec).extract, {}).code == "MissingParameter.RegionId"


def test_a_required_list_answers_missing_name() -> None:
    param = ListParam("ResourceId", item=Param("ResourceId"), required=True)
    assert fails(param.extract, {}).code == "MissingResourceId"


# -- integers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "value"),
    [("0", 0), ("60", 60), ("-5", -5), ("+7", 7), ("007", 7), (" 600 ", 600), (str(INT64_MAX), INT64_MAX)],
)
def test_integers(raw: str, value: int) -> None:
    assert Param("Interval", kind="integer").extract({"Interval": raw}) == value


def test_the_smallest_int64_is_accepted() -> None:
    assert Param("N", kind="integer").extract({"N": str(INT64_MIN)}) == INT64_MIN


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "1.5",
        "1e3",
        "0x10",
        "1_000",
        "--1",
        "+",
        "-",
        "1 2",
        "١٢",  # Arabic-Indic digits: int() would take them, the API does not
        "１２",  # fullwidth digits
        "²",
        str(INT64_MAX + 1),  # the wire type is int64
        str(INT64_MIN - 1),
        "9" * 19,
        "9" * 20,
        "9" * 5000,
    ],
)
def test_malformed_or_out_of_range_integers_are_refused(raw: str) -> None:
    error = invalid(Param("PageSize", kind="integer").extract, {"PageSize": raw})
    assert '"PageSize"' in error.message


def test_integer_bounds() -> None:
    param = Param("PageSize", kind="integer", minimum=1, maximum=50)
    assert param.extract({"PageSize": "1"}) == 1
    assert param.extract({"PageSize": "50"}) == 50
    invalid(param.extract, {"PageSize": "0"})
    invalid(param.extract, {"PageSize": "-1"})
    invalid(param.extract, {"PageSize": "51"})


def test_integer_choices() -> None:
    param = Param("Interval", kind="integer", choices=(60, 600))
    assert param.extract({"Interval": "600"}) == 600
    invalid(param.extract, {"Interval": "300"})


def test_an_empty_integer_means_unset() -> None:
    assert Param("PageSize", kind="integer", default=10).extract({"PageSize": ""}) == 10


# -- booleans --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("fAlSe", False)],
)
def test_booleans_are_case_insensitive(raw: str, value: bool) -> None:
    # Python SDKs send True/False (str() of a bool); other languages send true/false.
    assert Param("All", kind="boolean").extract({"All": raw}) is value


@pytest.mark.parametrize("raw", ["1", "0", "yes", "no", "t", "truth", "none"])
def test_other_boolean_spellings_are_refused(raw: str) -> None:
    invalid(Param("All", kind="boolean").extract, {"All": raw})


def test_an_empty_boolean_means_unset() -> None:
    assert Param("All", kind="boolean", default=False).extract({"All": ""}) is False


# -- JSON-valued parameters ------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        '[{"Cidr":"192.168.0.0/16","PublishCidrRoute":true}]',  # stacks A/B
        '[{"Cidr": "192.168.0.0/16", "PublishCidrRoute": true}]',  # stack C's json.dumps spacing
    ],
)
def test_json_values_are_decoded(raw: str) -> None:
    value = Param("TransitRouterCidrList", kind="json").extract({"TransitRouterCidrList": raw})
    assert value == [{"Cidr": "192.168.0.0/16", "PublishCidrRoute": True}]


@pytest.mark.parametrize("raw", ["{", "[1,]", "{'a': 1}", "undefined", "[" * 100_000])
def test_invalid_json_is_refused(raw: str) -> None:
    invalid(Param("Options", kind="json").extract, {"Options": raw})


# -- flattened lists -------------------------------------------------------------------------
def test_tag_list() -> None:
    flat = {"Tag.1.Key": "env", "Tag.1.Value": "prod", "Tag.2.Key": "team", "Tag.2.Value": "net"}
    assert tag_list().extract(flat) == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "net"}]


def test_a_tag_without_a_value() -> None:
    assert tag_list().extract({"Tag.1.Key": "env"}) == [{"Key": "env", "Value": None}]


def test_a_required_tag_field() -> None:
    error = fails(tag_list(key_required=True).extract, {"Tag.1.Value": "v"})
    assert error.code == "MissingKey"


def test_resource_ids() -> None:
    param = ListParam("ResourceId", item=Param("ResourceId"))
    assert param.extract({"ResourceId.1": "flowlog-a", "ResourceId.2": "flowlog-b"}) == ["flowlog-a", "flowlog-b"]


def test_tag_keys_next_to_a_boolean() -> None:
    spec = OperationSpec((ListParam("TagKey", item=Param("TagKey")), Param("All", kind="boolean", default=False)))
    args = spec.parse({"TagKey.1": "k1", "TagKey.2": "k2", "All": "False"})
    assert args.items("TagKey") == ["k1", "k2"]
    assert args.flag("All") is False


def test_nested_lists_filter_n_value_m() -> None:
    param = ListParam("Filter", fields=(Param("Key"), ListParam("Value", item=Param("Value"))))
    flat = {
        "Filter.1.Key": "CenId",
        "Filter.1.Value.1": "cen-a",
        "Filter.1.Value.2": "cen-b",
        "Filter.2.Key": "Status",
        "Filter.2.Value.1": "Active",
    }
    assert param.extract(flat) == [
        {"Key": "CenId", "Value": ["cen-a", "cen-b"]},
        {"Key": "Status", "Value": ["Active"]},
    ]


def test_sparse_indices_are_accepted_and_ordered_numerically() -> None:
    param = ListParam("ResourceId", item=Param("ResourceId"))
    flat = {"ResourceId.10": "c", "ResourceId.2": "b", "ResourceId.1": "a"}
    assert param.extract(flat) == ["a", "b", "c"]


def test_sparse_struct_lists() -> None:
    assert tag_list().extract({"Tag.3.Key": "b", "Tag.1.Key": "a"}) == [
        {"Key": "a", "Value": None},
        {"Key": "b", "Value": None},
    ]


def test_an_absent_optional_list_is_empty() -> None:
    assert tag_list().extract({"Other": "x", "TagKey.1": "k"}) == []


def test_list_items_are_converted_and_validated() -> None:
    param = ListParam("Port", item=Param("Port", kind="integer", minimum=1, maximum=65535))
    assert param.extract({"Port.1": "80", "Port.2": "443"}) == [80, 443]
    invalid(param.extract, {"Port.1": "http"})
    invalid(param.extract, {"Port.1": "70000"})


def test_max_items() -> None:
    param = ListParam("ResourceId", item=Param("ResourceId"), max_items=2)
    assert len(param.extract({"ResourceId.1": "a", "ResourceId.2": "b"})) == 2
    error = invalid(param.extract, {"ResourceId.1": "a", "ResourceId.2": "b", "ResourceId.3": "c"})
    assert "2" in error.message


def test_max_items_counts_struct_items_not_fields() -> None:
    flat = {f"Tag.{i}.{field}": "x" for i in range(1, 21) for field in ("Key", "Value")}
    assert len(tag_list(max_items=20).extract(flat)) == 20
    invalid(tag_list(max_items=20).extract, {**flat, "Tag.21.Key": "x"})


def test_a_custom_too_many_error() -> None:
    spec = ErrorSpec("InvalidTagCount", "Too many tags.")
    error = fails(tag_list(max_items=1, too_many=spec).extract, {"Tag.1.Key": "a", "Tag.2.Key": "b"})
    assert error.code == "InvalidTagCount"


@pytest.mark.parametrize(
    "key",
    [
        "Tag.0.Key",  # 1-based
        f"Tag.{MAX_INDEX + 1}.Key",
        "Tag.-1.Key",
        "Tag.x.Key",
        "Tag..Key",
        "Tag.1",  # a struct list needs a field
        "Tag.",
        "Tag.².Key",  # str.isdigit() is true for "²", but it is no index
        "Tag.١.Key",  # Arabic-Indic one
        "Tag.01.Key",  # would silently collide with Tag.1.Key
        "Tag.+1.Key",
        "Tag. 1.Key",
    ],
)
def test_bad_struct_list_keys_are_refused(key: str) -> None:
    invalid(tag_list().extract, {key: "v"})


@pytest.mark.parametrize("key", ["ResourceId.1.Extra", "ResourceId.0", "ResourceId.x", "ResourceId.²"])
def test_bad_item_list_keys_are_refused(key: str) -> None:
    invalid(ListParam("ResourceId", item=Param("ResourceId")).extract, {key: "v"})


def test_the_largest_index_is_accepted() -> None:
    assert ListParam("R", item=Param("R")).extract({f"R.{MAX_INDEX}": "x"}) == ["x"]


def test_a_list_sent_as_a_scalar_is_refused() -> None:
    invalid(ListParam("ResourceId", item=Param("ResourceId")).extract, {"ResourceId": "flowlog-a"})


def test_an_empty_scalar_next_to_a_list_is_ignored() -> None:
    assert ListParam("R", item=Param("R")).extract({"R": "", "R.1": "a"}) == ["a"]


def test_similar_names_are_not_list_items() -> None:
    # "TagKey.1" belongs to TagKey, not to Tag.
    assert tag_list().extract({"TagKey.1": "k", "Tags.1.Key": "x"}) == []


# -- operation tables and Args ---------------------------------------------------------------
SPEC = OperationSpec(
    (
        Param("RegionId", required=True),
        Param("FlowLogName"),
        Param("Interval", kind="integer", default=600),
        Param("Enabled", kind="boolean"),
        tag_list(),
    )
)


def test_parse_builds_typed_args() -> None:
    args = SPEC.parse({"RegionId": "cn-hangzhou", "Interval": "60", "Enabled": "True", "Tag.1.Key": "k"})
    assert args.text("RegionId") == "cn-hangzhou"
    assert args.opt_text("FlowLogName") is None
    assert args.number("Interval") == 60
    assert args.opt_number("Interval") == 60
    assert args.flag("Enabled") is True
    assert args.items("Tag") == [{"Key": "k", "Value": None}]
    assert "RegionId" in args
    assert "FlowLogName" not in args
    assert "Tag" in args


def test_parse_ignores_unknown_parameters() -> None:
    args = SPEC.parse({"RegionId": "cn-hangzhou", "Action": "X", "SignatureNonce": "n", "Unknown": "?"})
    assert set(args.as_dict()) == set(SPEC.names())


def test_parse_reports_the_first_problem() -> None:
    assert fails(SPEC.parse, {"Interval": "x"}).code == "MissingRegionId"


def test_checks_run_after_the_table() -> None:
    def both_or_neither(values: dict[str, Any]) -> None:
        if (values["A"] is None) != (values["B"] is None):
            raise ErrorSpec("InvalidParameter.AB", "Give A and B together.")()

    spec = OperationSpec((Param("A"), Param("B")), checks=(both_or_neither,))
    spec.parse({"A": "1", "B": "2"})
    assert fails(spec.parse, {"A": "1"}).code == "InvalidParameter.AB"


def test_args_getters_for_absent_values() -> None:
    args = Args({"N": None, "S": "", "L": []})
    assert args.opt_number("N") is None
    assert args.opt_text("S") is None
    assert args.items("L") == []
    assert args.items("missing") == []
    assert args.flag("missing", default=True) is True
    assert args.value("missing") is None


def test_opt_number_is_not_fooled_by_booleans() -> None:
    assert Args({"B": True}).opt_number("B") is None
