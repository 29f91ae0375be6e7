"""Resource states and the transitions the asynchronous workers complete.

Every mutation that the real service performs asynchronously puts the resource into a transient
state and enqueues a task; the worker later moves it to the settled state (or removes it).  While
a resource is transient, only reads are allowed.
"""

from __future__ import annotations

from enum import StrEnum


class CenStatus(StrEnum):
    CREATING = "Creating"
    ACTIVE = "Active"
    DELETING = "Deleting"


class TransitRouterStatus(StrEnum):
    CREATING = "Creating"
    ACTIVE = "Active"
    MODIFYING = "Modifying"
    DELETING = "Deleting"


class AttachmentStatus(StrEnum):
    ATTACHING = "Attaching"
    ATTACHED = "Attached"
    DETACHING = "Detaching"


class FlowLogStatus(StrEnum):
    CREATING = "Creating"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    MODIFYING = "Modifying"
    DELETING = "Deleting"


TRANSIENT = frozenset(
    {
        "Creating",
        "Modifying",
        "Deleting",
        "Attaching",
        "Detaching",
    }
)


def is_transient(status: str) -> bool:
    return status in TRANSIENT
