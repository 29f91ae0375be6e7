"""cenflow.wire.params: decoding the query string and form body."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cenflow.errors import ApiError
from cenflow.wire.params import MAX_PARAMETERS, merge, parse_form

TEXT = st.characters(exclude_categories=("Cs",))  # what UTF-8 can encode


def refused(raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_form(raw, where="query string")
    assert info.value.code == "InvalidParameter"
    assert info.value.status == 400
    return info.value


def test_empty_input_has_no_parameters() -> None:
    assert parse_form(b"", where="query string") == {}


def test_pairs_are_split_on_ampersand_and_equals() -> None:
    assert parse_form(b"Action=X&Version=2017-09-12", where="query string") == {
        "Action": "X",
        "Version": "2017-09-12",
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"v=a+b", "a b"),  # stacks A/B: urlencode turns a space into "+"
        (b"v=a%20b", "a b"),  # stack C: %20
        (b"v=a%2Bb", "a+b"),
        (b"v=%2A%2F~", "*/~"),
        (b"v=prod+a%2Ab~c%2Fd", "prod a*b~c/d"),  # §5.2 of the reference
        (b"v=%E4%BD%A0%E5%A5%BD", "你好"),
        (b"v=%e4%bd%a0", "你"),  # lower-case hex digits
        ("v=你好".encode(), "你好"),  # raw UTF-8 (not percent-encoded) is accepted
        (b"v=a=b", "a=b"),  # only the first "=" separates
        (b"v=", ""),
        (b"v", ""),
        (b"v=%zz", "%zz"),  # a "%" that starts no escape stays literal
        (b"v=100%", "100%"),
    ],
)
def test_values_are_form_decoded(raw: bytes, value: str) -> None:
    assert parse_form(raw, where="query string") == {"v": value}


@given(st.dictionaries(st.text(TEXT, min_size=1), st.text(TEXT), max_size=5))
def test_pairs_without_escapes_decode_like_escaped_ones(params: dict[str, str]) -> None:
    # Pairs without "%" or "+" skip unquote_plus; the encoded form must round-trip either way.
    assert parse_form(urlencode(params).encode(), where="query string") == params


def test_keys_are_decoded_too() -> None:
    assert parse_form(b"Tag.1.Key=k&Tag%2E2%2EKey=j", where="query string") == {"Tag.1.Key": "k", "Tag.2.Key": "j"}


def test_empty_pairs_are_skipped() -> None:
    assert parse_form(b"&a=1&&b=2&", where="query string") == {"a": "1", "b": "2"}


def test_empty_values_are_kept() -> None:
    # Stack C sends "SignatureType=", and it takes part in the signature.
    assert parse_form(b"SignatureType=&a=1", where="query string") == {"SignatureType": "", "a": "1"}


def test_repeated_keys_are_refused() -> None:
    error = refused(b"a=1&b=2&a=3")
    assert '"a"' in error.message


def test_keys_repeated_after_decoding_are_refused() -> None:
    refused(b"a=1&%61=2")


def test_repeated_keys_are_refused_even_with_equal_values() -> None:
    refused(b"a=1&a=1")


def test_a_parameter_without_a_name_is_refused() -> None:
    refused(b"=value")


def test_invalid_percent_encoded_utf8_is_refused() -> None:
    error = refused(b"v=%FF")
    assert "UTF-8" in error.message


def test_truncated_percent_encoded_utf8_is_refused() -> None:
    refused(b"v=%E4%BD")


def test_overlong_utf8_encoding_is_refused() -> None:
    refused(b"v=%C0%AF")  # an overlong "/"


def test_percent_encoded_surrogate_is_refused() -> None:
    refused(b"v=%ED%A0%80")


def test_invalid_raw_utf8_bytes_are_refused() -> None:
    error = refused(b"v=\xff\xfe")
    assert "UTF-8" in error.message


def test_invalid_utf8_in_a_key_is_refused() -> None:
    refused(b"%FF=1")


def test_the_error_names_where_the_problem_is() -> None:
    with pytest.raises(ApiError) as info:
        parse_form(b"v=%FF", where="request body")
    assert "request body" in info.value.message


def test_at_most_max_parameters_are_accepted() -> None:
    raw = "&".join(f"p{i}=1" for i in range(MAX_PARAMETERS)).encode()
    assert len(parse_form(raw, where="query string")) == MAX_PARAMETERS
    refused(raw + b"&one=more")


def test_merge_joins_query_and_body() -> None:
    assert merge({"a": "1"}, {"b": "2"}) == {"a": "1", "b": "2"}


def test_merge_refuses_a_name_in_both() -> None:
    with pytest.raises(ApiError) as info:
        merge({"a": "1"}, {"a": "1"})
    assert info.value.code == "InvalidParameter"


_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: "\x00" not in k), _values, max_size=10))
def test_what_urlencode_produces_decodes_back(params: dict[str, str]) -> None:
    assert parse_form(urlencode(params).encode(), where="query string") == params


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_refused_with_an_api_error(raw: bytes) -> None:
    error: ApiError | None = None
    try:
        parsed = parse_form(raw, where="query string")
    except ApiError as exc:
        error = exc
    if error is not None:
        assert error.code == "InvalidParameter"
    else:
        assert all(isinstance(k, str) and k for k in parsed)
