"""Authenticating a request: which signature scheme, is it valid, is it fresh, is it new.

The checks run cheapest first: shape, timestamp, then the key lookup and HMAC, then the nonce
(claimed last so that an unauthenticated request cannot burn a legitimate caller's nonce).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from cenflow.iam.principal import Principal
from cenflow.wire import errors as e
from cenflow.wire.request import WireRequest
from cenflow.wire.signing import (
    V3_ALGORITHM,
    parse_v3_authorization,
    rpc_signature,
    rpc_string_to_sign,
    signatures_equal,
    v3_canonical_request,
    v3_signature,
    v3_string_to_sign,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

# Headers a V3 signature must cover: without them a signed request could be replayed later
# or against another host.
V3_REQUIRED_SIGNED = ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
# Headers that, when present, must be signed, because they change what the request does.
V3_SIGNED_WHEN_PRESENT = ("x-acs-action", "x-acs-version", "x-acs-security-token", "content-type")


@dataclass(frozen=True)
class ResolvedKey:
    secret: str
    principal: Principal


class KeyResolver(Protocol):
    def resolve(self, access_key_id: str, security_token: str | None, tx: Connection | None = None) -> ResolvedKey:
        """The secret and principal of a key; raises ``ApiError`` for unknown/inactive keys.

        With ``tx`` the lookup joins that transaction, otherwise it runs in its own."""


class NonceRegistry(Protocol):
    def claim(self, access_key_id: str, nonce: str, expires_at: datetime, tx: Connection | None = None) -> bool:
        """Record the nonce; ``False`` when it was already recorded and has not expired.

        With ``tx`` the record joins that transaction (and is undone if it rolls back)."""


@dataclass(frozen=True)
class NonceClaim:
    access_key_id: str
    nonce: str
    expires_at: datetime


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    access_key_id: str
    scheme: str  # "v1" or "v3"
    nonce: NonceClaim


class Authenticator:
    def __init__(
        self,
        keys: KeyResolver,
        nonces: NonceRegistry,
        *,
        max_skew: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keys = keys
        self._nonces = nonces
        self._max_skew = max_skew
        self._clock = clock

    def authenticate(self, request: WireRequest, tx: Connection | None = None) -> Authenticated:
        """Verify the request's signature and claim its nonce.

        With ``tx`` the key lookup and the nonce record are part of that transaction: the caller
        commits them with its work, and must call ``remember`` in a new transaction if that
        transaction rolls back, so that a failed call cannot be replayed either.
        """
        authorization = request.header("authorization")
        if authorization is not None and authorization.lstrip().startswith("ACS3-"):
            return self._v3(request, authorization, tx)
        if "Signature" in request.params:
            return self._v1(request, tx)
        if authorization is not None:
            raise e.INCOMPLETE_SIGNATURE("The Authorization header is not an ACS3 signature.")
        raise e.MISSING_PARAMETER(
            "Sign the request with an AccessKey (RPC Signature or an ACS3 Authorization header).",
            name="Signature",
        )

    # -- RPC v1 -----------------------------------------------------------------------------
    def remember(self, claim: NonceClaim, tx: Connection | None = None) -> None:
        """Record a nonce whose first claim was rolled back with a failed call (idempotent)."""
        self._nonces.claim(claim.access_key_id, claim.nonce, claim.expires_at, tx)

    def _v1(self, request: WireRequest, tx: Connection | None) -> Authenticated:
        params = request.params
        for name in ("AccessKeyId", "SignatureNonce", "Timestamp", "SignatureMethod"):
            if not params.get(name):
                raise e.MISSING_PARAMETER(name=name)
        method = params["SignatureMethod"]
        if method != "HMAC-SHA1":
            raise e.UNSUPPORTED_SIGNATURE(method=method)
        if params.get("SignatureVersion", "1.0") != "1.0":
            raise e.INVALID_PARAMETER("Only SignatureVersion 1.0 is supported.", name="SignatureVersion")
        signed_at = self._check_timestamp(params["Timestamp"])
        key_id = params["AccessKeyId"]
        key = self._keys.resolve(key_id, params.get("SecurityToken") or None, tx)
        string_to_sign = rpc_string_to_sign(request.method, params)
        if not signatures_equal(rpc_signature(key.secret, string_to_sign), params["Signature"]):
            raise e.SIGNATURE_DOES_NOT_MATCH(string_to_sign=string_to_sign)
        claim = self._claim(key_id, params["SignatureNonce"], signed_at, tx)
        return Authenticated(key.principal, key_id, "v1", claim)

    # -- V3 ---------------------------------------------------------------------------------
    def _v3(self, request: WireRequest, header: str, tx: Connection | None) -> Authenticated:
        auth = parse_v3_authorization(header)
        if auth is None:
            raise e.INCOMPLETE_SIGNATURE(
                "Expected: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b;...>,Signature=<hex>."
            )
        if auth.algorithm != V3_ALGORITHM:
            raise e.UNSUPPORTED_SIGNATURE(method=auth.algorithm)
        signed = set(auth.signed_headers)
        for name in V3_REQUIRED_SIGNED:
            if request.header(name) is None:
                raise e.MISSING_PARAMETER(name=name)
            if name not in signed:
                raise e.INCOMPLETE_SIGNATURE(f'The header "{name}" must be in SignedHeaders.')
        for name in V3_SIGNED_WHEN_PRESENT:
            if request.header(name) is not None and name not in signed:
                raise e.INCOMPLETE_SIGNATURE(f'The header "{name}" must be in SignedHeaders.')
        signed_at = self._check_timestamp(request.headers["x-acs-date"])
        token = request.header("x-acs-security-token")
        key = self._keys.resolve(auth.access_key_id, token, tx)
        payload_hash = request.headers["x-acs-content-sha256"]
        canonical = v3_canonical_request(
            request.method, request.path, request.query, request.headers, auth.signed_headers, payload_hash
        )
        string_to_sign = v3_string_to_sign(canonical)
        if not signatures_equal(v3_signature(key.secret, string_to_sign), auth.signature):
            raise e.SIGNATURE_DOES_NOT_MATCH(string_to_sign=string_to_sign.replace("\n", "\\n"))
        if not signatures_equal(hashlib.sha256(request.body).hexdigest(), payload_hash.lower()):
            raise e.CONTENT_SHA256_MISMATCH()
        claim = self._claim(auth.access_key_id, request.headers["x-acs-signature-nonce"], signed_at, tx)
        return Authenticated(key.principal, auth.access_key_id, "v3", claim)

    # -- shared -----------------------------------------------------------------------------
    def _check_timestamp(self, value: str) -> datetime:
        signed_at = parse_timestamp(value)
        if signed_at is None:
            raise e.TIMESTAMP_FORMAT(value=value[:64])
        now = self._clock()
        if abs(now - signed_at) > self._max_skew:
            raise e.TIMESTAMP_EXPIRED(
                value=value,
                window=int(self._max_skew.total_seconds() // 60),
                now=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        return signed_at

    def _claim(self, key_id: str, nonce: str, signed_at: datetime, tx: Connection | None) -> NonceClaim:
        if not nonce or len(nonce) > 128:
            raise e.INVALID_PARAMETER("The nonce must be 1 to 128 characters.", name="SignatureNonce")
        # A nonce must be remembered for as long as its timestamp would still be accepted.
        claim = NonceClaim(key_id, nonce, signed_at + self._max_skew + timedelta(minutes=1))
        if not self._nonces.claim(claim.access_key_id, claim.nonce, claim.expires_at, tx):
            raise e.NONCE_USED()
        return claim


@functools.lru_cache(maxsize=256)  # every call in the same second sends the same timestamp
def parse_timestamp(value: str) -> datetime | None:
    """``YYYY-MM-DDThh:mm:ssZ`` (optionally with fractional seconds); UTC only."""
    if not value.endswith("Z") or len(value) > 40:
        return None
    text = value[:-1]
    for pattern in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
