"""Fuzzing the RPC endpoint over HTTP: whatever arrives, the answer is never a 5xx and always a JSON
error envelope (or a success body).

Hypothesis drives httpx against a server of this module's own (signed fuzz calls may create
resources, which other tests must not see).  Requests the HTTP parser itself rejects are out of
scope: httpx only produces well-formed HTTP, and URLs stay below the parser's 64 KiB limit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.harness import CBN_VERSION, CenflowServer, checked_server, encode_query, sign_rpc_v1, sign_v3

pytestmark = pytest.mark.e2e

REQUEST_ID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
ENVELOPE_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend"}
ROUTED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")
# httpx refuses URLs over 64 KiB, and so does the server's HTTP parser (with a text/plain 400).
MAX_URL = 60_000

FUZZ = settings(
    # FUZZ_EXAMPLES=5000 for a long hunt; the default keeps the module at a few seconds.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenflowServer]:
    with checked_server(tmp_path_factory.mktemp("fuzz-server"), "--transition-delay", "0") as server:
        yield server


@pytest.fixture(scope="module")
def http(fuzz_server: CenflowServer) -> Iterator[httpx.Client]:
    with fuzz_server.http(timeout=30.0) as client:
        yield client


def check(response: httpx.Response) -> dict[str, Any] | None:
    """No 5xx; a JSON object: a success body with RequestId, or Alibaba's error envelope."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    if response.request.method == "HEAD":
        return None
    body = response.json()
    assert isinstance(body, dict), body
    assert REQUEST_ID.fullmatch(body.get("RequestId", "")), body
    if response.status_code != 200:
        assert set(body) >= ENVELOPE_KEYS, body
        assert body["Code"]
        assert body["Code"] != "InternalError", body
    return body


# -- strategies ----------------------------------------------------------------------------------
KNOWN_NAMES = [
    "Action",
    "Version",
    "Format",
    "Timestamp",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "AccessKeyId",
    "Signature",
    "SecurityToken",
    "RegionId",
    "ProductType",
    "AcceptLanguage",
    "CenId",
    "FlowLogId",
    "PageSize",
    "PageNumber",
    "MaxResults",
    "Interval",
    "All",
    "Tag.1.Key",
    "Tag.1.Value",
    "Tag.0.Key",
    "Tag.99999.Key",
    "Tag.x.Key",
    "Tag",
    "ResourceId.1",
    "ResourceId",
    "TagKey.1",
    "Filter.1.Value.1",
    "TransitRouterCidrList",
    "ClientToken",
    "DryRun",
]
# Pieces that break decoders: bad escapes, encoded invalid UTF-8, separators, plus signs.
NASTY_PIECES = [
    "%",
    "%%",
    "%zz",
    "%4",
    "%FF",
    "%C0%AF",
    "%ED%A0%80",
    "%E4%BD",
    "%E4%BD%A0",
    "%00",
    "%0A",
    "+",
    "=",
    "&",
    "&&",
    "%26",
    "%3D",
    ";",
    "~",
    "*",
    "[",
    "]",
    "{",
    '"',
    "\\",
    "..",
    "²",
    "١",
]
ascii_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)
raw_token = st.lists(st.one_of(st.sampled_from(NASTY_PIECES), ascii_text), max_size=6).map("".join)
raw_name = st.one_of(st.sampled_from(KNOWN_NAMES), raw_token)
huge = st.sampled_from([1_000, 20_000, 50_000]).map(lambda n: "x" * n)
raw_value = st.one_of(raw_token, huge, st.sampled_from(["True", "false", "-1", "9" * 30, "2017-09-12", ""]))
raw_query = st.lists(st.tuples(raw_name, st.sampled_from(["=", "=", ""]), raw_value), max_size=8).map(
    lambda pairs: "&".join(f"{name}{sep}{value}" for name, sep, value in pairs)
)


def wire(query: str) -> bytes:
    """The raw path for httpx: what it cannot carry (non-ASCII, "#", spaces, ...) percent-encoded,
    everything else (bare or broken "%" escapes included) left exactly as generated."""
    return ("/?" + quote(query, safe="%&=+;:@!$'()*,/?~"))[:MAX_URL].encode()


header_value = st.one_of(
    ascii_text,
    # Any octet a header value may hold: VCHAR, SP, HTAB and obs-text (Latin-1 and stray UTF-8).
    st.binary(max_size=40).map(lambda raw: bytes(c for c in raw if c == 9 or 0x20 <= c <= 0x7E or c >= 0x80)),
    st.sampled_from(["", "2017-09-12", "DescribeChildInstanceRegions", "2026-01-01T00:00:00Z", "e3b0c442"]),
)


authorization = st.one_of(
    st.builds(
        lambda algo, parts: f"{algo} {','.join(parts)}",
        st.sampled_from(["ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "ACS3-", "acs3-hmac-sha256", "Bearer", "Basic"]),
        st.lists(
            st.one_of(
                st.builds(lambda v: f"Credential={v}", ascii_text),
                st.builds(
                    lambda v: f"SignedHeaders={v}", st.sampled_from(["host", "host;x-acs-date", "", ";;", "HOST"])
                ),
                st.builds(lambda v: f"Signature={v}", ascii_text),
                ascii_text,
            ),
            max_size=5,
        ),
    ),
    ascii_text,
)
header_name = st.sampled_from(
    [
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "x-acs-security-token",
        "x-acs-accesskey-id",
        "content-type",
        "accept",
        "x-sdk-invoke-type",
        "X-ACS-ACTION",
        "x-forwarded-for",
    ]
)


def _trimmed(header: tuple[str, str | bytes]) -> tuple[str, str | bytes]:
    # h11 will not send a value with surrounding whitespace (and the server would not see it).
    name, value = header
    return name, value.strip(b" \t") if isinstance(value, bytes) else value.strip(" \t")


headers = st.lists(
    st.one_of(st.tuples(header_name, header_value), st.tuples(st.just("authorization"), authorization)).map(_trimmed),
    max_size=8,
)  # a list, so the same header may come several times
content_type = st.sampled_from(
    [
        None,
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/octet-stream",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
        ";;",
    ]
)
body = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    raw_query.map(lambda q: q.encode()),
    raw_query.map(lambda q: q.encode() + b"&v=\xff\xfe"),
    st.sampled_from([b"a=" + b"x" * 500_000, b"=" * 1000, b"&" * 5000]),
)


# -- unsigned garbage ----------------------------------------------------------------------------
@FUZZ
@given(method=st.sampled_from(ROUTED_METHODS), query=raw_query)
def test_random_query_strings(http: httpx.Client, method: str, query: str) -> None:
    check(http.request(method, http.base_url.copy_with(raw_path=wire(query))))


@FUZZ
@given(method=st.sampled_from(ROUTED_METHODS), query=raw_query, sent_headers=headers)
def test_random_headers(http: httpx.Client, method: str, query: str, sent_headers: list[tuple[str, Any]]) -> None:
    check(http.request(method, http.base_url.copy_with(raw_path=wire(query)), headers=sent_headers))


@FUZZ
@given(
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
    payload=body,
    media=content_type,
    sent_headers=headers,
)
def test_random_bodies(
    http: httpx.Client, method: str, payload: bytes, media: str | None, sent_headers: list[tuple[str, Any]]
) -> None:
    request_headers = [(k, v) for k, v in sent_headers if k.lower() != "content-type"]
    if media is not None:
        request_headers.append(("content-type", media))
    check(http.request(method, "/", content=payload, headers=request_headers))


# -- validly signed calls with random parameters --------------------------------------------------
def _actions() -> list[str]:
    from cenflow.app import build_registry

    return sorted(action for version, action in build_registry().operations if version == CBN_VERSION)


nice_value = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "True",
            "false",
            "0",
            "-1",
            "60",
            "600",
            "9" * 25,
            "cn-hangzhou",
            "cen-7qthudw0ll6jmc0000",
            "flowlog-m5evbtbpt0000",
            "VPC",
            "en-US",
            "[]",
            '[{"Cidr":"192.168.0.0/16"}]',
            "{",
            "x" * 70_000,
        ]
    ),
)
param_name = st.one_of(
    st.sampled_from(KNOWN_NAMES),
    st.sampled_from(
        [
            "FlowLogName",
            "Description",
            "ProjectName",
            "LogStoreName",
            "Status",
            "TransitRouterId",
            "TransitRouterAttachmentId",
            "LogFormatString",
            "CenInstanceName",
            "ResourceType",
            "NextToken",
            "VpcId",
            "ZoneMappings.1.VSwitchId",
            "ZoneMappings.1.ZoneId",
            "PeerTransitRouterId",
            "Bandwidth",
            "FlowLogVersion",
        ]
    ),
    st.builds(lambda n, f: f"Tag.{n}.{f}", st.integers(-1, 30), st.sampled_from(["Key", "Value", "", "X"])),
    st.builds(lambda n: f"ResourceId.{n}", st.integers(0, 30)),
    st.text(min_size=1, max_size=12),
)
signature_fields = {"Action", "Version", "Signature", "SignatureNonce", "Timestamp", "AccessKeyId", "SignatureMethod"}
signed_params = st.builds(
    lambda region, rest: {**region, **rest},
    st.fixed_dictionaries({}, optional={"RegionId": st.just("cn-hangzhou")}),  # most operations want one
    st.dictionaries(param_name.filter(lambda n: n not in signature_fields), nice_value, max_size=8),
)


@FUZZ
@given(
    data=st.data(),
    params=signed_params,
    scheme=st.sampled_from(["v1", "v3"]),
    method=st.sampled_from(["GET", "POST"]),
    in_body=st.booleans(),
)
def test_signed_calls_with_random_parameters(
    http: httpx.Client,
    fuzz_server: CenflowServer,
    data: st.DataObject,
    params: dict[str, str],
    scheme: str,
    method: str,
    in_body: bool,
) -> None:
    # Mostly operations the server has, so that the calls get past routing into the handlers.
    served = data.draw(st.sampled_from([True, True, True, False]), label="served")
    action = data.draw(st.sampled_from(_actions()) if served else ascii_text.filter(bool), label="action")
    key_id, secret = fuzz_server.access_key_id, fuzz_server.access_key_secret
    assert key_id is not None
    assert secret is not None
    # Operation parameters go in the query string, or (always when huge) in a form body.
    form = encode_query(params)
    if in_body or len(form) > MAX_URL // 2:
        method, query, payload = "POST", {}, form.encode()
        request_headers = {"content-type": "application/x-www-form-urlencoded"}
    else:
        query, payload, request_headers = params, b"", {}
    if scheme == "v1":
        signed = sign_rpc_v1(params, access_key_id=key_id, access_key_secret=secret, action=action, method=method)
        query = {k: v for k, v in signed.items() if k not in params or not payload}
    else:
        request_headers = sign_v3(
            query,
            host=fuzz_server.endpoint,
            access_key_id=key_id,
            access_key_secret=secret,
            action=action,
            method=method,
            body=payload,
            headers=request_headers,
        )
    url = http.base_url.copy_with(raw_path=f"/?{encode_query(query)}".encode())
    body = check(http.request(method, url, content=payload, headers=request_headers))
    assert body is not None
    event(f"{scheme} {body.get('Code', 'success')}")
    # A well-signed call is never refused for its signature, whatever its parameters.
    assert body.get("Code") not in ("SignatureDoesNotMatch", "IncompleteSignature", "SignatureNonceUsed"), body


# -- methods the RPC endpoint does not serve still get Alibaba's envelope -------------------------
@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND"])
def test_unrouted_methods_get_an_envelope(http: httpx.Client, method: str) -> None:
    response = http.request(method, "/")
    assert response.status_code == 405
    check(response)
