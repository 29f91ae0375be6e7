"""Reading a policy document's JSON and the elements every kind of policy shares.

Rules common to identity, session and trust policies (from Alibaba's "policy structure and syntax"
page unless noted):

* The document is one JSON object with ``Version`` (the string ``"1"``) and ``Statement``.
* Element names, operators and predefined values (``"Allow"``, ``"Deny"``, ``"1"``) are
  case-sensitive.
* An element that takes several values also takes a single one: ``"Action": "ecs:*"`` equals
  ``"Action": ["ecs:*"]``.  Because ``Statement`` is written as a list in the grammar, the same rule
  lets a document give a single statement object instead of a one-element list, and we accept that.
* Unknown elements are refused (Alibaba's checker: "Invalid policy element").  A JSON object with a
  repeated key is refused too: JSON parsers disagree on which copy wins, so the document would not
  mean one thing.  Choice: ``Sid`` (a string) is accepted on statements and ignored, as Alibaba's
  resource policies use it.
* ``Statement`` must hold at least one statement ("a list containing one or more statements").
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from cenflow.iam.policy.errors import GrammarError
from cenflow.iam.policy.model import Effect

POLICY_LANGUAGE_VERSION = "1"
_TOP_LEVEL = frozenset({"Version", "Statement"})


def describe(value: object) -> str:
    """A short rendering of a JSON value for error messages (never the whole of a nested value)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reject_constant(name: str) -> NoReturn:
    raise GrammarError(f"{name} is not JSON.")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise GrammarError(f"the element {key!r} appears twice in one object.")
        result[key] = value
    return result


def load_json(document: str) -> dict[str, Any]:
    if not document.strip():
        raise GrammarError("the policy document is empty.")
    try:
        parsed = json.loads(document, object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant)
    except GrammarError:
        raise
    except RecursionError:
        raise GrammarError("the policy document is nested too deeply.") from None
    except ValueError as error:  # JSONDecodeError, and over-long integer literals
        raise GrammarError(f"the policy document is not valid JSON ({error}).") from None
    if not isinstance(parsed, dict):
        raise GrammarError("the policy document must be a JSON object.")
    return parsed


def statements_of(document: dict[str, Any]) -> list[Any]:
    unknown = sorted(set(document) - _TOP_LEVEL)
    if unknown:
        raise GrammarError(f"{unknown[0]!r} is not a policy element; a policy has Version and Statement.")
    if "Version" not in document:
        raise GrammarError("Version is missing.")
    if document["Version"] != POLICY_LANGUAGE_VERSION:
        raise GrammarError(f'Version must be the string "1", not {describe(document["Version"])}.')
    if "Statement" not in document:
        raise GrammarError("Statement is missing.")
    raw = document["Statement"]
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list):
        raise GrammarError("Statement must be a list of statement objects.")
    if not statements:
        raise GrammarError("Statement holds no statements.")
    return statements


def check_fields(statement: object, where: str, allowed: frozenset[str], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(statement, dict):
        raise GrammarError(f"{where} must be an object.")
    for name in statement:
        if name not in allowed:
            raise GrammarError(f"{where}: {name!r} is not allowed in this kind of policy statement.")
    for name in required:
        if name not in statement:
            raise GrammarError(f"{where}: {name} is missing.")
    sid = statement.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise GrammarError(f"{where}.Sid must be a string.")
    return statement


def one_of(statement: dict[str, Any], where: str, first: str, second: str) -> tuple[str, Any]:
    """Exactly one of two mutually exclusive elements (Action/NotAction, Resource/NotResource)."""
    has_first, has_second = first in statement, second in statement
    if has_first and has_second:
        raise GrammarError(f"{where}: {first} and {second} cannot be used together.")
    if not (has_first or has_second):
        raise GrammarError(f"{where}: {first} or {second} is required.")
    return (first, statement[first]) if has_first else (second, statement[second])


def parse_effect(raw: object, where: str) -> Effect:
    if raw == Effect.ALLOW.value:
        return Effect.ALLOW
    if raw == Effect.DENY.value:
        return Effect.DENY
    raise GrammarError(f'{where}.Effect must be "Allow" or "Deny", not {describe(raw)}.')


def string_list(raw: object, where: str) -> list[str]:
    """A string or a non-empty list of non-empty strings."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise GrammarError(f"{where} lists nothing.")
    for position, item in enumerate(items):
        here = f"{where}[{position}]" if isinstance(raw, list) else where
        if not isinstance(item, str):
            raise GrammarError(f"{here} must be a string, not {describe(item)}.")
        if not item:
            raise GrammarError(f"{here} is empty.")
    return items  # type: ignore[return-value]
