"""STS temporary credentials: issuing them (AssumeRole) and resolving them on every request.

Token design: the ``SecurityToken`` is a Fernet token (AES-128-CBC + HMAC-SHA256, authenticated
encryption) under a key derived from the master key for this purpose only.  It carries everything
the server needs to verify a request signed with the temporary key: the ``STS.`` AccessKeyId it
belongs to, that key's secret, the account, the role (id and name), the session name, the session
policy and the expiry.  Nothing is stored per session, so issuing scales with nothing and a database
dump reveals no session.

On every request the token must decrypt and authenticate (a forged or altered token does not), name
the AccessKeyId the request was signed with, be unexpired (by the server's clock), and its role must
still exist under the same id and name: deleting the role ends its sessions at once.  That last
check is one primary-key read.  Decrypting is cached per token string (tokens cannot be forged, so
a cache hit is as good as a decryption); expiry and the role are checked on every request.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from cenflow.iam import directory
from cenflow.iam.keys import KeyStore
from cenflow.iam.principal import Principal, PrincipalType
from cenflow.iam.secrets import SecretBox
from cenflow.store.database import Database
from cenflow.wire import errors as e
from cenflow.wire.auth import ResolvedKey

STS_KEY_PREFIX = "STS."
TOKEN_PURPOSE = "cenflow sts security token v1"  # noqa: S105 - an HKDF label, not a secret
_ALPHANUMERIC = string.ascii_letters + string.digits


@dataclass(frozen=True)
class SessionClaims:
    access_key_id: str
    secret: str
    account_id: str
    role_id: str
    role_name: str
    session_name: str
    issued_at: datetime
    expires_at: datetime
    policy: str | None = None
    source_identity: str | None = None

    def principal(self) -> Principal:
        return session_principal(self)


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret: str
    security_token: str
    expires_at: datetime
    claims: SessionClaims


def session_arn(account_id: str, role_name: str, session_name: str) -> str:
    """The identity of a role session, as GetCallerIdentity reports it."""
    return f"acs:ram::{account_id}:assumed-role/{role_name}/{session_name}"


def session_principal(claims: SessionClaims) -> Principal:
    return Principal(
        type=PrincipalType.ROLE_SESSION,
        account_id=claims.account_id,
        principal_id=claims.role_id,
        name=claims.role_name,
        arn=session_arn(claims.account_id, claims.role_name, claims.session_name),
        session_name=claims.session_name,
        session_policy=claims.policy,
    )


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def _instant(value: Any) -> datetime:
    if not isinstance(value, int):
        raise ValueError("not an epoch")
    return datetime.fromtimestamp(value, UTC)


class TokenService:
    def __init__(
        self,
        database: Database,
        box: SecretBox,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_size: int = 4096,
    ) -> None:
        self._db = database
        self._box = box.derive(TOKEN_PURPOSE)
        self._clock = clock
        self._decode = lru_cache(maxsize=cache_size)(self._decode_uncached)

    def issue(
        self,
        *,
        account_id: str,
        role: directory.Role,
        session_name: str,
        duration: timedelta,
        now: datetime,
        policy: str | None = None,
        source_identity: str | None = None,
    ) -> IssuedCredentials:
        access_key_id = STS_KEY_PREFIX + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(28))
        secret = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))
        issued_at = now.replace(microsecond=0)
        claims = SessionClaims(
            access_key_id=access_key_id,
            secret=secret,
            account_id=account_id,
            role_id=role.role_id,
            role_name=role.role_name,
            session_name=session_name,
            issued_at=issued_at,
            expires_at=issued_at + duration,
            policy=policy,
            source_identity=source_identity,
        )
        payload = {
            "k": claims.access_key_id,
            "s": claims.secret,
            "a": claims.account_id,
            "r": claims.role_id,
            "n": claims.role_name,
            "sn": claims.session_name,
            "i": _epoch(claims.issued_at),
            "e": _epoch(claims.expires_at),
            "p": claims.policy,
            "si": claims.source_identity,
        }
        token = self._box.seal(json.dumps(payload, separators=(",", ":"))).decode("ascii")
        return IssuedCredentials(access_key_id, secret, token, claims.expires_at, claims)

    def _decode_uncached(self, token: str) -> SessionClaims:
        try:
            payload = json.loads(self._box.open(token.encode("ascii")))
            return SessionClaims(
                access_key_id=str(payload["k"]),
                secret=str(payload["s"]),
                account_id=str(payload["a"]),
                role_id=str(payload["r"]),
                role_name=str(payload["n"]),
                session_name=str(payload["sn"]),
                issued_at=_instant(payload["i"]),
                expires_at=_instant(payload["e"]),
                policy=payload.get("p"),
                source_identity=payload.get("si"),
            )
        except (ValueError, KeyError, TypeError, UnicodeError):
            raise e.SECURITY_TOKEN_INVALID() from None

    def claims(self, token: str) -> SessionClaims:
        """The token's claims if it was issued here (any age); raises ``InvalidSecurityToken.Malformed``."""
        if not token or len(token) > 16384:
            raise e.SECURITY_TOKEN_INVALID()
        return self._decode(token)

    def resolve(self, access_key_id: str, token: str | None, tx: Connection | None = None) -> ResolvedKey:
        if not token:
            raise e.SECURITY_TOKEN_INVALID("A temporary AccessKey (STS.*) is used with its SecurityToken.")
        claims = self.claims(token)
        if claims.access_key_id != access_key_id:
            raise e.SECURITY_TOKEN_MISMATCH()
        if self._clock() >= claims.expires_at:
            raise e.SECURITY_TOKEN_EXPIRED()
        with self._db.read(within=tx) as conn:
            role = directory.role_by_id(conn, claims.role_id)
        if role is None or role.role_name != claims.role_name:
            raise e.SECURITY_TOKEN_INVALID("The role of this session no longer exists.")
        return ResolvedKey(secret=claims.secret, principal=claims.principal())


class CredentialResolver:
    """The server's ``KeyResolver``: STS keys through their token, every other key through the store.

    A SecurityToken sent with a permanent AccessKey is refused rather than ignored: whoever sent it
    believes the request runs as a role session, and it would not.
    """

    def __init__(self, keys: KeyStore, tokens: TokenService) -> None:
        self.keys = keys
        self.tokens = tokens

    def resolve(self, access_key_id: str, security_token: str | None, tx: Connection | None = None) -> ResolvedKey:
        if access_key_id.startswith(STS_KEY_PREFIX):
            return self.tokens.resolve(access_key_id, security_token, tx)
        if security_token:
            raise e.SECURITY_TOKEN_MISMATCH()
        return self.keys.resolve(access_key_id, None, tx)
