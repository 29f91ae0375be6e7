"""Decoder counters, as plain integers the receiver can export as Prometheus metrics.

Everything except the three gauges at the end only ever grows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(slots=True)
class DecoderCounters:
    datagrams: int = 0  # datagrams offered to the decoder
    decode_errors: int = 0  # malformed/truncated/unsupported datagrams, dropped whole
    flow_records: int = 0  # flow records emitted
    options_records: int = 0  # options-data records decoded
    template_records: int = 0  # template and options-template records read (incl. refreshes)
    templates_learned: int = 0  # new templates
    templates_redefined: int = 0  # a known id re-sent with different fields
    templates_withdrawn: int = 0  # IPFIX withdrawals
    templates_expired: int = 0  # not refreshed within the template lifetime
    templates_rejected: int = 0  # refused because the registry is full
    template_misses: int = 0  # data sets whose template was unknown on arrival
    pending_decoded: int = 0  # ... of which decoded later, when the template arrived
    pending_expired: int = 0  # ... dropped after waiting `pending_max_age`
    pending_dropped: int = 0  # ... dropped to stay under `pending_max_bytes` (or on restart)
    sequence_gaps: int = 0  # messages that revealed missing sequence units
    sequence_lost: int = 0  # missing units (v5 flows, v9 packets, IPFIX records)
    sequence_late: int = 0  # messages behind the newest (reordered/duplicated)
    exporter_restarts: int = 0  # restarts detected (see `cenflow.flow.sequence`)
    streams_evicted: int = 0  # streams forgotten to stay under `max_streams`
    # Gauges: current sizes.
    templates_active: int = 0
    pending_sets: int = 0
    pending_bytes: int = 0

    def snapshot(self) -> dict[str, int]:
        # What dataclasses.asdict gives (every field, in order), without its deep copies: the
        # collector takes a snapshot per receive batch.
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(field.name for field in fields(DecoderCounters))
