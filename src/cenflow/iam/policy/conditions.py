"""The ``Condition`` element: operators, condition keys, and how a block is evaluated.

Logic (Alibaba's documented rules, plus our choices where its documentation is silent):

* Several values for one key under one operator are OR'd; several keys under one operator, and
  several operators in one block, are AND'd (documented).
* A negated operator (``StringNotEquals``, ``StringNotEqualsIgnoreCase``, ``StringNotLike``,
  ``NumericNotEquals``, ``DateNotEquals``, ``NotIpAddress``) is the exact negation of its positive
  twin: it holds when the request's value matches *none* of the listed values (NOR).  Alibaba does
  not spell this out; it is the only reading under which "not equals [a, b]" means "neither a nor b".
* A key absent from the request makes every positive operator false and every negated operator
  true (again the exact negation).  So ``Allow ... NotIpAddress`` applies to a request with no
  source address, and ``Deny ... IpAddress`` does not.  Alibaba is silent here too.
* A request value that cannot be read as the operator's type (a source "IP" that is not an
  address) matches no policy value: positive operators are false, negated ones true.
* A request key may carry several values (a tuple or list); a positive operator holds if any of them
  matches any policy value.
* Operators are case-sensitive, as Alibaba states for element names and operators.  Condition key
  *names* are compared case-insensitively (``acs:sourceip`` is ``acs:SourceIp``); Alibaba does not
  say, but its keys are fixed identifiers and folding them can only prevent silent mismatches.  The
  tag key after ``acs:ResourceTag/`` or ``acs:RequestTag/`` keeps its case, because Alibaba tag keys
  are case-sensitive data, not identifiers.
* ``Bool`` takes exactly one value (Alibaba's checker refuses "multiple Boolean values").
* ``...IfExists`` and ``Null`` operators are not part of Alibaba's documented set and are refused.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cenflow.iam.policy import values as v
from cenflow.iam.policy.errors import GrammarError
from cenflow.iam.policy.wildcard import PatternSet

SOURCE_IP: Final = "acs:SourceIp"
CURRENT_TIME: Final = "acs:CurrentTime"
SECURE_TRANSPORT: Final = "acs:SecureTransport"
MFA_PRESENT: Final = "acs:MFAPresent"
RESOURCE_TAG_PREFIX: Final = "acs:ResourceTag/"
REQUEST_TAG_PREFIX: Final = "acs:RequestTag/"

_TAG_PREFIXES = (RESOURCE_TAG_PREFIX.lower(), REQUEST_TAG_PREFIX.lower())
# <ram-code>:<condition-key>, Alibaba's documented key format.  The key part may hold '/' (tag keys,
# oss:Prefix-style keys) but no whitespace or control characters.
_KEY_FORMAT = re.compile(r"[A-Za-z][A-Za-z0-9-]*:[^\s\x00-\x1f]+")

Test = Callable[[v.ContextScalar], bool]
_MISSING: Final = object()


def normalize_key(key: str) -> str:
    """The form condition keys are compared in: folded, except the tag key of a tag condition."""
    folded = key.lower()
    for prefix in _TAG_PREFIXES:
        if folded.startswith(prefix):
            return prefix + key[len(prefix) :]
    return folded


def validate_key(key: str) -> None:
    if not _KEY_FORMAT.fullmatch(key):
        raise GrammarError(f"condition key {key!r} is not of the form <ram-code>:<condition-key>.")
    folded = key.lower()
    if any(folded.startswith(prefix) and len(key) == len(prefix) for prefix in _TAG_PREFIXES):
        raise GrammarError(f"condition key {key!r} names no tag key after the '/'.")


def _string_test(policy_values: Sequence[str], fold: bool) -> Test:
    if fold:
        folded = frozenset(p.casefold() for p in policy_values)
        return lambda value: v.request_text(value).casefold() in folded
    exact = frozenset(policy_values)
    return lambda value: v.request_text(value) in exact


def _like_test(policy_values: Sequence[str]) -> Test:
    patterns = PatternSet(policy_values, ignore_case=False)
    return lambda value: patterns.matches(v.request_text(value))


def _numeric_test(compare: Callable[[Any, Any], bool]) -> Callable[[Sequence[str]], Test]:
    def build(policy_values: Sequence[str]) -> Test:
        numbers = tuple(v.policy_number(p) for p in policy_values)

        def test(value: v.ContextScalar) -> bool:
            number = v.request_number(value)
            return number is not None and any(compare(number, n) for n in numbers)

        return test

    return build


def _date_test(compare: Callable[[Any, Any], bool]) -> Callable[[Sequence[str]], Test]:
    def build(policy_values: Sequence[str]) -> Test:
        instants = tuple(v.policy_datetime(p) for p in policy_values)

        def test(value: v.ContextScalar) -> bool:
            instant = v.request_datetime(value)
            return instant is not None and any(compare(instant, i) for i in instants)

        return test

    return build


def _bool_test(policy_values: Sequence[str]) -> Test:
    if len(policy_values) != 1:
        raise GrammarError("a Bool condition takes exactly one value.")
    expected = v.policy_bool(policy_values[0])
    return lambda value: v.request_bool(value) is expected


def _ip_test(policy_values: Sequence[str]) -> Test:
    networks = tuple(v.policy_network(p) for p in policy_values)

    def test(value: v.ContextScalar) -> bool:
        address = v.request_address(value)
        return address is not None and any(address in network for network in networks)

    return test


@dataclass(frozen=True)
class _Operator:
    positive: Callable[[Sequence[str]], Test]
    negated: bool


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}

OPERATORS: dict[str, _Operator] = {
    "StringEquals": _Operator(lambda p: _string_test(p, fold=False), negated=False),
    "StringNotEquals": _Operator(lambda p: _string_test(p, fold=False), negated=True),
    "StringEqualsIgnoreCase": _Operator(lambda p: _string_test(p, fold=True), negated=False),
    "StringNotEqualsIgnoreCase": _Operator(lambda p: _string_test(p, fold=True), negated=True),
    "StringLike": _Operator(_like_test, negated=False),
    "StringNotLike": _Operator(_like_test, negated=True),
    "Bool": _Operator(_bool_test, negated=False),
    "IpAddress": _Operator(_ip_test, negated=False),
    "NotIpAddress": _Operator(_ip_test, negated=True),
}
for _suffix, _compare in _COMPARISONS.items():
    OPERATORS[f"Numeric{_suffix}"] = _Operator(_numeric_test(_compare), negated=False)
    OPERATORS[f"Date{_suffix}"] = _Operator(_date_test(_compare), negated=False)
OPERATORS["NumericNotEquals"] = _Operator(_numeric_test(operator.eq), negated=True)
OPERATORS["DateNotEquals"] = _Operator(_date_test(operator.eq), negated=True)


class Condition:
    """One ``operator: {key: values}`` entry, compiled."""

    __slots__ = ("_test", "key", "key_as_written", "negated", "operator", "values")

    def __init__(self, operator_name: str, key: str, policy_values: Sequence[str]) -> None:
        spec = OPERATORS.get(operator_name)
        if spec is None:
            raise GrammarError(f"{operator_name!r} is not a supported condition operator.")
        validate_key(key)
        self.operator = operator_name
        self.key_as_written = key
        self.key = normalize_key(key)
        self.values = tuple(policy_values)
        self.negated = spec.negated
        self._test = spec.positive(self.values)

    def holds(self, context: Mapping[str, v.ContextValue]) -> bool:
        raw = context.get(self.key, _MISSING)
        if raw is _MISSING:
            return self.negated
        if isinstance(raw, tuple | list):
            return any(self._test(value) for value in raw) != self.negated
        return self._test(raw) != self.negated  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Condition({self.operator}, {self.key_as_written!r}, {list(self.values)!r})"


def condition_values(raw: object, where: str) -> tuple[str, ...]:
    """A condition's value(s): a string or a non-empty list of strings.

    Alibaba's grammar asks for numbers and Booleans to be quoted; we also accept bare JSON numbers
    and ``true``/``false`` because refusing them would only reject documents whose meaning is
    unambiguous.  They are read as text: Booleans as ``"true"``/``"false"``, integers in decimal,
    floats as Python writes them (``1e2`` becomes ``"100.0"``, which still compares as 100).
    """
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise GrammarError(f"{where} lists no values.")
    texts: list[str] = []
    for item in items:
        if isinstance(item, bool):
            texts.append("true" if item else "false")
        elif isinstance(item, str):
            texts.append(item)
        elif isinstance(item, int | float):
            texts.append(repr(item))
        else:
            raise GrammarError(f"{where} holds a {type(item).__name__} value; values are strings.")
    return tuple(texts)


def parse_condition_block(raw: object, where: str) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise GrammarError(f"{where} must be an object of operators.")
    conditions: list[Condition] = []
    for operator_name, entries in raw.items():
        here = f"{where}.{operator_name}"
        if operator_name not in OPERATORS:
            raise GrammarError(f"{here}: {operator_name!r} is not a supported condition operator.")
        if not isinstance(entries, dict) or not entries:
            raise GrammarError(f"{here} must be a non-empty object of condition keys.")
        for key, raw_values in entries.items():
            policy_values = condition_values(raw_values, f"{here}.{key}")
            try:
                conditions.append(Condition(operator_name, key, policy_values))
            except GrammarError as error:
                raise GrammarError(f"{here}.{key}: {error.detail}") from None
    return tuple(conditions)
