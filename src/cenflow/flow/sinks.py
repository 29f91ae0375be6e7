"""Where decoded sets go: columns for the fast path, dicts for the debug path.

The decoder walks messages (phase A) and hands each data set to a sink.  `ColumnSink` appends
the set's records to its layout's buffer (the C gatherer appends to the same buffers); `build`
then reads each buffer with one `np.frombuffer` and normalises it (phase B).  `DictSink` renders
every record as a dict on the spot.  Both can roll back what one datagram added, so a malformed
datagram leaves no trace.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cenflow.flow import v5
from cenflow.flow.batch import FlowBatch
from cenflow.flow.elements import Value
from cenflow.flow.layout import RecordLayout
from cenflow.flow.normalise import RecordContext, normalise
from cenflow.flow.records import field_names, render_record
from cenflow.flow.streams import ActiveTemplate, ExporterStream, MessageContext
from cenflow.flow.templates import Template
from cenflow.flow.wire import MalformedError, split_record

_SET_ENTRY = struct.Struct("=qqq")  # count, context, template id: native int64, as _speedups writes


@dataclass(slots=True)
class OptionsRecord:
    """One options-data record: exporter metadata such as sampling or interface tables."""

    exporter: str
    port: int
    version: int
    domain: int
    template_id: int
    export_ms: int
    scope: dict[str, Value]
    values: dict[str, Value]


def options_record(template: Template, raw: list[bytes], context: MessageContext) -> OptionsRecord:
    rendered = render_record(template, raw)
    names = [name for name, _ in field_names(template)]
    scope_names = set(names[: template.scope_field_count])
    stream = context.stream
    return OptionsRecord(
        exporter=stream.exporter,
        port=stream.port,
        version=stream.version,
        domain=stream.domain,
        template_id=template.key.template_id,
        export_ms=context.export_ms,
        scope={k: v for k, v in rendered.items() if k in scope_names},
        values={k: v for k, v in rendered.items() if k not in scope_names},
    )


def iter_records(template: Template, buf: bytes | memoryview, start: int, end: int) -> list[list[bytes]]:
    """Raw fields of each complete record in a set; a short tail is padding and ignored."""
    records: list[list[bytes]] = []
    minimum = template.min_record_length
    offset = start
    while minimum > 0 and end - offset >= minimum:
        try:
            raw, offset = split_record(template.fields, buf, offset, end)
        except MalformedError:
            break
        records.append(raw)
    return records


class _Group:
    """The sets of one layout in a batch, in arrival order: their records back to back in
    `records`, and per set its (record count, message context, template id) as native int64
    triples in `sets`.  Plain bytearrays, so the C gatherer (`_speedups.gather`) appends to
    the same buffers as the Python path."""

    __slots__ = ("layout", "records", "sets")

    def __init__(self, layout: RecordLayout) -> None:
        self.layout = layout
        self.records = bytearray()
        self.sets = bytearray()

    def add(self, chunk: bytes | memoryview, count: int, ctx: int, template_id: int) -> None:
        self.records += chunk
        self.sets += _SET_ENTRY.pack(count, ctx, template_id)

    def table(self) -> npt.NDArray[np.int64]:
        """`sets` as an (n, 3) array of (count, context, template id)."""
        return np.frombuffer(self.sets, dtype=np.int64).reshape(-1, 3)

    def drop_from(self, context: int) -> None:
        """Forget the sets of contexts >= `context` (a rolled-back datagram); contexts only grow."""
        table = self.table()
        keep = int(np.searchsorted(table[:, 1], context))
        kept_records = int(table[:keep, 0].sum())
        del table
        del self.sets[keep * _SET_ENTRY.size :]
        del self.records[kept_records * self.layout.record_length :]


def _per_record(values: npt.NDArray[Any], stream: npt.NDArray[np.intp], single: bool) -> npt.NDArray[Any]:
    """A per-stream column spread over records (`stream` = each record's stream slot)."""
    return np.full(len(stream), values[0], dtype=values.dtype) if single else values[stream]


class ColumnSink:
    def __init__(self, *, keep_options: bool = True) -> None:
        # Layout -> its sets (layouts compare by identity; the C gatherer looks them up here).
        self.groups: dict[RecordLayout, _Group] = {}
        # Per message context, as columns: stream slot, export time, sysUptime, header rate.
        self.ctx_stream: list[int] = []
        self.ctx_export: list[int] = []
        self.ctx_uptime: list[int] = []
        self.ctx_rate: list[int] = []
        self.streams: list[ExporterStream] = []
        self._stream_slots: dict[int, int] = {}  # id(stream) -> index in `streams`
        self.options: list[OptionsRecord] = []
        # Without keep_options, options records are only counted: rendering each into names and
        # values cost more than decoding a data record, for a caller (the collector) that
        # reads nothing of them.  Their effects (sampling rates, boot time) apply either way.
        self.keep_options = keep_options
        self.options_seen = 0
        self._marks = (0, 0, 0)

    def begin(self) -> None:
        self._marks = (len(self.ctx_stream), len(self.options), self.options_seen)

    def rollback(self) -> None:
        contexts, options, seen = self._marks
        for group in self.groups.values():
            group.drop_from(contexts)
        del self.ctx_stream[contexts:], self.ctx_export[contexts:], self.ctx_uptime[contexts:]
        del self.ctx_rate[contexts:], self.options[options:]
        self.options_seen = seen

    def context(self, stream: ExporterStream, export_ms: int, uptime_ms: int, header_rate: int) -> int:
        """Register one message's header values; data sets refer to them by the returned index."""
        slot = self._stream_slots.get(id(stream))
        if slot is None:
            slot = self._stream_slots[id(stream)] = len(self.streams)
            self.streams.append(stream)
        self.ctx_stream.append(slot)
        self.ctx_export.append(export_ms)
        self.ctx_uptime.append(uptime_ms)
        self.ctx_rate.append(header_rate)
        return len(self.ctx_stream) - 1

    def group(self, layout: RecordLayout) -> _Group:
        group = self.groups.get(layout)
        if group is None:
            group = self.groups[layout] = _Group(layout)
        return group

    def data(self, active: ActiveTemplate, view: memoryview, start: int, end: int, ctx: int, template_id: int) -> int:
        layout = active.layout
        if layout is not None:
            size = layout.record_length
            count = (end - start) // size if size else 0
            if count:
                self.group(layout).add(view[start : start + count * size], count, ctx, template_id)
            return count
        assert active.varlen is not None
        compacted, count = active.varlen.compact(view[start:end])
        if count:
            self.group(active.varlen.layout).add(compacted, count, ctx, template_id)
        return count

    def v5(self, view: memoryview, count: int, ctx: int) -> None:
        if count:
            chunk = view[v5.HEADER_LENGTH : v5.HEADER_LENGTH + count * v5.RECORD_LENGTH]
            self.group(v5.LAYOUT).add(chunk, count, ctx, 0)

    def add_options(self, template: Template, raw: list[bytes], context: MessageContext) -> None:
        self.options_seen += 1
        if self.keep_options:
            self.options.append(options_record(template, raw, context))

    def build(self) -> FlowBatch:
        groups = [group for group in self.groups.values() if group.sets]
        if not groups:
            return FlowBatch.empty()
        streams = self.streams
        ctx_stream = np.array(self.ctx_stream, dtype=np.intp)
        ctx_export = np.array(self.ctx_export, dtype=np.int64)
        ctx_uptime = np.array(self.ctx_uptime, dtype=np.int64)
        ctx_rate = np.array(self.ctx_rate, dtype=np.uint64)
        st_version = np.array([s.version for s in streams], dtype=np.uint8)
        st_address = np.frombuffer(b"".join(s.address16 for s in streams), dtype="V16")
        st_port = np.array([s.port for s in streams], dtype=np.uint16)
        st_domain = np.array([s.domain for s in streams], dtype=np.uint32)
        st_boot = np.array([s.boot_ms for s in streams], dtype=np.int64)
        st_rate = np.array([max(1, s.default_rate) for s in streams], dtype=np.uint64)
        sampler_rates = [s.sampler_rates for s in streams]

        batches: list[FlowBatch] = []
        for group in groups:
            records = np.frombuffer(group.records, dtype=group.layout.dtype)
            table = group.table()
            per_set = table[:, 0].astype(np.intp)
            ctx = np.repeat(table[:, 1].astype(np.intp), per_set)
            # One exporter stream in the batch (common per receive batch) needs no gathers.
            single = len(streams) == 1
            stream = np.zeros(len(ctx), dtype=np.intp) if single else ctx_stream[ctx]
            header_rate = ctx_rate[ctx]
            record_context = RecordContext(
                version=_per_record(st_version, stream, single),
                exporter=_per_record(st_address, stream, single),
                exporter_port=_per_record(st_port, stream, single),
                domain=_per_record(st_domain, stream, single),
                template_id=np.repeat(table[:, 2].astype(np.uint16), per_set),
                export_ms=ctx_export[ctx],
                uptime_ms=ctx_uptime[ctx],
                boot_ms=_per_record(st_boot, stream, single),
                rate=np.where(header_rate > 0, header_rate, _per_record(st_rate, stream, single)),
                stream=stream,
                sampler_rates=sampler_rates,
            )
            batches.append(normalise(records, group.layout, record_context))
        return FlowBatch.concat(batches)


class DictSink:
    """Every record as a dict keyed by element name, in wire order, plus `_`-prefixed metadata."""

    def __init__(self) -> None:
        self.records: list[dict[str, Value]] = []
        self.contexts: list[MessageContext] = []
        self._marks = (0, 0)

    def begin(self) -> None:
        self._marks = (len(self.records), len(self.contexts))

    def rollback(self) -> None:
        del self.records[self._marks[0] :], self.contexts[self._marks[1] :]

    def context(self, stream: ExporterStream, export_ms: int, uptime_ms: int, header_rate: int) -> int:
        self.contexts.append(MessageContext(stream, export_ms, uptime_ms, header_rate))
        return len(self.contexts) - 1

    def _meta(self, kind: str, template_id: int, ctx: MessageContext) -> dict[str, Value]:
        stream = ctx.stream
        return {
            "_kind": kind,
            "_version": stream.version,
            "_exporter": stream.exporter,
            "_domain": stream.domain,
            "_template_id": template_id,
            "_export_ms": ctx.export_ms,
            "_uptime_ms": ctx.uptime_ms,
        }

    def data(self, active: ActiveTemplate, view: memoryview, start: int, end: int, ctx: int, template_id: int) -> int:
        records = iter_records(active.template, view, start, end)
        context = self.contexts[ctx]
        for raw in records:
            self.records.append(self._meta("flow", template_id, context) | render_record(active.template, raw))
        return len(records)

    def v5(self, view: memoryview, count: int, ctx: int) -> None:
        context = self.contexts[ctx]
        stream = context.stream
        template = v5.pseudo_template(stream.exporter, stream.port, stream.domain)
        for raw in iter_records(template, view, v5.HEADER_LENGTH, v5.HEADER_LENGTH + count * v5.RECORD_LENGTH):
            meta = self._meta("flow", 0, context) | {"_sampling_interval": context.header_rate}
            self.records.append(meta | render_record(template, raw))

    def add_options(self, template: Template, raw: list[bytes], context: MessageContext) -> None:
        meta = self._meta("options", template.key.template_id, context)
        self.records.append(meta | render_record(template, raw))
