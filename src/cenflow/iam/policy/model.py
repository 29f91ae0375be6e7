"""Compiled policies: what a parsed document becomes, ready to be evaluated many times."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from cenflow.iam.policy.conditions import Condition
from cenflow.iam.policy.values import ContextValue
from cenflow.iam.policy.wildcard import PatternSet


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class PolicyType(StrEnum):
    """RAM's two policy types, as ``PolicyType`` appears in its API."""

    SYSTEM = "System"
    CUSTOM = "Custom"


class Statement:
    """One statement.  ``index`` is its position in the document's ``Statement`` list, as reported in
    decisions.  ``not_action`` / ``not_resource`` mean the statement applies to everything the
    patterns do *not* match."""

    __slots__ = ("actions", "conditions", "effect", "index", "not_action", "not_resource", "resources", "sid")

    def __init__(
        self,
        *,
        index: int,
        effect: Effect,
        actions: PatternSet,
        not_action: bool,
        resources: PatternSet,
        not_resource: bool,
        conditions: tuple[Condition, ...],
        sid: str | None = None,
    ) -> None:
        self.index = index
        self.effect = effect
        self.actions = actions
        self.not_action = not_action
        self.resources = resources
        self.not_resource = not_resource
        self.conditions = conditions
        self.sid = sid

    def matches_action(self, folded_action: str) -> bool:
        return self.actions.matches(folded_action) != self.not_action

    def matches_resource(self, resource: str) -> bool:
        return self.resources.matches(resource) != self.not_resource

    def conditions_hold(self, context: Mapping[str, ContextValue]) -> bool:
        return all(condition.holds(context) for condition in self.conditions)

    def applies(self, folded_action: str, resource: str, context: Mapping[str, ContextValue]) -> bool:
        """Whether the statement speaks about this request; cheapest tests first."""
        return (
            self.matches_action(folded_action)
            and self.matches_resource(resource)
            and (not self.conditions or self.conditions_hold(context))
        )

    def __repr__(self) -> str:
        return f"Statement(#{self.index} {self.effect} {self.actions!r} {self.resources!r})"


class CompiledPolicy:
    """A validated document.  Statements are also kept split by effect so evaluation can look for
    an explicit Deny first and stop at the first Allow."""

    __slots__ = ("allows", "denies", "document", "statements")

    def __init__(self, statements: tuple[Statement, ...], document: str) -> None:
        self.statements = statements
        self.allows = tuple(s for s in statements if s.effect is Effect.ALLOW)
        self.denies = tuple(s for s in statements if s.effect is Effect.DENY)
        self.document = document

    def __repr__(self) -> str:
        return f"CompiledPolicy({len(self.statements)} statements)"


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    """A policy in force for a principal: which one (for decisions) and its compiled form."""

    name: str
    type: PolicyType
    version: str
    policy: CompiledPolicy
