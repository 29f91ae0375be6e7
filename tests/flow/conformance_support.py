"""Decoding one EXPECTED.md group both ways, and looking up its records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cenflow.flow import DecoderCounters, FlowDecoder
from tests.flow.samples import vendor_datagrams

NOW = 2_000_000_000.0  # collector clock for the corpus: every sample is older than this


@dataclass
class Decoded:
    records: list[dict[str, Any]]  # inspect(): every record in wire order
    flows: list[dict[str, Any]]  # decode(): normalised flow rows
    options: list[Any]  # decode(): OptionsRecord objects
    counters: DecoderCounters  # of the decode() run

    def flow(
        self, src: str, dst: str, src_port: int | None = None, dst_port: int | None = None, export_ms: int | None = None
    ) -> dict[str, Any]:
        """The one normalised row with these addresses (and ports / export time, when given)."""
        rows = [
            row
            for row in self.flows
            if row["src_addr"] == src
            and row["dst_addr"] == dst
            and (src_port is None or row["src_port"] == src_port)
            and (dst_port is None or row["dst_port"] == dst_port)
            and (export_ms is None or row["export_ms"] == export_ms)
        ]
        assert len(rows) == 1, f"{len(rows)} rows for {src}:{src_port} -> {dst}:{dst_port}"
        return rows[0]

    def row(self, **columns: Any) -> dict[str, Any]:
        """The normalised row whose columns have the given values (samples repeat some records
        verbatim: several identical rows count as one)."""
        rows = [row for row in self.flows if all(row[name] == value for name, value in columns.items())]
        assert rows, f"no row matches {columns}"
        assert all(row == rows[0] for row in rows), f"{len(rows)} different rows match {columns}"
        return rows[0]

    @property
    def flow_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["_kind"] == "flow"]


def decode_group(*files: str) -> Decoded:
    datagrams = vendor_datagrams(*files)
    records = FlowDecoder().inspect(datagrams, now=NOW)
    fast = FlowDecoder()
    batch = fast.decode(datagrams, now=NOW)
    return Decoded(records, batch.flows.to_dicts(), batch.options, fast.counters)


def rfc3954_ms(record: dict[str, Any], element: str) -> int:
    """Absolute time of a sysUptime-relative field, computed here from the raw values:
    export time − (sysUptime − value), the difference taken as a signed 32-bit number."""
    delta = (record["_uptime_ms"] - record[element]) & 0xFFFFFFFF
    if delta >= 1 << 31:
        delta -= 1 << 32
    result: int = record["_export_ms"] - delta
    return result


def assert_fields(record: dict[str, Any], expected: dict[str, Any]) -> None:
    """`record` has these fields with these values (one assertion, so a failure shows them all)."""
    assert {key: record.get(key, "<missing>") for key in expected} == expected
