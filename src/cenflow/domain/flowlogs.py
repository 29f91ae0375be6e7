"""Flow logs: fields, log format, intervals and the lifecycle rules.

State machine (see docs/operations.md):
- create: ``Creating`` -> ``Active`` (flow logs are enabled on creation);
- ActiveFlowLog: ``Inactive`` -> ``Modifying`` -> ``Active``;
- DeactiveFlowLog: ``Active`` -> ``Modifying`` -> ``Inactive``;
- ModifyFlowLogAttribute: ``Active``/``Inactive`` -> ``Modifying`` -> back to the state it left
  (the docs only describe the Active case; returning to Inactive keeps a deactivated flow log
  from starting to collect just because it was renamed);
- DeleteFlowlog: ``Active``/``Inactive`` -> ``Deleting`` -> gone.
While transient, mutations fail: Active/Deactive/Delete with ``IncorrectStatus.TrFlowlog`` and
Modify with ``IncorrectStatus.flowlog`` (the codes Terraform retries on for each).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from cenflow.domain import errors as e
from cenflow.domain.states import FlowLogStatus, is_transient
from cenflow.domain.transitions import ResourceKind, Transition
from cenflow.errors import ErrorSpec

CEN_FIELDS = (
    "account-id",
    "attachment-id",
    "cen-id",
    "src-region-id",
    "srcaddr",
    "srcport",
    "dst-region-id",
    "dstaddr",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "direction",
)
# Fields cenflow adds beyond Alibaba's documented list (docs/flowlog-records.md).
EXTENSION_FIELDS = ("tr-id", "tcp-flags", "log-status", "type")
ALL_FIELDS = CEN_FIELDS + EXTENSION_FIELDS
MANDATORY_PREFIX = ("srcaddr", "dstaddr", "bytes")
INTERVALS = (60, 600)
DEFAULT_INTERVAL = 600
CURRENT_VERSION = "3"
MAX_LOG_FORMAT = 1000
_TOKEN = re.compile(r"\$\{([^}]*)\}")


def parse_log_format(text: str) -> tuple[str, ...]:
    """The fields of a ``${a}${b}...`` string; refuses unknown, repeated or misplaced fields."""
    if len(text) > MAX_LOG_FORMAT:
        raise e.INVALID_LOG_FORMAT(f"LogFormatString is longer than {MAX_LOG_FORMAT} characters.")
    fields: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            raise e.INVALID_LOG_FORMAT("Write fields as ${field} tokens with nothing between them.")
        name = match.group(1)
        if name not in ALL_FIELDS:
            raise e.INVALID_LOG_FORMAT(f'Unknown field "{name[:40]}". Known fields: {", ".join(ALL_FIELDS)}.')
        if name in fields:
            raise e.INVALID_LOG_FORMAT(f'The field "{name}" is given twice.')
        fields.append(name)
        position = match.end()
    if position != len(text) or not fields:
        raise e.INVALID_LOG_FORMAT("Write fields as ${field} tokens with nothing between them.")
    if tuple(fields[:3]) != MANDATORY_PREFIX:
        raise e.INVALID_LOG_FORMAT("LogFormatString must start with ${srcaddr}${dstaddr}${bytes}.")
    return tuple(fields)


def check_interval(value: int) -> int:
    if value not in INTERVALS:
        raise e.INVALID_INTERVAL("Interval must be 60 or 600 (seconds).")
    return value


@dataclass
class FlowLog:
    flow_log_id: str
    account_id: str
    region_id: str
    cen_id: str
    transit_router_id: str
    attachment_id: str | None
    name: str
    description: str
    project_name: str
    logstore_name: str
    interval: int
    log_format: str
    version: str
    status: str
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def scope_id(self) -> str:
        """What it captures: one attachment, or the whole transit router."""
        return self.attachment_id or self.transit_router_id

    @property
    def fields(self) -> tuple[str, ...]:
        return parse_log_format(self.log_format) if self.log_format else ALL_FIELDS

    def _transition(self, via: FlowLogStatus, to: FlowLogStatus | None) -> Transition:
        self.status = via
        return Transition(ResourceKind.FLOWLOG, self.flow_log_id, via, to)

    def _require_settled(self, spec: ErrorSpec) -> None:
        if is_transient(self.status):
            raise spec(f"The flow log is {self.status}; only queries are allowed until it settles.")

    def activate(self) -> Transition:
        self._require_settled(e.TR_FLOWLOG_STATUS)
        if self.status != FlowLogStatus.INACTIVE:
            raise e.FLOWLOG_STATUS(f"The flow log is {self.status}; only an Inactive flow log can be activated.")
        return self._transition(FlowLogStatus.MODIFYING, FlowLogStatus.ACTIVE)

    def deactivate(self) -> Transition:
        self._require_settled(e.TR_FLOWLOG_STATUS)
        if self.status != FlowLogStatus.ACTIVE:
            raise e.FLOWLOG_STATUS(f"The flow log is {self.status}; only an Active flow log can be deactivated.")
        return self._transition(FlowLogStatus.MODIFYING, FlowLogStatus.INACTIVE)

    def modify(self, *, name: str | None, description: str | None, interval: int | None) -> Transition:
        self._require_settled(e.FLOWLOG_STATUS)
        if name is not None:
            self.name = name
        if description is not None:
            self.description = description
        if interval is not None:
            self.interval = interval
        return self._transition(FlowLogStatus.MODIFYING, FlowLogStatus(self.status))

    def delete(self) -> Transition:
        self._require_settled(e.TR_FLOWLOG_STATUS)
        return self._transition(FlowLogStatus.DELETING, None)


def creation(flow_log_id: str) -> Transition:
    return Transition(ResourceKind.FLOWLOG, flow_log_id, FlowLogStatus.CREATING, FlowLogStatus.ACTIVE)
