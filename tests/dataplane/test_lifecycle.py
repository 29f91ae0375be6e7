"""When collection starts and stops, and what a shutdown or a crash may lose (docs/dataplane.md).

Every test has its own server and the lab topology (traffic_small.pcap's sources behind ``src``,
its destinations behind ``dst``, the router bound to 127.0.0.1), and softflowd exports the
capture straight to the server's flow port.  Tests about open windows start the server with a
lateness of an hour, so nothing is written unless the behaviour under test writes it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cenflow.logstore import LogStore
from tests.dataplane.conftest import DataplaneServer
from tests.dataplane.support import (
    FAST,
    LAB_PROJECT,
    TRAFFIC,
    TRAFFIC_WINDOWS,
    apply_topology,
    directions,
    lab_topology,
    metric,
    ok_records,
    records,
    run_cli,
    set_flowlog_active,
    softflowd,
    truth_sums,
    wait_for_active_flowlogs,
    wait_for_datagrams,
    wait_for_metric,
    wait_for_records,
    wait_for_settled_windows,
    wait_until,
)
from tests.flow import builders
from tests.harness import HOST, CenflowServer

LOGSTORE = "lab-flows"
HOLD_WINDOWS = ("--flow-lateness", "3600")  # windows stay open for an hour
TRUTH_PACKETS = 6863


def _lab(server: CenflowServer, tmp_path: Path) -> dict[str, str]:
    ids = apply_topology(server, {"cens": [lab_topology()]}, tmp_path)
    # The capture's windows are from 2023: past the default 30-day retention, the upkeep a restart
    # runs would drop them.  3650 days is SLS's "keep forever".
    run_cli("sls", "set-retention", LAB_PROJECT, LOGSTORE, "3650", "--data-dir", str(server.data_dir))
    wait_for_active_flowlogs(server, 1)
    return ids


def _export(server: CenflowServer) -> int:
    """softflowd exports the capture; returns once the server has spooled and decoded all of it."""
    before = metric(server, "cenflow_flow_datagrams_total")
    sent = softflowd(TRAFFIC, server.flow_port, "v9")
    wait_for_datagrams(server, before + sent)
    return sent


def _wait_for_truth(server: CenflowServer, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Every record of the capture's windows, once the `in` records hold all its packets and
    nothing else is pending."""
    wait_for_records(
        server,
        LAB_PROJECT,
        LOGSTORE,
        lambda rows: sum(r["packets"] for r in rows if r["direction"] == "in") >= TRUTH_PACKETS,
        timeout,
        where="\"log-status\" = 'OK'",
    )
    wait_for_settled_windows(server)
    return _capture_rows(server)


def _capture_rows(server: CenflowServer) -> list[dict[str, Any]]:
    return records(server, LAB_PROJECT, LOGSTORE, from_ts=TRAFFIC_WINDOWS[0], to_ts=TRAFFIC_WINDOWS[1] + 60)


def _assert_truth_once(rows: list[dict[str, Any]]) -> None:
    """Both directions sum to the ground truth, and no record is there twice."""
    assert directions(rows) == {"in": truth_sums(), "out": truth_sums()}
    keys = [
        (
            r["window-start"],
            r["attachment-id"],
            r["direction"],
            r["srcaddr"],
            r["dstaddr"],
            r["srcport"],
            r["dstport"],
            r["protocol"],
        )
        for r in rows
        if r["log-status"] == "OK"
    ]
    assert len(keys) == len(set(keys))


def _canonical(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(sorted(r.items())) for r in rows)


def test_collection_starts_within_two_seconds_of_the_flow_log_becoming_active(
    dataplane_server: DataplaneServer, tmp_path: Path
) -> None:
    """An exporter sends a new flow every 50 ms while the flow log is Inactive, is activated, and
    goes on for 3 s: nothing sent before the activation is recorded; everything sent from 2 s
    after the API reports Active is."""
    server = dataplane_server()
    ids = _lab(server, tmp_path)
    flow_log_id, cen_id = ids["flowlog:lab-all"], ids["lab"]
    set_flowlog_active(server, flow_log_id, False, cen_id)
    wait_for_active_flowlogs(server, 0)

    sent: list[tuple[float, int]] = []  # (monotonic send time, source port)
    deadline: list[float] = []  # set once the flow log is Active

    def exporter() -> None:
        start_ms = (TRAFFIC_WINDOWS[0] + 10) * 1000
        template = builders.v9_template_flowset((256, builders.IPV4_FIELDS))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((HOST, 0))
            for sequence in range(10_000):
                if deadline and time.monotonic() >= deadline[0]:
                    return
                port = 10_000 + sequence
                flow = builders.ipv4_record("10.0.0.1", "192.168.0.1", port, 80, start_ms=start_ms, end_ms=start_ms)
                datagram = builders.v9_packet([template, builders.data_set(256, [flow])], sequence=sequence)
                sock.sendto(datagram, (HOST, server.flow_port))
                sent.append((time.monotonic(), port))
                time.sleep(0.05)  # the exporter's pace, not synchronisation

    thread = threading.Thread(target=exporter, daemon=True)
    thread.start()
    wait_for_metric(server, "cenflow_flow_inactive_records_total", lambda v: v >= 4)  # it is sending
    requested = time.monotonic()
    active_at = set_flowlog_active(server, flow_log_id, True, cen_id)
    deadline.append(active_at + 3.0)
    thread.join(30)
    assert not thread.is_alive()

    wait_for_datagrams(server, len(sent))
    wait_for_records(server, LAB_PROJECT, LOGSTORE, lambda rows: len(rows) > 0, where="\"log-status\" = 'OK'")
    wait_for_settled_windows(server)
    recorded = {r["srcport"] for r in ok_records(server, LAB_PROJECT, LOGSTORE) if r["direction"] == "in"}
    assert recorded
    assert not {port for when, port in sent if when < requested} & recorded
    assert {port for when, port in sent if when >= active_at + 2.0} <= recorded
    first = min(when for when, port in sent if port in recorded)
    assert first - active_at <= 2.0


def test_leaving_active_writes_the_open_windows_at_once_and_stops_collecting(
    dataplane_server: DataplaneServer, tmp_path: Path
) -> None:
    server = dataplane_server(HOLD_WINDOWS)
    ids = _lab(server, tmp_path)
    _export(server)
    assert ok_records(server, LAB_PROJECT, LOGSTORE) == []  # held open by the hour of lateness
    left_at = set_flowlog_active(server, ids["flowlog:lab-all"], False, ids["lab"])
    rows = _wait_for_truth(server, timeout=10.0)
    assert time.monotonic() - left_at < 10.0
    _assert_truth_once(rows)
    assert {r["start"] for r in rows} == set(TRAFFIC_WINDOWS)

    # Inactive now: the next export is counted, not written.
    inactive = metric(server, "cenflow_flow_inactive_records_total")
    _export(server)
    wait_for_metric(server, "cenflow_flow_inactive_records_total", lambda v: v - inactive == 2 * len(truth_sums()))
    assert _canonical(_capture_rows(server)) == _canonical(rows)


def test_graceful_shutdown_writes_every_open_window(dataplane_server: DataplaneServer, tmp_path: Path) -> None:
    server = dataplane_server(HOLD_WINDOWS)
    _lab(server, tmp_path)
    _export(server)
    assert ok_records(server, LAB_PROJECT, LOGSTORE) == []
    server.stop()  # SIGTERM; asserts a clean exit
    rows = _capture_rows(server)
    _assert_truth_once(rows)
    assert {r["start"] for r in rows} == set(TRAFFIC_WINDOWS)


def test_sigkill_then_restart_loses_nothing_spooled_and_writes_it_once(
    dataplane_server: DataplaneServer, tmp_path: Path
) -> None:
    server = dataplane_server(HOLD_WINDOWS)
    _lab(server, tmp_path)
    sent = _export(server)  # every datagram is in the spool once it has been decoded
    assert ok_records(server, LAB_PROJECT, LOGSTORE) == []
    server.kill()
    assert ok_records(server, LAB_PROJECT, LOGSTORE) == []  # nothing reached the store before the crash

    server.restart(args=FAST)  # windows now close a second after their end
    replayed = server.wait_for_log(lambda r: r.get("event") == "replayed the spool after a restart")
    assert replayed["datagrams"] == sent
    rows = _wait_for_truth(server)
    _assert_truth_once(rows)

    # A clean restart afterwards replays nothing twice.
    server.restart()
    wait_for_settled_windows(server)
    assert _canonical(_capture_rows(server)) == _canonical(rows)


def test_sigkill_after_the_windows_were_written_writes_none_of_them_again(
    dataplane_server: DataplaneServer, tmp_path: Path
) -> None:
    server = dataplane_server()
    _lab(server, tmp_path)
    _export(server)
    rows = _wait_for_truth(server)
    _assert_truth_once(rows)
    _wait_for_checkpoint_at_spool_end(server)
    server.restart(kill=True)
    wait_for_settled_windows(server)
    assert "replayed the spool" not in server.current_log()
    assert _canonical(_capture_rows(server)) == _canonical(rows)


def _wait_for_checkpoint_at_spool_end(server: CenflowServer) -> None:
    """Until the collector's checkpoint says no open window needs any of the spool."""
    state = server.data_dir / "collector" / "collector-1"

    def at_end() -> bool:
        segments = sorted((state / "spool").glob("*.spool"))
        checkpoint = state / "checkpoint.json"
        if not segments or not checkpoint.exists():
            return False
        end = int(segments[-1].stem) << 40 | segments[-1].stat().st_size
        return bool(json.loads(checkpoint.read_text())["position"] == end)

    wait_until(at_end, 10.0, "the checkpoint to reach the end of the spool")


@pytest.mark.parametrize("step", ["append", "checkpoint"])
def test_sigkill_on_the_writer_thread_loses_nothing_and_writes_it_once(
    dataplane_server: DataplaneServer, tmp_path: Path, step: str
) -> None:
    """Windows handed to the writer thread, then a crash as it writes the first of them
    (``append``) or after writing them all, before their checkpoint is saved (``checkpoint``)."""
    server = dataplane_server(HOLD_WINDOWS)
    _lab(server, tmp_path)
    server.stop()
    probe = subprocess.Popen(
        [sys.executable, "-m", "tests.dataplane.writer_crash_probe", str(server.data_dir), step],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert probe.stdin is not None
    assert probe.stdout is not None
    port = int(probe.stdout.readline().split()[1])
    sent = softflowd(TRAFFIC, port, "v9")
    probe.stdin.write(f"{sent}\n")
    probe.stdin.flush()
    assert probe.wait(60) == -signal.SIGKILL, probe.stdout.read()
    store = LogStore.in_data_dir(server.data_dir)
    stored = store.query(LAB_PROJECT, LOGSTORE, where="\"log-status\" = 'OK'").num_rows
    assert (stored > 0) == (step == "checkpoint")  # the crash came before / after the writes

    server.restart(args=FAST)
    replayed = server.wait_for_log(lambda r: r.get("event") == "replayed the spool after a restart")
    assert replayed["datagrams"] == sent
    rows = _wait_for_truth(server)
    _assert_truth_once(rows)
    assert {r["start"] for r in rows} == set(TRAFFIC_WINDOWS)
