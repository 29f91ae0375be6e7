"""domain.resources and domain.transitions: resource type spellings and task payloads."""

from __future__ import annotations

import pytest

from cenflow.domain.resources import TAGGABLE, canonical_resource_type
from cenflow.domain.transitions import ResourceKind, Transition
from cenflow.errors import ApiError


@pytest.mark.parametrize("canonical", TAGGABLE)
def test_resource_types_are_matched_case_insensitively(canonical: str) -> None:
    for spelling in (canonical, canonical.lower(), canonical.upper(), canonical.swapcase()):
        assert canonical_resource_type(spelling) == canonical


@pytest.mark.parametrize("name", ["", "Vpc", "BandwidthPackage", "flowlogs", "TransitRouterVpnAttachment"])
def test_unsupported_resource_types(name: str) -> None:
    with pytest.raises(ApiError) as error:
        canonical_resource_type(name)
    assert (error.value.code, error.value.status) == ("InvalidInstanceType.NotFound", 400)
    assert error.value.message.startswith("The instance type is not found")


@pytest.mark.parametrize(
    "transition",
    [
        Transition(ResourceKind.FLOWLOG, "flowlog-1", "Modifying", "Inactive"),
        Transition(ResourceKind.ATTACHMENT, "tr-attach-1", "Detaching", None),
        Transition(ResourceKind.CEN, "cen-1", "Creating", "Active"),
    ],
)
def test_transition_payloads_round_trip(transition: Transition) -> None:
    assert Transition.from_payload(transition.resource_id, transition.as_payload()) == transition


@pytest.mark.parametrize("payload", [{}, {"kind": "flowlog"}, {"via": "Creating"}])
def test_malformed_payloads_are_refused(payload: dict[str, str | None]) -> None:
    with pytest.raises(ValueError, match="malformed"):
        Transition.from_payload("x", payload)
