"""The long-lived collaborators operation handlers use, wired by the composition root (app.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cenflow.config import Settings
from cenflow.domain.regions import RegionCatalogue
from cenflow.store.database import Database

if TYPE_CHECKING:
    from cenflow.iam.runtime import IamRuntime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    database: Database
    regions: RegionCatalogue
    account_id: str
    clock: Callable[[], datetime] = field(default=utc_now)
    # Called after a commit that enqueued tasks, so an in-process worker wakes at once.
    on_tasks_enqueued: Callable[[], None] = field(default=lambda: None)
    # RAM and STS: keys, tokens, compiled policies (set by the composition root).
    iam: IamRuntime | None = None
