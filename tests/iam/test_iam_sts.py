"""STS tokens: issued, resolved, and refused when expired, forged, mismatched or orphaned; the server's
credential resolver that routes STS keys to them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from iam_support import ACCOUNT, NOW, allow, document

from cenflow.errors import ApiError
from cenflow.iam import directory, keys
from cenflow.iam.diagnostics import DiagnosticCodec
from cenflow.iam.keys import KeyStore, PrincipalLookup
from cenflow.iam.principal import PrincipalType
from cenflow.iam.secrets import SecretBox
from cenflow.iam.sts import CredentialResolver, IssuedCredentials, TokenService
from cenflow.store.database import Database


class Clock:
    def __init__(self) -> None:
        self.now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def trust() -> str:
    principal = {"RAM": [f"acs:ram::{ACCOUNT}:root"]}
    return document({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal})


def make_role(database: Database, name: str = "reader") -> directory.Role:
    with database.write() as tx:
        return directory.create_role(tx, ACCOUNT, NOW, name, trust())


def issue(tokens: TokenService, role: directory.Role, policy: str | None = None) -> IssuedCredentials:
    return tokens.issue(
        account_id=ACCOUNT, role=role, session_name="sess", duration=timedelta(hours=1), now=NOW, policy=policy
    )


def code(call: Callable[..., object], *args: object) -> str:
    with pytest.raises(ApiError) as failure:
        call(*args)
    return str(failure.value.code)


def test_a_token_resolves_to_the_role_session(database: Database, box: SecretBox) -> None:
    clock = Clock()
    tokens = TokenService(database, box, clock=clock)
    role = make_role(database)
    session_policy = document(allow("cen:Describe*"))
    issued = issue(tokens, role, policy=session_policy)
    assert issued.access_key_id.startswith("STS.")
    assert issued.expires_at == NOW + timedelta(hours=1)
    resolved = tokens.resolve(issued.access_key_id, issued.security_token)
    assert resolved.secret == issued.secret
    principal = resolved.principal
    assert principal.type is PrincipalType.ROLE_SESSION
    assert (principal.principal_id, principal.name, principal.session_name) == (role.role_id, "reader", "sess")
    assert principal.arn == f"acs:ram::{ACCOUNT}:assumed-role/reader/sess"
    assert principal.session_policy == session_policy
    # The secret is inside the token, sealed: the token text does not reveal it.
    assert issued.secret not in issued.security_token


def test_expiry_is_checked_on_every_request(database: Database, box: SecretBox) -> None:
    clock = Clock()
    tokens = TokenService(database, box, clock=clock)
    issued = issue(tokens, make_role(database))
    clock.now = NOW + timedelta(minutes=59, seconds=59)
    tokens.resolve(issued.access_key_id, issued.security_token)
    clock.now = NOW + timedelta(hours=1)
    assert code(tokens.resolve, issued.access_key_id, issued.security_token) == "InvalidSecurityToken.Expired"


def test_forged_tokens_are_malformed(database: Database, box: SecretBox) -> None:
    tokens = TokenService(database, box, clock=Clock())
    role = make_role(database)
    issued = issue(tokens, role)
    token = issued.security_token
    for forged in (
        token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
        token[:30] + token[31:],
        "not-a-token",
        "",
        "x" * 20000,
    ):
        assert code(tokens.resolve, issued.access_key_id, forged) == "InvalidSecurityToken.Malformed", forged
    # Sealed with another master key, or with the master key itself rather than the STS key.
    elsewhere = issue(TokenService(database, SecretBox(Fernet.generate_key())), role)
    assert code(tokens.resolve, elsewhere.access_key_id, elsewhere.security_token) == "InvalidSecurityToken.Malformed"
    sealed_secret = box.seal("some AccessKey secret").decode()
    assert code(tokens.resolve, issued.access_key_id, sealed_secret) == "InvalidSecurityToken.Malformed"
    diagnostic = DiagnosticCodec(box).encode({"AccountId": ACCOUNT})
    assert code(tokens.resolve, issued.access_key_id, diagnostic) == "InvalidSecurityToken.Malformed"
    assert code(tokens.resolve, issued.access_key_id, None) == "InvalidSecurityToken.Malformed"


def test_a_token_belongs_to_its_access_key(database: Database, box: SecretBox) -> None:
    tokens = TokenService(database, box, clock=Clock())
    role = make_role(database)
    first, second = issue(tokens, role), issue(tokens, role)
    assert (
        code(tokens.resolve, first.access_key_id, second.security_token) == "InvalidSecurityToken.MismatchWithAccessKey"
    )


def test_deleting_the_role_ends_its_sessions(database: Database, box: SecretBox) -> None:
    tokens = TokenService(database, box, clock=Clock())
    issued = issue(tokens, make_role(database))
    tokens.resolve(issued.access_key_id, issued.security_token)
    with database.write() as tx:
        directory.delete_role(tx, ACCOUNT, "reader")
    assert code(tokens.resolve, issued.access_key_id, issued.security_token) == "InvalidSecurityToken.Malformed"
    # A new role of the same name is another role: the old sessions stay dead.
    make_role(database)
    assert code(tokens.resolve, issued.access_key_id, issued.security_token) == "InvalidSecurityToken.Malformed"


def test_decryption_is_cached_per_token(database: Database, box: SecretBox) -> None:
    tokens = TokenService(database, box, clock=Clock())
    issued = issue(tokens, make_role(database))
    for _ in range(3):
        tokens.resolve(issued.access_key_id, issued.security_token)
    info = tokens._decode.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_credential_resolver_routes_sts_keys_to_tokens(database: Database, box: SecretBox) -> None:
    store = KeyStore(database, box, PrincipalLookup(ACCOUNT))
    tokens = TokenService(database, box, clock=Clock())
    resolver = CredentialResolver(store, tokens)
    with database.write() as tx:
        user = directory.create_user(tx, ACCOUNT, NOW, "alice")
        record, secret = store.create(tx, keys.USER, user.user_id, NOW)
    resolved = resolver.resolve(record.access_key_id, None)
    assert (resolved.secret, resolved.principal.name) == (secret, "alice")
    assert resolved.principal.type is PrincipalType.USER
    issued = issue(tokens, make_role(database))
    assert resolver.resolve(issued.access_key_id, issued.security_token).principal.name == "reader"
    # A token with a permanent key, or an STS key without its token, is refused.
    assert code(resolver.resolve, record.access_key_id, issued.security_token) == (
        "InvalidSecurityToken.MismatchWithAccessKey"
    )
    assert code(resolver.resolve, issued.access_key_id, None) == "InvalidSecurityToken.Malformed"
    assert code(resolver.resolve, "STS.unknown", None) == "InvalidSecurityToken.Malformed"


def test_user_keys_follow_the_user(database: Database, box: SecretBox) -> None:
    store = KeyStore(database, box, PrincipalLookup(ACCOUNT))
    with database.write() as tx:
        user = directory.create_user(tx, ACCOUNT, NOW, "bob")
        record, _ = store.create(tx, keys.USER, user.user_id, NOW)
        directory.update_user(tx, ACCOUNT, NOW, "bob", new_name="robert")
    resolved = store.resolve(record.access_key_id, None)
    assert resolved.principal.name == "robert"
    assert resolved.principal.arn == f"acs:ram::{ACCOUNT}:user/robert"
    with database.write() as tx:
        keys.set_status(tx, keys.USER, user.user_id, record.access_key_id, "Inactive")
    assert code(store.resolve, record.access_key_id, None) == "InvalidAccessKeyId.Inactive"
    with database.write() as tx:
        keys.delete_key(tx, keys.USER, user.user_id, record.access_key_id)
    assert code(store.resolve, record.access_key_id, None) == "InvalidAccessKeyId.NotFound"
