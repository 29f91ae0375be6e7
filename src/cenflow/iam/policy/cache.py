"""Compiled policies, kept so each (policy, version) is parsed once.

The key is (policy type, policy name, version id): RAM names a policy version by those three.  The
document text is stored beside the compiled form and compared on every lookup, because a custom
policy can be deleted and created again under the same name, and its ``v1`` then holds a different
document; comparing strings of at most a few kilobytes costs far less than the parse it saves.

Safe to share between the gateway's worker threads: lookups are plain dict reads, and mutations
take a lock.  The cache is bounded; when full, the least recently compiled entry goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from cenflow.iam.policy.model import AttachedPolicy, CompiledPolicy, PolicyType
from cenflow.iam.policy.parser import parse_policy, parse_session_policy

CacheKey = tuple[PolicyType, str, str]


class PolicyCache:
    def __init__(self, max_entries: int = 4096) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._entries: OrderedDict[CacheKey, AttachedPolicy] = OrderedDict()
        # Session policies have no name; an STS token carries the document itself, so it is the key.
        self._sessions: OrderedDict[str, CompiledPolicy] = OrderedDict()
        self._lock = threading.Lock()
        self.compilations = 0  # how many documents were parsed; for tests and metrics

    def __len__(self) -> int:
        return len(self._entries) + len(self._sessions)

    def attached(self, policy_type: PolicyType, name: str, version: str, document: str) -> AttachedPolicy:
        """The compiled policy version, parsing ``document`` only when it is not cached yet.

        A stored document that no longer passes validation raises its ``ApiError``; documents are
        validated when written, so that means the stored data was changed behind RAM's back.
        """
        key = (policy_type, name, version)
        cached = self._entries.get(key)
        if cached is not None and cached.policy.document == document:
            return cached
        attached = AttachedPolicy(name, policy_type, version, parse_policy(document))
        with self._lock:
            self.compilations += 1
            self._entries[key] = attached
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return attached

    def compiled(self, policy_type: PolicyType, name: str, version: str, document: str) -> CompiledPolicy:
        return self.attached(policy_type, name, version, document).policy

    def session_policy(self, document: str) -> CompiledPolicy:
        """The compiled session policy of a role session (validated when the token was issued)."""
        cached = self._sessions.get(document)
        if cached is not None:
            return cached
        compiled = parse_session_policy(document)
        with self._lock:
            self.compilations += 1
            self._sessions[document] = compiled
            while len(self._sessions) > self._max_entries:
                self._sessions.popitem(last=False)
        return compiled

    def invalidate(self, policy_type: PolicyType, name: str, version: str | None = None) -> None:
        """Forget one version of a policy, or all of its versions (after DeletePolicy)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == policy_type and k[1] == name]:
                if version is None or key[2] == version:
                    del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sessions.clear()
