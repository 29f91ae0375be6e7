"""domain.flowlogs: the flow-log state machine, the log format and the interval (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cenflow.domain import flowlogs
from cenflow.domain.flowlogs import ALL_FIELDS, FlowLog, check_interval, creation, parse_log_format
from cenflow.domain.states import FlowLogStatus, is_transient
from cenflow.domain.transitions import ResourceKind, Transition
from cenflow.errors import ApiError

TRANSIENT = ("Creating", "Modifying", "Deleting")


def flowlog(status: str = "Active", **changes: object) -> FlowLog:
    values: dict[str, object] = {
        "flow_log_id": "flowlog-aaaaaaaaaaaaaaaaaaaa",
        "account_id": "1000000000000001",
        "region_id": "cn-hangzhou",
        "cen_id": "cen-aaaaaaaaaaaaaaaaaa",
        "transit_router_id": "tr-aaaaaaaaaaaaaaaaaaaaa",
        "attachment_id": None,
        "name": "before",
        "description": "first",
        "project_name": "project",
        "logstore_name": "logstore",
        "interval": 600,
        "log_format": "",
        "version": "3",
        "status": status,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(changes)
    return FlowLog(**values)  # type: ignore[arg-type]


def code_of(error: pytest.ExceptionInfo[ApiError]) -> tuple[str, int]:
    return error.value.code, error.value.status


# -- the state machine ------------------------------------------------------------------------
def test_creation_goes_from_creating_to_active() -> None:
    assert creation("flowlog-x") == Transition(ResourceKind.FLOWLOG, "flowlog-x", "Creating", "Active")


def test_deactivate_an_active_flow_log() -> None:
    item = flowlog("Active")
    transition = item.deactivate()
    assert item.status == "Modifying"
    assert (transition.kind, transition.resource_id) == (ResourceKind.FLOWLOG, item.flow_log_id)
    assert (transition.via, transition.to) == ("Modifying", "Inactive")


def test_activate_an_inactive_flow_log() -> None:
    item = flowlog("Inactive")
    transition = item.activate()
    assert item.status == "Modifying"
    assert (transition.via, transition.to) == ("Modifying", "Active")


@pytest.mark.parametrize("settled", ["Active", "Inactive"])
def test_modify_returns_to_the_state_it_left(settled: str) -> None:
    item = flowlog(settled)
    transition = item.modify(name="after", description="second", interval=60)
    assert (item.name, item.description, item.interval) == ("after", "second", 60)
    assert item.status == "Modifying"
    assert (transition.via, transition.to) == ("Modifying", settled)


def test_modify_keeps_what_is_not_given() -> None:
    item = flowlog("Active")
    item.modify(name=None, description=None, interval=None)
    assert (item.name, item.description, item.interval) == ("before", "first", 600)


@pytest.mark.parametrize("settled", ["Active", "Inactive"])
def test_delete_removes_the_flow_log_once_deleting_completes(settled: str) -> None:
    item = flowlog(settled)
    transition = item.delete()
    assert item.status == "Deleting"
    assert (transition.via, transition.to) == ("Deleting", None)


def test_activating_an_active_flow_log_is_refused() -> None:
    with pytest.raises(ApiError) as error:
        flowlog("Active").activate()
    assert code_of(error) == ("IncorrectStatus.flowlog", 400)
    assert error.value.message.startswith("Invalid flowlog status.")


def test_deactivating_an_inactive_flow_log_is_refused() -> None:
    with pytest.raises(ApiError) as error:
        flowlog("Inactive").deactivate()
    assert code_of(error) == ("IncorrectStatus.flowlog", 400)


@pytest.mark.parametrize("status", TRANSIENT)
@pytest.mark.parametrize("operation", ["activate", "deactivate", "delete"])
def test_lifecycle_calls_are_refused_while_transient(status: str, operation: str) -> None:
    item = flowlog(status)
    with pytest.raises(ApiError) as error:
        getattr(item, operation)()
    assert code_of(error) == ("IncorrectStatus.TrFlowlog", 400)
    assert error.value.message.startswith("Flowlog status for specified TransitRouter is invalid for this operation.")
    assert item.status == status


@pytest.mark.parametrize("status", TRANSIENT)
def test_modify_is_refused_while_transient_and_changes_nothing(status: str) -> None:
    item = flowlog(status)
    with pytest.raises(ApiError) as error:
        item.modify(name="after", description="second", interval=60)
    assert code_of(error) == ("IncorrectStatus.flowlog", 400)
    assert (item.name, item.description, item.interval, item.status) == ("before", "first", 600, status)


def test_every_status_is_either_transient_or_settled() -> None:
    assert {s.value for s in FlowLogStatus if is_transient(s)} == set(TRANSIENT)
    assert {s.value for s in FlowLogStatus if not is_transient(s)} == {"Active", "Inactive"}


def test_scope_is_the_attachment_or_the_whole_transit_router() -> None:
    assert flowlog().scope_id == "tr-aaaaaaaaaaaaaaaaaaaaa"
    assert flowlog(attachment_id="tr-attach-bbbbbbbbbbbbbbbbbb").scope_id == "tr-attach-bbbbbbbbbbbbbbbbbb"


def test_fields_default_to_every_field() -> None:
    assert flowlog().fields == ALL_FIELDS
    assert flowlog(log_format="${srcaddr}${dstaddr}${bytes}${protocol}").fields == (
        "srcaddr",
        "dstaddr",
        "bytes",
        "protocol",
    )


# -- LogFormatString --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("${srcaddr}${dstaddr}${bytes}", ("srcaddr", "dstaddr", "bytes")),
        (
            "${srcaddr}${dstaddr}${bytes}${srcport}${dstport}${protocol}${tr-id}${tcp-flags}",
            ("srcaddr", "dstaddr", "bytes", "srcport", "dstport", "protocol", "tr-id", "tcp-flags"),
        ),
    ],
)
def test_parse_log_format(text: str, fields: tuple[str, ...]) -> None:
    assert parse_log_format(text) == fields


def test_every_field_may_appear_after_the_mandatory_prefix() -> None:
    rest = [f for f in ALL_FIELDS if f not in flowlogs.MANDATORY_PREFIX]
    text = "${srcaddr}${dstaddr}${bytes}" + "".join(f"${{{f}}}" for f in rest)
    assert parse_log_format(text) == ("srcaddr", "dstaddr", "bytes", *rest)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "Write fields as"),
        ("srcaddr", "Write fields as"),
        ("${srcaddr}${dstaddr}", "must start with"),
        ("${dstaddr}${srcaddr}${bytes}", "must start with"),
        ("${bytes}${srcaddr}${dstaddr}", "must start with"),
        ("${srcaddr}${dstaddr}${bytes}${nosuch}", 'Unknown field "nosuch"'),
        ("${srcaddr}${dstaddr}${bytes}${srcport}${srcport}", 'The field "srcport" is given twice.'),
        ("${srcaddr}${dstaddr}${bytes} ${srcport}", "Write fields as"),
        ("${srcaddr},${dstaddr},${bytes}", "Write fields as"),
        ("${srcaddr}${dstaddr}${bytes}${srcport", "Write fields as"),
        ("${srcaddr}${dstaddr}${bytes}trailing", "Write fields as"),
        ("${SRCADDR}${dstaddr}${bytes}", 'Unknown field "SRCADDR"'),
        ("${srcaddr}${dstaddr}${bytes}" + "${srcport}" * 200, "longer than 1000"),
    ],
)
def test_invalid_log_formats(text: str, why: str) -> None:
    with pytest.raises(ApiError) as error:
        parse_log_format(text)
    assert code_of(error) == ("InvalidParameter.LogFormatString", 400)
    assert error.value.message.startswith("LogFormatString is invalid.")
    assert why in error.value.message


# -- Interval ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [60, 600])
def test_valid_intervals(value: int) -> None:
    assert check_interval(value) == value


@pytest.mark.parametrize("value", [0, 1, 59, 61, 300, 599, 601, 3600, -60])
def test_invalid_intervals(value: int) -> None:
    with pytest.raises(ApiError) as error:
        check_interval(value)
    assert code_of(error) == ("InvalidParameter.Interval", 400)
    assert error.value.message.startswith("Interval is invalid.")
