"""Compiled ``*`` / ``?`` patterns for Action, Resource and ``StringLike``.

A policy element is a list of patterns; a request value matches the element when it matches any of
them.  Patterns are compiled once into a :class:`PatternSet` that answers with the cheapest test
that works: a bare ``*`` matches everything, literal patterns become a set lookup, and only the
patterns that really hold a wildcard go into one combined regular expression.

``*`` matches any run of characters, including none and including ``:`` and ``/`` (Alibaba's
resource patterns such as ``acs:oss:*:*:mybucket/*`` rely on that); ``?`` matches exactly one
character.  There is no escape syntax: Alibaba documents none, so a literal ``*`` cannot be matched
except by a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _pattern_regex(pattern: str) -> str:
    # Escape the literal runs between wildcards as whole strings (one re.escape per run, not per char).
    pieces = re.split(r"([*?])", pattern)
    return "".join(".*" if p == "*" else "." if p == "?" else re.escape(p) for p in pieces if p)


def _is_prefix_pattern(pattern: str) -> bool:
    """``cen:Describe*``: one trailing star and no other wildcard, the commonest form by far."""
    return pattern.endswith("*") and not has_wildcard(pattern[:-1])


class PatternSet:
    """Matches a value against any of several wildcard patterns.

    ``ignore_case`` folds both patterns and values, which is how actions are compared (Alibaba:
    "the value of the Action element is not case-sensitive").  Resources and ``StringLike`` values
    are compared case-sensitively.  Prefix patterns (``abc*``) are answered with ``str.startswith``;
    only patterns with an inner or leading wildcard, or a ``?``, need the regular expression.
    """

    __slots__ = ("_exact", "_ignore_case", "_matches_all", "_prefixes", "_regex", "patterns")

    def __init__(self, patterns: Iterable[str], *, ignore_case: bool) -> None:
        self.patterns: tuple[str, ...] = tuple(patterns)
        self._ignore_case = ignore_case
        self._matches_all = "*" in self.patterns
        folded = [self._fold(p) for p in self.patterns]
        self._exact: frozenset[str] = frozenset(p for p in folded if not has_wildcard(p))
        self._prefixes: tuple[str, ...] = tuple(p[:-1] for p in folded if has_wildcard(p) and _is_prefix_pattern(p))
        wild = [p for p in folded if has_wildcard(p) and not _is_prefix_pattern(p)]
        self._regex: re.Pattern[str] | None = None
        if wild and not self._matches_all:
            # Patterns and values are both folded with str.lower(), so no IGNORECASE: the exact,
            # prefix and regex paths then agree on every character.
            self._regex = re.compile("|".join(f"(?:{_pattern_regex(p)})" for p in wild), re.DOTALL)

    def _fold(self, value: str) -> str:
        return value.lower() if self._ignore_case else value

    def matches(self, value: str) -> bool:
        """``value`` must already be folded (lower-cased) when the set ignores case."""
        if self._matches_all or value in self._exact:
            return True
        if self._prefixes and value.startswith(self._prefixes):
            return True
        return self._regex is not None and self._regex.fullmatch(value) is not None

    def matches_any(self, values: Iterable[str]) -> bool:
        return any(self.matches(v) for v in values)

    def __repr__(self) -> str:
        return f"PatternSet({list(self.patterns)!r}, ignore_case={self._ignore_case})"
