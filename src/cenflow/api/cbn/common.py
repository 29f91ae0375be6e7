"""Parameters, formats and helpers shared by the Cbn operations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cenflow.api.context import CallContext
from cenflow.domain import errors as e
from cenflow.domain.transitions import Transition
from cenflow.jobs import transitions
from cenflow.store.tags import tag_list
from cenflow.wire.spec import Param
from cenflow.wire.spec import tag_list as tag_param

CLIENT_TOKEN = Param("ClientToken", max_length=64, ascii_only=True)
DRY_RUN = Param("DryRun", "boolean", default=False)
REGION_ID = Param("RegionId", required=True)
OPTIONAL_REGION_ID = Param("RegionId")
TAGS = tag_param("Tag", max_items=20, too_many=e.TAG_QUOTA)
NEXT_TOKEN = Param("NextToken")
MAX_RESULTS = Param("MaxResults", "integer", default=20, minimum=1, maximum=100, invalid=e.ILLEGAL_MAX_RESULTS)


def page_number(default_size: int = 10, max_size: int = 50) -> tuple[Param, Param]:
    return (
        Param("PageNumber", "integer", default=1, minimum=1, maximum=1_000_000),
        Param("PageSize", "integer", default=default_size, minimum=1, maximum=max_size),
    )


def name_param(name: str, limit: int = 128) -> Param:
    return Param(name, max_length=limit)


def iso_seconds(value: datetime) -> str:
    """``2026-12-04T05:06:07Z`` for a UTC time (isoformat: strftime cost a tenth of a listing)."""
    return value.isoformat(timespec="seconds")[:19] + "Z"


def iso_minutes(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%MZ")


def schedule(ctx: CallContext, transition: Transition) -> None:
    """Put the transition's task in the call's transaction; a worker completes it later."""
    transitions.schedule(ctx.tx, transition, ctx.now, ctx.services.settings.transition_delay)


def check_region(ctx: CallContext, region_id: str) -> str:
    if region_id not in ctx.services.regions:
        raise e.ILLEGAL_REGION(f'"{region_id[:64]}" is not a region of this server.')
    return region_id


def dry_run_passes(ctx: CallContext, dry_run: bool) -> None:
    """DryRun: everything was validated; answer as Alibaba does, with DryRunOperation."""
    del ctx
    if dry_run:
        raise e.DRY_RUN()


def wrapped_tags(values: dict[str, str]) -> dict[str, Any]:
    return {"Tag": tag_list(values)}
