"""Prometheus metrics of the data plane (counters only: never records or identities)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DATAGRAMS = Counter("cenflow_flow_datagrams_total", "Export datagrams received.", ["collector"])
DECODED = Counter("cenflow_flow_records_decoded_total", "Flow records decoded.", ["collector"])
DECODE_ERRORS = Counter("cenflow_flow_decode_errors_total", "Malformed or truncated datagrams dropped.", ["collector"])
TEMPLATE_MISSES = Counter("cenflow_flow_template_misses_total", "Data sets whose template was unknown.", ["collector"])
SEQUENCE_GAPS = Counter("cenflow_flow_sequence_gaps_total", "Export messages that revealed lost data.", ["collector"])
SOCKET_DROPS = Counter(
    "cenflow_flow_socket_drops_total", "Datagrams the kernel dropped (receive buffer full).", ["collector"]
)
UNKNOWN_EXPORTER = Counter(
    "cenflow_flow_unknown_exporter_records_total",
    "Flow records from exporters no transit router is tagged with.",
    ["collector"],
)
UNATTRIBUTED = Counter(
    "cenflow_flow_unattributed_records_total", "Flow records of a bound exporter matching no attachment.", ["collector"]
)
INACTIVE = Counter(
    "cenflow_flow_inactive_records_total",
    "Attributed flow records whose attachment has no Active flow log.",
    ["collector"],
)
WINDOWS_WRITTEN = Counter(
    "cenflow_flow_windows_written_total", "Capture windows written to the log store.", ["collector"]
)
LATE_PARTS = Counter("cenflow_flow_late_parts_total", "Late parts written for windows already closed.", ["collector"])
RECORDS_WRITTEN = Counter(
    "cenflow_flowlog_records_written_total", "Flow-log records written, per flow log.", ["flow_log_id"]
)
WRITE_ERRORS = Counter("cenflow_flow_write_errors_total", "Windows that failed to write (retried).", ["collector"])
PENDING_WINDOWS = Gauge(
    "cenflow_flow_pending_windows", "Closed windows handed to the writer, not yet in the log store.", ["collector"]
)
OPEN_WINDOWS = Gauge("cenflow_flow_open_windows", "Capture windows currently open.", ["collector"])
ACTIVE_FLOWLOGS = Gauge("cenflow_flow_active_flowlogs", "Active flow logs this collector serves.", ["collector"])
