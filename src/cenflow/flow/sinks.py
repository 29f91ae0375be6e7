"""Where decoded sets go: columns for the fast path, dicts for the debug path.

The decoder walks messages (phase A) and hands each data set to a sink.  `ColumnSink` only
remembers a view of the set's bytes; `build` then joins all sets of one layout, reads them with
one `np.frombuffer` and normalises them (phase B).  `DictSink` renders every record as a dict on
the spot.  Both can roll back what one datagram added, so a malformed datagram leaves no trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cenflow.flow import v5
from cenflow.flow.batch import FlowBatch
from cenflow.flow.elements import Value
from cenflow.flow.layout import RecordLayout
from cenflow.flow.normalise import RecordContext, normalise
from cenflow.flow.records import field_names, render_record
from cenflow.flow.streams import ActiveTemplate, ExporterStream, MessageContext
from cenflow.flow.templates import Template
from cenflow.flow.wire import MalformedError, split_record


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


class ColumnSink:
    def __init__(self) -> None:
        # (layout, bytes of whole records, record count, context index, template id) per set
        self.entries: list[tuple[RecordLayout, Any, int, int, int]] = []
        self.contexts: list[MessageContext] = []
        self.options: list[OptionsRecord] = []
        self._marks = (0, 0, 0)

    def begin(self) -> None:
        self._marks = (len(self.entries), len(self.contexts), len(self.options))

    def rollback(self) -> None:
        entries, contexts, options = self._marks
        del self.entries[entries:], self.contexts[contexts:], self.options[options:]

    def context(self, context: MessageContext) -> int:
        self.contexts.append(context)
        return len(self.contexts) - 1

    def data(self, active: ActiveTemplate, view: memoryview, start: int, end: int, ctx: int, template_id: int) -> int:
        layout = active.layout
        if layout is not None:
            count = (end - start) // layout.record_length if layout.record_length else 0
            if count:
                self.entries.append(
                    (layout, view[start : start + count * layout.record_length], count, ctx, template_id)
                )
            return count
        assert active.varlen is not None
        compacted, count = active.varlen.compact(view[start:end])
        if count:
            self.entries.append((active.varlen.layout, compacted, count, ctx, template_id))
        return count

    def v5(self, view: memoryview, count: int, ctx: int) -> None:
        if count:
            self.entries.append(
                (v5.LAYOUT, view[v5.HEADER_LENGTH : v5.HEADER_LENGTH + count * v5.RECORD_LENGTH], count, ctx, 0)
            )

    def add_options(self, template: Template, raw: list[bytes], context: MessageContext) -> None:
        self.options.append(options_record(template, raw, context))

    def build(self) -> FlowBatch:
        if not self.entries:
            return FlowBatch.empty()
        streams: dict[int, int] = {}
        stream_list: list[ExporterStream] = []
        ctx_stream = np.empty(len(self.contexts), dtype=np.intp)
        for i, context in enumerate(self.contexts):
            slot = streams.get(id(context.stream))
            if slot is None:
                slot = streams[id(context.stream)] = len(stream_list)
                stream_list.append(context.stream)
            ctx_stream[i] = slot
        ctx_export = np.fromiter((c.export_ms for c in self.contexts), np.int64, len(self.contexts))
        ctx_uptime = np.fromiter((c.uptime_ms for c in self.contexts), np.int64, len(self.contexts))
        ctx_rate = np.fromiter((c.header_rate for c in self.contexts), np.uint64, len(self.contexts))
        st_version = np.array([s.version for s in stream_list], dtype=np.uint8)
        st_address = np.frombuffer(b"".join(s.address16 for s in stream_list), dtype="V16")
        st_port = np.array([s.port for s in stream_list], dtype=np.uint16)
        st_domain = np.array([s.domain for s in stream_list], dtype=np.uint32)
        st_boot = np.array([s.boot_ms for s in stream_list], dtype=np.int64)
        st_rate = np.array([max(1, s.default_rate) for s in stream_list], dtype=np.uint64)
        sampler_rates = [s.sampler_rates for s in stream_list]

        groups: dict[int, tuple[RecordLayout, list[Any], list[int], list[int], list[int]]] = {}
        for layout, chunk, count, ctx_index, template_id in self.entries:
            group = groups.get(id(layout))
            if group is None:
                group = groups[id(layout)] = (layout, [], [], [], [])
            group[1].append(chunk)
            group[2].append(count)
            group[3].append(ctx_index)
            group[4].append(template_id)

        batches: list[FlowBatch] = []
        for layout, chunks, counts, ctxs, template_ids in groups.values():
            records = np.frombuffer(b"".join(chunks), dtype=layout.dtype)
            per_set = np.array(counts, dtype=np.intp)
            ctx = np.repeat(np.array(ctxs, dtype=np.intp), per_set)
            stream = ctx_stream[ctx]
            header_rate = ctx_rate[ctx]
            record_context = RecordContext(
                version=st_version[stream],
                exporter=st_address[stream],
                exporter_port=st_port[stream],
                domain=st_domain[stream],
                template_id=np.repeat(np.array(template_ids, dtype=np.uint16), per_set),
                export_ms=ctx_export[ctx],
                uptime_ms=ctx_uptime[ctx],
                boot_ms=st_boot[stream],
                rate=np.where(header_rate > 0, header_rate, st_rate[stream]),
                stream=stream,
                sampler_rates=sampler_rates,
            )
            batches.append(normalise(records, layout, record_context))
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

    def context(self, context: MessageContext) -> int:
        self.contexts.append(context)
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
