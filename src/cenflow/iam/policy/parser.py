"""Identity and session policies: validate a document and compile it.

``parse_policy`` is for documents given to RAM's ``CreatePolicy`` / ``CreatePolicyVersion``;
``parse_session_policy`` for the ``Policy`` parameter of STS ``AssumeRole``.  The grammar is the
same (Alibaba points both at the same "policy elements" page); only the size limit and the error
codes differ (see ``errors``).

Statement rules beyond those in ``grammar``:

* ``Effect``, ``Action`` or ``NotAction``, and ``Resource`` or ``NotResource`` are required;
  ``Condition`` is optional; ``Principal`` belongs to trust policies only.
* An action is ``*`` or ``<ram-code>:<action-name>``; either part may hold ``*`` / ``?``.  Actions
  match case-insensitively (Alibaba: "in most cases ... not case-sensitive"; we make it always).
* A resource is ``*`` or an ARN starting ``acs:`` (Alibaba's checker: "Invalid ARN prefix").
  Resources match case-sensitively.  Alibaba does not document this either way; ARNs carry
  resource identifiers and names that Alibaba treats as case-sensitive (OSS object keys, tag
  values), so folding them could grant access to a different resource.
"""

from __future__ import annotations

import re

from cenflow.errors import ErrorSpec
from cenflow.iam.policy import grammar
from cenflow.iam.policy.conditions import parse_condition_block
from cenflow.iam.policy.errors import (
    IDENTITY_POLICY_MAX_CHARS,
    MALFORMED_POLICY_DOCUMENT,
    POLICY_DOCUMENT_LENGTH,
    SESSION_POLICY_GRAMMAR,
    SESSION_POLICY_MAX_BYTES,
    SESSION_POLICY_SIZE,
    GrammarError,
)
from cenflow.iam.policy.model import CompiledPolicy, Statement
from cenflow.iam.policy.wildcard import PatternSet

_STATEMENT_FIELDS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"})
_ACTION_FORMAT = re.compile(r"[^\s:]+:[^\s:]+")
_ARN_PREFIX = "acs:"


def _actions(raw: object, where: str) -> PatternSet:
    actions = grammar.string_list(raw, where)
    for action in actions:
        if action != "*" and not _ACTION_FORMAT.fullmatch(action):
            raise GrammarError(f"{where}: {action!r} is not of the form <ram-code>:<action-name>.")
    return PatternSet((a.lower() for a in actions), ignore_case=True)


def _resources(raw: object, where: str) -> PatternSet:
    resources = grammar.string_list(raw, where)
    for resource in resources:
        if resource != "*" and not resource.startswith(_ARN_PREFIX):
            raise GrammarError(f"{where}: {resource!r} is not '*' or an ARN starting with {_ARN_PREFIX!r}.")
    return PatternSet(resources, ignore_case=False)


def _statement(raw: object, index: int) -> Statement:
    where = f"Statement[{index}]"
    if isinstance(raw, dict) and "Principal" in raw:
        raise GrammarError(f"{where}: Principal is only allowed in a role's trust policy.")
    fields = grammar.check_fields(raw, where, _STATEMENT_FIELDS, ("Effect",))
    effect = grammar.parse_effect(fields["Effect"], where)
    action_name, action_raw = grammar.one_of(fields, where, "Action", "NotAction")
    resource_name, resource_raw = grammar.one_of(fields, where, "Resource", "NotResource")
    conditions = parse_condition_block(fields["Condition"], f"{where}.Condition") if "Condition" in fields else ()
    return Statement(
        index=index,
        effect=effect,
        actions=_actions(action_raw, f"{where}.{action_name}"),
        not_action=action_name == "NotAction",
        resources=_resources(resource_raw, f"{where}.{resource_name}"),
        not_resource=resource_name == "NotResource",
        conditions=conditions,
        sid=fields.get("Sid"),
    )


def compile_document(document: str) -> CompiledPolicy:
    """Parse a document with no size check; raises :class:`GrammarError`."""
    statements = grammar.statements_of(grammar.load_json(document))
    return CompiledPolicy(tuple(_statement(raw, i) for i, raw in enumerate(statements)), document)


def sentence(detail: str) -> str:
    """Grammar details are written as clauses; appended to Alibaba's message they start a sentence."""
    return detail[:1].upper() + detail[1:]


def _compile_or_raise(document: str, grammar_error: ErrorSpec) -> CompiledPolicy:
    try:
        return compile_document(document)
    except GrammarError as error:
        raise grammar_error(sentence(error.detail)) from None


def parse_policy(document: str) -> CompiledPolicy:
    """Validate and compile an identity policy (``CreatePolicy`` / ``CreatePolicyVersion``).

    Raises ``InvalidParameter.PolicyDocument.Length`` above 6,144 characters (whitespace counts) and
    ``MalformedPolicyDocument`` for any grammar error, with the reason appended to the message.
    """
    if len(document) > IDENTITY_POLICY_MAX_CHARS:
        raise POLICY_DOCUMENT_LENGTH(f"It has {len(document)} characters.")
    return _compile_or_raise(document, MALFORMED_POLICY_DOCUMENT)


def parse_session_policy(document: str) -> CompiledPolicy:
    """Validate and compile the session policy passed to ``AssumeRole``.

    Raises ``InvalidParameter.PolicySize`` above 2,048 UTF-8 bytes and
    ``InvalidParameter.PolicyGrammar`` for any grammar error.
    """
    size = len(document.encode("utf-8", "surrogatepass"))
    if size > SESSION_POLICY_MAX_BYTES:
        raise SESSION_POLICY_SIZE(f"It has {size} bytes.")
    return _compile_or_raise(document, SESSION_POLICY_GRAMMAR)
