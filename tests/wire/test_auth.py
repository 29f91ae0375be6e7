"""cenflow.wire.auth.Authenticator with in-memory keys and nonces and an injected clock.

Requests are signed with the SDKs' own signing functions (``alibabacloud_tea_openapi.utils``), so
the authenticator is checked against the clients it has to accept, not against itself.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from alibabacloud_tea_openapi.utils import Utils

from cenflow.errors import ApiError
from cenflow.iam.principal import root_principal
from cenflow.wire import errors as e
from cenflow.wire.auth import Authenticator, ResolvedKey
from cenflow.wire.request import WireRequest
from cenflow.wire.signing import EMPTY_SHA256, rpc_string_to_sign

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
KEY_ID = "LTAI5tUnitTestKey000001"
SECRET = "UnitTestSecret0123456789abcdef"
OTHER_KEY_ID = "LTAI5tUnitTestKey000002"
ACCOUNT = "1234567890123456"


class FakeKeys:
    def __init__(self) -> None:
        self.keys = {
            KEY_ID: ResolvedKey(SECRET, root_principal(ACCOUNT)),
            OTHER_KEY_ID: ResolvedKey("OtherSecret", root_principal(ACCOUNT)),
        }
        self.calls: list[tuple[str, str | None]] = []

    def resolve(self, access_key_id: str, security_token: str | None, tx: object = None) -> ResolvedKey:
        self.calls.append((access_key_id, security_token))
        try:
            return self.keys[access_key_id]
        except KeyError:
            raise e.ACCESS_KEY_NOT_FOUND() from None


class FakeNonces:
    def __init__(self) -> None:
        self.claimed: dict[tuple[str, str], datetime] = {}

    def claim(self, access_key_id: str, nonce: str, expires_at: datetime, tx: object = None) -> bool:
        if (access_key_id, nonce) in self.claimed:
            return False
        self.claimed[(access_key_id, nonce)] = expires_at
        return True


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys()


@pytest.fixture
def nonces() -> FakeNonces:
    return FakeNonces()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(keys: FakeKeys, nonces: FakeNonces, clock: Clock) -> Authenticator:
    return Authenticator(keys, nonces, clock=clock)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- building signed requests ------------------------------------------------------------------
def v1_request(
    extra: Mapping[str, str] | None = None,
    *,
    drop: tuple[str, ...] = (),
    secret: str = SECRET,
    method: str = "POST",
    form: Mapping[str, str] | None = None,
    signed_at: datetime = NOW,
    nonce: str | None = None,
) -> WireRequest:
    """An RPC v1 request as stack C sends it, signed with stack A's ``get_rpcsignature``."""
    params = {
        "Action": "DescribeChildInstanceRegions",
        "Version": "2017-09-12",
        "Format": "JSON",
        "Timestamp": stamp(signed_at),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureType": "",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "AccessKeyId": KEY_ID,
        "RegionId": "cn-hangzhou",
    }
    params.update(extra or {})
    for name in drop:
        params.pop(name, None)
    form = dict(form or {})
    params["Signature"] = Utils.get_rpcsignature({**params, **form}, method, secret)
    return WireRequest(
        method=method,
        path="/",
        query=params,
        form=form,
        headers={"host": "127.0.0.1:8080", "x-acs-action": params.get("Action", "")},
        body=b"",
        source_ip="127.0.0.1",
    )


def v3_request(
    query: Mapping[str, str] | None = None,
    *,
    headers: Mapping[str, str | None] | None = None,
    unsigned: tuple[str, ...] = (),
    secret: str = SECRET,
    key_id: str = KEY_ID,
    body: bytes = b"",
    payload_hash: str | None = None,
    signed_at: datetime = NOW,
    algorithm: str = "ACS3-HMAC-SHA256",
) -> WireRequest:
    """A V3 request as stack A sends it, signed with stack A's ``get_authorization``.

    ``headers`` overrides (``None`` removes) the SDK's headers; ``unsigned`` headers are sent but
    left out of SignedHeaders.
    """
    query = dict(query or {"ProductType": "VPC"})
    payload = payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest()
    sent: dict[str, str] = {
        "host": "127.0.0.1:8080",
        "x-acs-version": "2017-09-12",
        "x-acs-action": "DescribeChildInstanceRegions",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-date": stamp(signed_at),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "accept": "application/json",
        "x-acs-content-sha256": payload,
        "x-acs-credentials-provider": "static_ak",
    }
    for name, value in (headers or {}).items():
        if value is None:
            sent.pop(name, None)
        else:
            sent[name] = value
    signed = {k: v for k, v in sent.items() if k not in unsigned}
    request = SimpleNamespace(method="POST", pathname="/", query=query, headers=signed)
    sent["authorization"] = Utils.get_authorization(request, algorithm, payload, key_id, secret)
    return WireRequest(method="POST", path="/", query=query, form={}, headers=sent, body=body, source_ip="127.0.0.1")


def refused(auth: Authenticator, request: WireRequest) -> ApiError:
    with pytest.raises(ApiError) as info:
        auth.authenticate(request)
    return info.value


# -- success -----------------------------------------------------------------------------------
def test_a_valid_rpc_v1_request_is_authenticated(auth: Authenticator) -> None:
    caller = auth.authenticate(v1_request())
    assert caller.scheme == "v1"
    assert caller.access_key_id == KEY_ID
    assert caller.principal == root_principal(ACCOUNT)


def test_a_valid_v1_request_of_stacks_a_and_b_is_authenticated(auth: Authenticator) -> None:
    # Stack A/B with signature_algorithm="v2": Format=json and no SignatureType.
    request = v1_request({"Format": "json"}, drop=("SignatureType", "RegionId"))
    assert auth.authenticate(request).scheme == "v1"


def test_a_get_v1_request_is_authenticated(auth: Authenticator) -> None:
    assert auth.authenticate(v1_request(method="GET")).scheme == "v1"


def test_v1_form_body_parameters_are_signed_with_the_query(auth: Authenticator) -> None:
    assert auth.authenticate(v1_request(form={"ProductType": "VPC"})).scheme == "v1"


def test_a_valid_v3_request_is_authenticated(auth: Authenticator) -> None:
    caller = auth.authenticate(v3_request())
    assert caller.scheme == "v3"
    assert caller.access_key_id == KEY_ID


def test_a_v3_request_with_a_form_body_is_authenticated(auth: Authenticator) -> None:
    body = b"ProductType=VPC"
    request = v3_request({}, body=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert auth.authenticate(request).scheme == "v3"


def test_v3_headers_added_by_the_http_library_need_not_be_signed(auth: Authenticator) -> None:
    request = v3_request(
        headers={"accept-encoding": "identity", "content-length": "0", "connection": "keep-alive"},
        unsigned=("accept-encoding", "content-length", "connection"),
    )
    assert auth.authenticate(request).scheme == "v3"


def test_the_v3_content_hash_may_be_upper_case(auth: Authenticator) -> None:
    request = v3_request(payload_hash=EMPTY_SHA256.upper())
    assert auth.authenticate(request).scheme == "v3"


def test_security_tokens_are_passed_to_the_key_resolver(auth: Authenticator, keys: FakeKeys) -> None:
    auth.authenticate(v1_request({"SecurityToken": "token-v1"}))
    auth.authenticate(v3_request(headers={"x-acs-security-token": "token-v3", "x-acs-accesskey-id": KEY_ID}))
    assert keys.calls == [(KEY_ID, "token-v1"), (KEY_ID, "token-v3")]


# -- the timestamp window ----------------------------------------------------------------------
@pytest.mark.parametrize("offset", [timedelta(0), timedelta(minutes=15), -timedelta(minutes=15)])
def test_timestamps_within_the_window_are_accepted(auth: Authenticator, offset: timedelta) -> None:
    auth.authenticate(v1_request(signed_at=NOW + offset))
    auth.authenticate(v3_request(signed_at=NOW + offset))


@pytest.mark.parametrize(
    "offset",
    [
        -timedelta(minutes=15, seconds=1),  # too old
        timedelta(minutes=15, seconds=1),  # too far in the future
        -timedelta(days=365),
        timedelta(days=365),
    ],
)
def test_timestamps_outside_the_window_are_expired(auth: Authenticator, offset: timedelta) -> None:
    for request in (v1_request(signed_at=NOW + offset), v3_request(signed_at=NOW + offset)):
        error = refused(auth, request)
        assert error.code == "InvalidTimeStamp.Expired"
        assert error.status == 400
        assert "15 minutes" in error.message
        assert stamp(NOW) in error.message


def test_the_window_is_configurable(keys: FakeKeys, nonces: FakeNonces, clock: Clock) -> None:
    auth = Authenticator(keys, nonces, max_skew=timedelta(minutes=5), clock=clock)
    auth.authenticate(v1_request(signed_at=NOW - timedelta(minutes=5)))
    assert refused(auth, v1_request(signed_at=NOW - timedelta(minutes=6))).code == "InvalidTimeStamp.Expired"


def test_the_clock_is_read_on_every_request(auth: Authenticator, clock: Clock) -> None:
    request = v1_request()
    clock.now = NOW + timedelta(minutes=16)
    assert refused(auth, request).code == "InvalidTimeStamp.Expired"


def test_fractional_seconds_are_accepted(auth: Authenticator) -> None:
    auth.authenticate(v1_request({"Timestamp": "2026-11-25T12:00:00.123Z"}))


@pytest.mark.parametrize(
    "value",
    ["2026-11-25 12:00:00", "2026-11-25T12:00:00", "2026-11-25T12:00:00+08:00", "1795608000", "yesterday", "Z"],
)
def test_malformed_timestamps_are_refused(auth: Authenticator, value: str) -> None:
    assert refused(auth, v1_request({"Timestamp": value})).code == "InvalidTimeStamp.Format"
    assert refused(auth, v3_request(headers={"x-acs-date": value})).code == "InvalidTimeStamp.Format"


def test_a_stale_request_is_refused_before_its_key_is_looked_up(auth: Authenticator, keys: FakeKeys) -> None:
    refused(auth, v1_request({"AccessKeyId": "LTAIunknown"}, signed_at=NOW - timedelta(hours=1)))
    assert keys.calls == []


# -- nonces ------------------------------------------------------------------------------------
def test_a_replayed_v1_request_is_refused(auth: Authenticator) -> None:
    request = v1_request()
    auth.authenticate(request)
    error = refused(auth, request)
    assert error.code == "SignatureNonceUsed"
    assert error.status == 400


def test_a_replayed_v3_request_is_refused(auth: Authenticator) -> None:
    request = v3_request()
    auth.authenticate(request)
    assert refused(auth, request).code == "SignatureNonceUsed"


def test_a_nonce_cannot_be_reused_in_a_different_request(auth: Authenticator) -> None:
    auth.authenticate(v1_request(nonce="same-nonce"))
    assert refused(auth, v1_request({"ProductType": "VBR"}, nonce="same-nonce")).code == "SignatureNonceUsed"


def test_nonces_are_per_access_key(auth: Authenticator) -> None:
    auth.authenticate(v1_request(nonce="shared"))
    auth.authenticate(v1_request({"AccessKeyId": OTHER_KEY_ID}, nonce="shared", secret="OtherSecret"))


def test_a_nonce_is_remembered_while_its_timestamp_could_be_accepted(auth: Authenticator, nonces: FakeNonces) -> None:
    signed_at = NOW - timedelta(minutes=3)
    auth.authenticate(v1_request(nonce="n1", signed_at=signed_at))
    assert nonces.claimed[(KEY_ID, "n1")] >= signed_at + timedelta(minutes=15)


def test_a_request_with_a_bad_signature_does_not_burn_the_nonce(auth: Authenticator) -> None:
    assert refused(auth, v1_request(nonce="n2", secret="wrong")).code == "SignatureDoesNotMatch"
    auth.authenticate(v1_request(nonce="n2"))


def test_a_stale_request_does_not_burn_the_nonce(auth: Authenticator) -> None:
    refused(auth, v1_request(nonce="n3", signed_at=NOW - timedelta(hours=1)))
    auth.authenticate(v1_request(nonce="n3"))


def test_a_request_with_an_unknown_key_does_not_burn_the_nonce(auth: Authenticator, nonces: FakeNonces) -> None:
    refused(auth, v1_request({"AccessKeyId": "LTAIunknown"}, nonce="n4"))
    assert nonces.claimed == {}


def test_nonce_length(auth: Authenticator) -> None:
    auth.authenticate(v1_request(nonce="n" * 128))
    error = refused(auth, v1_request(nonce="n" * 129))
    assert error.code == "InvalidParameter"
    assert "SignatureNonce" in error.message


# -- missing parts -----------------------------------------------------------------------------
def test_an_unsigned_request_misses_the_signature(auth: Authenticator) -> None:
    request = WireRequest("POST", "/", {"Action": "X"}, {}, {}, b"", "127.0.0.1")
    error = refused(auth, request)
    assert error.code == "MissingParameter"
    assert '"Signature"' in error.message


@pytest.mark.parametrize("name", ["AccessKeyId", "SignatureNonce", "Timestamp", "SignatureMethod"])
def test_v1_requests_need_every_signature_parameter(auth: Authenticator, name: str) -> None:
    error = refused(auth, v1_request(drop=(name,)))
    assert error.code == "MissingParameter"
    assert f'"{name}"' in error.message


def test_empty_v1_signature_parameters_count_as_missing(auth: Authenticator) -> None:
    assert refused(auth, v1_request({"SignatureNonce": ""})).code == "MissingParameter"


def test_v1_signature_method_must_be_hmac_sha1(auth: Authenticator) -> None:
    assert refused(auth, v1_request({"SignatureMethod": "HMAC-SHA256"})).code == "InvalidParameter.SignatureMethod"


def test_v1_signature_version_must_be_1_0(auth: Authenticator) -> None:
    error = refused(auth, v1_request({"SignatureVersion": "2.0"}))
    assert error.code == "InvalidParameter"
    assert "SignatureVersion" in error.message


@pytest.mark.parametrize("header", ["Bearer abc", "Basic dXNlcjpwYXNz", "HMAC-SHA1 x"])
def test_a_foreign_authorization_header_is_an_incomplete_signature(auth: Authenticator, header: str) -> None:
    request = WireRequest("POST", "/", {}, {}, {"authorization": header}, b"", "127.0.0.1")
    assert refused(auth, request).code == "IncompleteSignature"


@pytest.mark.parametrize(
    "header",
    [
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 Credential=ak",
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host",
        "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=Host,Signature=ab",
    ],
)
def test_an_incomplete_acs3_header_is_an_incomplete_signature(auth: Authenticator, header: str) -> None:
    request = v3_request()
    headers = {**request.headers, "authorization": header}
    error = refused(auth, WireRequest("POST", "/", request.query, {}, headers, b"", "127.0.0.1"))
    assert error.code == "IncompleteSignature"
    assert error.status == 400


def test_other_v3_algorithms_are_unsupported(auth: Authenticator) -> None:
    assert refused(auth, v3_request(algorithm="ACS3-HMAC-SM3")).code == "InvalidParameter.SignatureMethod"


@pytest.mark.parametrize("name", ["host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"])
def test_v3_requests_need_every_required_header(auth: Authenticator, name: str) -> None:
    error = refused(auth, v3_request(headers={name: None}))
    assert error.code == "MissingParameter"
    assert name in error.message


@pytest.mark.parametrize("name", ["host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"])
def test_v3_required_headers_must_be_signed(auth: Authenticator, name: str) -> None:
    error = refused(auth, v3_request(unsigned=(name,)))
    assert error.code == "IncompleteSignature"
    assert name in error.message


@pytest.mark.parametrize("name", ["x-acs-action", "x-acs-version", "x-acs-security-token", "content-type"])
def test_v3_headers_that_change_the_request_must_be_signed_when_present(auth: Authenticator, name: str) -> None:
    error = refused(auth, v3_request(headers={name: "x"}, unsigned=(name,)))
    assert error.code == "IncompleteSignature"
    assert name in error.message


# -- keys and signatures -----------------------------------------------------------------------
def test_an_unknown_access_key_is_not_found(auth: Authenticator) -> None:
    for request in (v1_request({"AccessKeyId": "LTAIunknown"}), v3_request(key_id="LTAIunknown")):
        error = refused(auth, request)
        assert error.code == "InvalidAccessKeyId.NotFound"
        assert error.status == 404


def test_a_wrong_v1_secret_reports_the_servers_string_to_sign(auth: Authenticator) -> None:
    request = v1_request(secret="wrong")
    error = refused(auth, request)
    assert error.code == "SignatureDoesNotMatch"
    assert error.status == 400
    # Stack C compares the text after the first ":" with its own string to sign.
    expected = rpc_string_to_sign("POST", {k: v for k, v in request.query.items() if k != "Signature"})
    assert error.message.split(":")[1] == expected


def test_a_wrong_v3_secret_does_not_match(auth: Authenticator) -> None:
    error = refused(auth, v3_request(secret="wrong"))
    assert error.code == "SignatureDoesNotMatch"
    assert "ACS3-HMAC-SHA256" in error.message


def test_a_v1_parameter_changed_after_signing_does_not_match(auth: Authenticator) -> None:
    request = v1_request({"ProductType": "VPC"})
    tampered = WireRequest("POST", "/", {**request.query, "ProductType": "VBR"}, {}, request.headers, b"", "127.0.0.1")
    assert refused(auth, tampered).code == "SignatureDoesNotMatch"


def test_a_v1_parameter_added_after_signing_does_not_match(auth: Authenticator) -> None:
    request = v1_request()
    tampered = WireRequest("POST", "/", request.query, {"ProductType": "VBR"}, request.headers, b"", "127.0.0.1")
    assert refused(auth, tampered).code == "SignatureDoesNotMatch"


def test_a_v1_request_signed_for_another_method_does_not_match(auth: Authenticator) -> None:
    request = v1_request(method="GET")
    moved = WireRequest("POST", "/", request.query, {}, request.headers, b"", "127.0.0.1")
    assert refused(auth, moved).code == "SignatureDoesNotMatch"


def test_a_v3_query_changed_after_signing_does_not_match(auth: Authenticator) -> None:
    request = v3_request({"ProductType": "VPC"})
    tampered = WireRequest("POST", "/", {"ProductType": "VBR"}, {}, request.headers, b"", "127.0.0.1")
    assert refused(auth, tampered).code == "SignatureDoesNotMatch"


def test_a_v3_signed_header_changed_after_signing_does_not_match(auth: Authenticator) -> None:
    request = v3_request()
    headers = {**request.headers, "x-acs-action": "DeleteFlowlog"}
    tampered = WireRequest("POST", "/", request.query, {}, headers, b"", "127.0.0.1")
    assert refused(auth, tampered).code == "SignatureDoesNotMatch"


def test_a_v3_request_sent_to_another_host_does_not_match(auth: Authenticator) -> None:
    request = v3_request()
    headers = {**request.headers, "host": "127.0.0.1:9999"}
    tampered = WireRequest("POST", "/", request.query, {}, headers, b"", "127.0.0.1")
    assert refused(auth, tampered).code == "SignatureDoesNotMatch"


def test_a_body_that_does_not_match_the_signed_content_hash_is_refused(auth: Authenticator) -> None:
    # The signature covers x-acs-content-sha256 (the empty-body hash), but a body was sent.
    request = v3_request(
        {}, body=b"ProductType=VPC", payload_hash=EMPTY_SHA256, headers={"content-type": "application/octet-stream"}
    )
    error = refused(auth, request)
    assert error.code == "InvalidParameter.ContentSHA256"
    assert error.status == 400


def test_the_content_hash_is_checked_only_for_a_valid_signature(auth: Authenticator) -> None:
    request = v3_request({}, body=b"x", payload_hash=EMPTY_SHA256, secret="wrong")
    assert refused(auth, request).code == "SignatureDoesNotMatch"
