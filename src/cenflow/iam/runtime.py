"""The IAM pieces a running server holds, built once by the composition root (``app.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cenflow.iam.diagnostics import DiagnosticCodec
from cenflow.iam.enforcer import Enforcer
from cenflow.iam.keys import KeyStore, PrincipalLookup
from cenflow.iam.policy import PolicyCache
from cenflow.iam.secrets import SecretBox
from cenflow.iam.sts import CredentialResolver, TokenService
from cenflow.store.database import Database


@dataclass(frozen=True)
class IamRuntime:
    keys: KeyStore
    tokens: TokenService
    credentials: CredentialResolver
    cache: PolicyCache
    diagnostics: DiagnosticCodec
    enforcer: Enforcer

    @classmethod
    def build(cls, database: Database, box: SecretBox, account_id: str, clock: Callable[[], datetime]) -> IamRuntime:
        keys = KeyStore(database, box, PrincipalLookup(account_id))
        tokens = TokenService(database, box, clock=clock)
        cache = PolicyCache()
        diagnostics = DiagnosticCodec(box)
        return cls(keys, tokens, CredentialResolver(keys, tokens), cache, diagnostics, Enforcer(cache, diagnostics))
