"""cenflow.wire.signing against the worked examples of the protocol reference (§4.1, §4.2) and
against the SDKs' own signers."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkcore.auth.composer import rpc_signature_composer
from hypothesis import given, settings
from hypothesis import strategies as st

from cenflow.wire.signing import (
    EMPTY_SHA256,
    V3_ALGORITHM,
    V3Authorization,
    parse_v3_authorization,
    percent_encode,
    rpc_signature,
    rpc_string_to_sign,
    signatures_equal,
    v3_canonical_request,
    v3_signature,
    v3_string_to_sign,
)

SECRET = "testSecret"

# -- §4.1 RPC v1 -----------------------------------------------------------------------------
V1_PARAMS = {
    "Action": "ActiveFlowLog",
    "Version": "2017-09-12",
    "Format": "json",
    "Timestamp": "2024-01-01T12:00:00Z",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureVersion": "1.0",
    "AccessKeyId": "testAkId",
    "RegionId": "cn-hangzhou",
    "CenId": "cen-7qthudw0ll6jmc****",
    "FlowLogId": "flowlog-m5evbtbpt****",
    "ClientToken": "123e4567-e89b-12d3-a456-42665544****",
}
V1_STRING_TO_SIGN = (
    "POST&%2F&AccessKeyId%3DtestAkId%26Action%3DActiveFlowLog%26CenId%3Dcen-7qthudw0ll6jmc%252A%252A%252A%252A"
    "%26ClientToken%3D123e4567-e89b-12d3-a456-42665544%252A%252A%252A%252A%26FlowLogId%3Dflowlog-m5evbtbpt"
    "%252A%252A%252A%252A%26Format%3Djson%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
    "%26Timestamp%3D2024-01-01T12%253A00%253A00Z%26Version%3D2017-09-12"
)


def test_rpc_string_to_sign_matches_the_worked_example() -> None:
    assert rpc_string_to_sign("POST", V1_PARAMS) == V1_STRING_TO_SIGN


def test_rpc_signature_matches_the_worked_example_of_stacks_a_and_b() -> None:
    assert rpc_signature(SECRET, rpc_string_to_sign("POST", V1_PARAMS)) == "q0cxxJ3ArV/QAvchcUeahcRXafY="


def test_rpc_signature_matches_the_stack_c_variant_with_empty_signature_type() -> None:
    params = {**V1_PARAMS, "Format": "JSON", "SignatureType": ""}
    string_to_sign = rpc_string_to_sign("POST", params)
    assert "%26Format%3DJSON%26" in string_to_sign
    assert "%26SignatureType%3D%26SignatureVersion%3D1.0" in string_to_sign
    assert rpc_signature(SECRET, string_to_sign) == "7ZllboY+ARdZp8zqq6gfYW3Ta0U="


def test_rpc_string_to_sign_leaves_out_only_the_signature() -> None:
    signed = {**V1_PARAMS, "Signature": "q0cxxJ3ArV/QAvchcUeahcRXafY="}
    assert rpc_string_to_sign("POST", signed) == V1_STRING_TO_SIGN


def test_rpc_string_to_sign_uses_the_upper_case_method() -> None:
    assert rpc_string_to_sign("get", {"A": "1"}) == "GET&%2F&A%3D1"


def test_rpc_signature_keys_the_hmac_with_secret_and_ampersand() -> None:
    # The same string signed under "testSecret&" must differ from one signed under "testSecret".
    assert rpc_signature(SECRET, "x") != rpc_signature(SECRET + "&", "x")


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("AZaz09-_.~", "AZaz09-_.~"),
        (" ", "%20"),
        ("*", "%2A"),
        ("/", "%2F"),
        ("+", "%2B"),
        ("=&", "%3D%26"),
        ("你", "%E4%BD%A0"),
        ("%", "%25"),
    ],
)
def test_percent_encode_is_rfc3986_over_utf8(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


@given(st.text(alphabet=st.sampled_from("Az09-_.~ *+/%=&你\x00")) | st.text(st.characters(exclude_categories=("Cs",))))
def test_percent_encode_fast_path_agrees_with_full_encoding(raw: str) -> None:
    # Values with nothing to encode skip urllib's quote; both paths must give the same text.
    assert percent_encode(raw) == quote(raw, safe="~", encoding="utf-8")


# -- §4.2 V3 -----------------------------------------------------------------------------------
V3_QUERY = {
    "CenId": "cen-7qthudw0ll6jmc****",
    "ClientToken": "123e4567-e89b-12d3-a456-42665544****",
    "FlowLogId": "flowlog-m5evbtbpt****",
    "RegionId": "cn-hangzhou",
}
V3_HEADERS = {
    "host": "127.0.0.1:8080",
    "x-acs-version": "2017-09-12",
    "x-acs-action": "ActiveFlowLog",
    "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
    "x-acs-date": "2024-01-01T12:00:00Z",
    "x-acs-signature-nonce": "3ee8c1b883d344afa94f4e0ad82fd6cf",
    "accept": "application/json",
    "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}
V3_SIGNED = (
    "accept",
    "host",
    "user-agent",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)
V3_CANONICAL_REQUEST = "\n".join(
    [
        "POST",
        "/",
        "CenId=cen-7qthudw0ll6jmc%2A%2A%2A%2A&ClientToken=123e4567-e89b-12d3-a456-42665544%2A%2A%2A%2A"
        "&FlowLogId=flowlog-m5evbtbpt%2A%2A%2A%2A&RegionId=cn-hangzhou",
        "accept:application/json",
        "host:127.0.0.1:8080",
        "user-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-action:ActiveFlowLog",
        "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-acs-date:2024-01-01T12:00:00Z",
        "x-acs-signature-nonce:3ee8c1b883d344afa94f4e0ad82fd6cf",
        "x-acs-version:2017-09-12",
        "",
        "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]
)
V3_EXPECTED_SIGNATURE = "937f3be88e0b392f9584311a8be1bf42aa8b5a78aeecd0fb96f98fc8caac6e9c"


def test_empty_sha256_is_the_hash_of_an_empty_body() -> None:
    assert EMPTY_SHA256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_v3_canonical_request_matches_the_worked_example() -> None:
    canonical = v3_canonical_request("POST", "/", V3_QUERY, V3_HEADERS, V3_SIGNED, EMPTY_SHA256)
    assert canonical == V3_CANONICAL_REQUEST


def test_v3_string_to_sign_matches_the_worked_example() -> None:
    assert v3_string_to_sign(V3_CANONICAL_REQUEST) == (
        "ACS3-HMAC-SHA256\nc46f634bc34bfec25b595be231fdc9b67aa0ca7bb4a38153e94892466172fb70"
    )


def test_v3_signature_matches_the_worked_example() -> None:
    assert v3_signature(SECRET, v3_string_to_sign(V3_CANONICAL_REQUEST)) == V3_EXPECTED_SIGNATURE


def test_v3_authorization_header_of_the_worked_example_parses() -> None:
    header = (
        "ACS3-HMAC-SHA256 Credential=testAkId,SignedHeaders=accept;host;user-agent;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" + V3_EXPECTED_SIGNATURE
    )
    assert parse_v3_authorization(header) == V3Authorization(V3_ALGORITHM, "testAkId", V3_SIGNED, V3_EXPECTED_SIGNATURE)


def test_v3_canonical_headers_follow_the_signed_list_and_trim_values() -> None:
    canonical = v3_canonical_request("GET", "/", {}, {"b": "  two ", "a": "one"}, ("b", "a", "missing"), "h")
    assert canonical == "GET\n/\n\nb:two\na:one\nmissing:\n\nb;a;missing\nh"


def test_v3_canonical_query_does_not_encode_keys_like_the_sdk() -> None:
    canonical = v3_canonical_request("POST", "/", {"Tag.1.Value": "a b*"}, {}, (), "h")
    assert canonical.split("\n")[2] == "Tag.1.Value=a%20b%2A"


def test_v3_signature_keys_the_hmac_with_the_bare_secret() -> None:
    import hmac

    expected = hmac.new(b"testSecret", b"x", hashlib.sha256).hexdigest()
    assert v3_signature(SECRET, "x") == expected


def test_signatures_equal() -> None:
    assert signatures_equal("abc", "abc")
    assert not signatures_equal("abc", "abd")
    assert not signatures_equal("abc", "ab")
    assert not signatures_equal("abc", "ÿbc")


# -- parse_v3_authorization ----------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        "",
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 ",
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host",  # no Signature
        "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=ab",  # no Credential
        "ACS3-HMAC-SHA256 Credential=ak,Signature=ab",  # no SignedHeaders
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab",  # empty value
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host,Signature=",
        "ACS3-HMAC-SHA256 Credential,SignedHeaders=host,Signature=ab",  # no "="
        "ACS3-HMAC-SHA256 Credential=ak,Credential=bk,SignedHeaders=host,Signature=ab",  # repeated part
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=Host,Signature=ab",  # header names are lower case
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;;x-acs-date,Signature=ab",  # empty name
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=ak,,SignedHeaders=host,Signature=ab",  # empty part
    ],
)
def test_parse_v3_authorization_refuses_malformed_headers(header: str) -> None:
    assert parse_v3_authorization(header) is None


def test_parse_v3_authorization_tolerates_spaces_around_parts() -> None:
    parsed = parse_v3_authorization("  ACS3-HMAC-SHA256 Credential=ak, SignedHeaders=host;x-acs-date , Signature=ab  ")
    assert parsed == V3Authorization("ACS3-HMAC-SHA256", "ak", ("host", "x-acs-date"), "ab")


def test_parse_v3_authorization_keeps_equals_signs_inside_values() -> None:
    parsed = parse_v3_authorization("ACS3-HMAC-SHA256 Credential=a=b,SignedHeaders=host,Signature=c==")
    assert parsed is not None
    assert parsed.access_key_id == "a=b"
    assert parsed.signature == "c=="


def test_parse_v3_authorization_reports_other_algorithms_for_the_caller_to_refuse() -> None:
    parsed = parse_v3_authorization("ACS3-HMAC-SM3 Credential=ak,SignedHeaders=host,Signature=ab")
    assert parsed is not None
    assert parsed.algorithm == "ACS3-HMAC-SM3"


def test_parse_v3_authorization_ignores_unknown_extra_parts() -> None:
    parsed = parse_v3_authorization("ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host,Signature=ab,Extra=1")
    assert parsed == V3Authorization("ACS3-HMAC-SHA256", "ak", ("host",), "ab")


# -- the SDKs' own signers agree for any parameters ------------------------------------------
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=16)
_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda name: name != "Signature"
)


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(_names, _text, max_size=8), method=st.sampled_from(["GET", "POST"]))
def test_rpc_signature_agrees_with_stack_a_and_stack_c_for_any_parameters(params: dict[str, str], method: str) -> None:
    ours = rpc_string_to_sign(method, params)
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    assert ours == compose(method, params)
    assert rpc_signature("s3cr€t", ours) == Utils.get_rpcsignature(params, method, "s3cr€t")


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(st.text("aZ9%=&~+ *你", min_size=1, max_size=6), st.text("aZ9%=&~+ *你/", max_size=8)))
def test_rpc_string_to_sign_encodes_the_characters_its_second_encoding_replaces(params: dict[str, str]) -> None:
    # The canonical string is encoded again by replacing "%", "=" and "&" (wire/signing.py):
    # keys and values made of those characters, and of ones that encode to them, as the SDK does.
    params.pop("Signature", None)
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    assert rpc_string_to_sign("POST", params) == compose("POST", params)


_header_names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
_header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)


@settings(max_examples=300, deadline=None)
@given(
    query=st.dictionaries(_names, _text, max_size=6),
    headers=st.dictionaries(_header_names, _header_values, min_size=1, max_size=6),
    body=st.binary(max_size=64),
)
def test_v3_signature_agrees_with_stack_a_for_any_request(
    query: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    payload = hashlib.sha256(body).hexdigest()
    request = SimpleNamespace(method="POST", pathname="/", query=query, headers=headers)
    expected = Utils.get_authorization(request, V3_ALGORITHM, payload, "ak", "s3cr€t")
    signed = tuple(sorted(headers))
    canonical = v3_canonical_request("POST", "/", query, headers, signed, payload)
    ours = f"{V3_ALGORITHM} Credential=ak,SignedHeaders={';'.join(signed)},Signature="
    ours += v3_signature("s3cr€t", v3_string_to_sign(canonical))
    assert ours == expected
