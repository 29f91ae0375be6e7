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
        return self.matches_action(folded_action) and self.applies_to(resource, context)

    def applies_to(self, resource: str, context: Mapping[str, ContextValue]) -> bool:
        """The rest of :meth:`applies`, for a statement already known to match the action."""
        if self.resources.matches(resource) == self.not_resource:
            return False
        return all(condition.holds(context) for condition in self.conditions)

    def __repr__(self) -> str:
        return f"Statement(#{self.index} {self.effect} {self.actions!r} {self.resources!r})"


ActionCandidates = tuple[tuple[Statement, ...], tuple[Statement, ...]]

# How many distinct actions a compiled policy remembers candidates for.  RAM actions are a fixed
# vocabulary (one per API operation), so this is never reached in practice; it only bounds memory if
# a caller evaluates made-up action names.
_MAX_REMEMBERED_ACTIONS = 1024


class CompiledPolicy:
    """A validated document.

    Evaluation asks "which statements speak about this action?" for the same few hundred actions
    over and over, so the answer is remembered per action: ``for_action`` returns the Deny and the
    Allow statements whose Action/NotAction match, in document order, and evaluation then only tests
    their resources and conditions.  The memo is a plain dict that threads may fill concurrently;
    two threads computing the same entry store equal values.
    """

    __slots__ = ("_by_action", "allows", "denies", "document", "statements")

    def __init__(self, statements: tuple[Statement, ...], document: str) -> None:
        self.statements = statements
        self.allows = tuple(s for s in statements if s.effect is Effect.ALLOW)
        self.denies = tuple(s for s in statements if s.effect is Effect.DENY)
        self.document = document
        self._by_action: dict[str, ActionCandidates] = {}

    def for_action(self, folded_action: str) -> ActionCandidates:
        candidates = self._by_action.get(folded_action)
        if candidates is None:
            candidates = (
                tuple(s for s in self.denies if s.matches_action(folded_action)),
                tuple(s for s in self.allows if s.matches_action(folded_action)),
            )
            if len(self._by_action) >= _MAX_REMEMBERED_ACTIONS:
                self._by_action.clear()
            self._by_action[folded_action] = candidates
        return candidates

    def __repr__(self) -> str:
        return f"CompiledPolicy({len(self.statements)} statements)"


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    """A policy in force for a principal: which one (for decisions) and its compiled form."""

    name: str
    type: PolicyType
    version: str
    policy: CompiledPolicy
