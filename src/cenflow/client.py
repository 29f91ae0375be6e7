"""A small signed RPC client (V3 ACS3-HMAC-SHA256) for cenflow's own commands.

``cenflow topology apply`` and the benchmarks talk to a running server through the same public
API as any SDK; this keeps the official SDKs out of cenflow's runtime dependencies.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cenflow.wire.signing import (
    V3_ALGORITHM,
    percent_encode,
    v3_canonical_request,
    v3_signature,
    v3_string_to_sign,
)

CBN_VERSION = "2017-09-12"


class RpcError(Exception):
    def __init__(self, code: str, message: str, status: int, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id


def flatten(params: Mapping[str, Any]) -> dict[str, str]:
    """SDK-style flattening: lists become ``Name.N``, dicts ``Name.Field``; booleans ``true``/``false``."""
    flat: dict[str, str] = {}

    def put(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            flat[prefix] = "true" if value else "false"
        elif isinstance(value, Mapping):
            for key, item in value.items():
                put(f"{prefix}.{key}", item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value, start=1):
                put(f"{prefix}.{index}", item)
        else:
            flat[prefix] = str(value)

    for name, value in params.items():
        put(name, value)
    return flat


class RpcClient:
    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        *,
        security_token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.endpoint = endpoint.removeprefix("http://").rstrip("/")
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.security_token = security_token
        self.timeout = timeout

    def call(self, action: str, params: Mapping[str, Any] | None = None, *, version: str = CBN_VERSION) -> Any:
        query = flatten(params or {})
        headers = {
            "host": self.endpoint,
            "x-acs-action": action,
            "x-acs-version": version,
            "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
            "accept": "application/json",
            # urllib always sends one with a POST body; the signature must cover it.
            "content-type": "application/x-www-form-urlencoded",
        }
        if self.security_token:
            headers["x-acs-security-token"] = self.security_token
        signed = sorted(headers)
        canonical = v3_canonical_request("POST", "/", query, headers, signed, headers["x-acs-content-sha256"])
        signature = v3_signature(self._secret, v3_string_to_sign(canonical))
        headers["authorization"] = (
            f"{V3_ALGORITHM} Credential={self.access_key_id},SignedHeaders={';'.join(signed)},Signature={signature}"
        )
        url = f"http://{self.endpoint}/?" + "&".join(
            f"{quote(k, safe='')}={percent_encode(v)}" for k, v in query.items()
        )
        request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            body: dict[str, Any] = {}
            with contextlib.suppress(ValueError):
                body = json.loads(error.read())
            raise RpcError(
                str(body.get("Code", "HTTPError")),
                str(body.get("Message", error.reason)),
                error.code,
                body.get("RequestId"),
            ) from None
