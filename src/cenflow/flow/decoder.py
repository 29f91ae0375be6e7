"""`FlowDecoder`: NetFlow v5 / v9 and IPFIX datagrams in, normalised flow columns out.

Usage::

    decoder = FlowDecoder(store=JsonDirTemplateStore(data_dir / "templates"))
    batch = decoder.decode([Datagram(payload, "192.0.2.1", 50123), ...])
    batch.flows        # FlowBatch: numpy columns, see cenflow.flow.batch
    batch.options      # list[OptionsRecord]: options data (sampling, interface tables, ...)
    decoder.counters   # DecoderCounters: plain ints for metrics

Feed datagrams in arrival order, in batches (hundreds at a time amortise the numpy work); one
decoder owns its template state, so all datagrams of an exporter must go to the same decoder.
`inspect` is the slow debug path over the same state: every record as a dict keyed by IANA
element name, in wire order.  Neither method raises on bad input: a malformed datagram is
counted in `decode_errors` and dropped whole (templates read from its complete template sets
before the damage are kept).  Records of sets whose template is unknown wait in a bounded buffer
and come out of the `decode` call in which their template arrives.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cenflow.flow import v5
from cenflow.flow.batch import FlowBatch
from cenflow.flow.counters import DecoderCounters
from cenflow.flow.elements import Value
from cenflow.flow.pending import PendingSets
from cenflow.flow.records import OptionsEffects, options_effects
from cenflow.flow.registry import TemplateRegistry
from cenflow.flow.sequence import IN_ORDER, LATE, RESTART, SequenceState
from cenflow.flow.sinks import ColumnSink, DictSink, OptionsRecord, iter_records
from cenflow.flow.speedups import NATIVE
from cenflow.flow.streams import ExporterStream, MessageContext
from cenflow.flow.template_store import TemplateStore
from cenflow.flow.templates import StreamKey, Template, TemplateKind
from cenflow.flow.wire import (
    IPFIX_HEADER,
    IPFIX_OPTIONS_SET,
    IPFIX_TEMPLATE_SET,
    MIN_DATA_SET_ID,
    V9_HEADER,
    V9_OPTIONS_SET,
    V9_TEMPLATE_SET,
    MalformedError,
    parse_definitions,
    split_sets,
)

Sink = ColumnSink | DictSink
MAX_SAMPLERS = 1024  # sampler ids remembered per stream (routers have a handful)
# Placeholder until `_open` finds a message's stream.
NO_STREAM = ExporterStream("", 0, 0, 0, bytes(16), SequenceState(0))


class Datagram(NamedTuple):
    payload: bytes
    exporter: str  # source IP address as text
    port: int = 0  # source UDP port


# What `decode` takes: a Datagram, or a plain tuple that starts the same way (the receiver's
# (payload, exporter, port, received) tuples go in as they are: building a Datagram for each of
# ~40,000 datagrams per million records cost about 1 % of a collector's CPU, and the C path
# reads tuples anyway; only datagrams left to Python become Datagrams).
DatagramLike = Datagram | tuple[bytes, str, int] | tuple[bytes, str, int, float]


def as_datagram(datagram: DatagramLike) -> Datagram:
    return datagram if type(datagram) is Datagram else Datagram(datagram[0], datagram[1], datagram[2])


@dataclass(frozen=True, slots=True)
class DecoderConfig:
    template_lifetime: float = 7200.0  # seconds without a refresh before a template expires
    pending_max_bytes: int = 8 << 20  # data sets waiting for their template, all exporters
    pending_max_age: float = 120.0  # seconds a set may wait for its template
    max_templates: int = 100_000
    max_streams: int = 65_536  # (exporter, port, version, domain) remembered at once
    clock_tolerance_ms: int = 60_000  # restart detection, see cenflow.flow.sequence
    sweep_interval: float = 60.0  # how often `decode` looks for expired templates
    native: bool = True  # use the C fast path (cenflow.flow.speedups) when it is built


@dataclass(slots=True)
class DecodedBatch:
    flows: FlowBatch
    options: list[OptionsRecord] = field(default_factory=list)


class _Message:
    """What one datagram changes, applied only once the whole datagram has parsed."""

    __slots__ = (
        "effects",
        "export_ms",
        "learned",
        "pending",
        "rate",
        "sequence",
        "state",
        "stream",
        "units",
        "uptime_ms",
    )

    def __init__(self, stream: ExporterStream, export_ms: int, uptime_ms: int, rate: int, sequence: int) -> None:
        self.stream = stream
        self.export_ms = export_ms
        self.uptime_ms = uptime_ms
        self.rate = rate
        self.sequence = sequence
        self.units: int | None = None
        self.state = IN_ORDER  # or LATE / RESTART (sequence.check)
        # Allocated when needed: most datagrams only carry data of known templates.
        self.effects: list[OptionsEffects] | None = None
        self.pending: list[tuple[int, bytes]] | None = None
        self.learned: list[int] | None = None

    @property
    def context(self) -> MessageContext:
        return MessageContext(self.stream, self.export_ms, self.uptime_ms, self.rate)


class FlowDecoder:
    def __init__(
        self,
        store: TemplateStore | None = None,
        config: DecoderConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or DecoderConfig()
        self.counters = DecoderCounters()
        self._clock = clock
        self.registry = TemplateRegistry(
            store,
            self.counters,
            template_lifetime=self.config.template_lifetime,
            max_templates=self.config.max_templates,
            max_streams=self.config.max_streams,
            clock_tolerance_ms=self.config.clock_tolerance_ms,
        )
        self.pending = PendingSets(self.config.pending_max_bytes, self.config.pending_max_age)
        self._native = NATIVE if self.config.native else None
        now = clock()
        self.registry.load(now)
        self._next_sweep = now + self.config.sweep_interval

    # -- public ------------------------------------------------------------------------------

    def decode(
        self, datagrams: Iterable[DatagramLike], now: float | None = None, *, options: bool = True
    ) -> DecodedBatch:
        """Decode a batch of datagrams into flow columns (fast path); ``options=False`` leaves
        the batch's ``options`` empty (options records still count and take effect)."""
        now = self._clock() if now is None else now
        sink = ColumnSink(keep_options=options)
        if self._native is not None:
            self._decode_native(datagrams if isinstance(datagrams, list) else list(datagrams), now, sink)
        else:
            for datagram in datagrams:
                self._datagram(as_datagram(datagram), now, sink)
        self._housekeeping(now)
        flows = sink.build()
        self.counters.flow_records += len(flows)
        self.counters.options_records += sink.options_seen
        return DecodedBatch(flows, sink.options)

    def _decode_native(self, datagrams: list[DatagramLike], now: float, sink: ColumnSink) -> None:
        """`_datagram` for each datagram, with runs of common ones done in C (`_speedups.decode_run`
        calls the same registry methods, repeats `SequenceState.check`/`account` where it can (else
        calls them), and repeats `registry.learn`'s refresh of an unchanged template and
        `_options_set` + `_apply_options` for options data when the sink keeps no options
        records); the rest, or the rest of one, in Python."""
        native = self._native
        assert native is not None
        counters = self.counters
        lifetime = self.registry.template_lifetime
        index, total = 0, len(datagrams)
        while index < total:
            index, done, late, gaps, lost, template_records, options_seen, resume = native.decode_run(
                datagrams, index, now, self.registry, lifetime, sink
            )
            counters.datagrams += done
            counters.sequence_late += late
            counters.sequence_gaps += gaps
            counters.sequence_lost += lost
            counters.template_records += template_records
            sink.options_seen += options_seen  # before the next `sink.begin` marks it
            if index >= total:
                break
            if resume is None:
                self._datagram(as_datagram(datagrams[index]), now, sink)
            else:
                self._resume(as_datagram(datagrams[index]), resume, now, sink)
            index += 1

    def _resume(self, datagram: Datagram, resume: tuple[Any, ...], now: float, sink: ColumnSink) -> None:
        """The rest of `_datagram` for a v9/IPFIX datagram whose stream C has opened: its header
        is parsed, its framing checked, `registry.stream` and `sequence.check` called."""
        stream, state, version, export_ms, uptime_ms, sequence, start, end = resume
        self.counters.datagrams += 1
        sink.begin()
        message = _Message(stream, export_ms, uptime_ms, 0, sequence)
        message.state = state
        try:
            if state == RESTART:
                self._restart(stream)
            self._sets(datagram.payload, version, start, end, message, now, sink)
        except (MalformedError, struct.error, IndexError, ValueError, OverflowError):
            sink.rollback()
            self.counters.decode_errors += 1
            return
        self._commit(message, now, sink)

    def inspect(self, datagrams: Iterable[Datagram], now: float | None = None) -> list[dict[str, Value]]:
        """Decode datagrams into one dict per record, in wire order (slow debug path)."""
        now = self._clock() if now is None else now
        sink = DictSink()
        for datagram in datagrams:
            self._datagram(datagram, now, sink)
        self._housekeeping(now)
        self.counters.flow_records += sum(1 for r in sink.records if r["_kind"] == "flow")
        self.counters.options_records += sum(1 for r in sink.records if r["_kind"] == "options")
        return sink.records

    def templates(self) -> list[Template]:
        return self.registry.templates()

    def stream(self, exporter: str, port: int, version: int, domain: int) -> ExporterStream | None:
        """State kept for one stream (sampling rates, boot time, templates), if any."""
        return self.registry.streams.get(StreamKey(exporter, port, version, domain))

    # -- per datagram ----------------------------------------------------------------------

    def _datagram(self, datagram: Datagram, now: float, sink: Sink) -> None:
        self.counters.datagrams += 1
        payload = datagram.payload
        sink.begin()
        try:
            version = (payload[0] << 8 | payload[1]) if len(payload) >= 2 else 0
            if version == 5:
                message = self._v5(payload, datagram, now, sink)
            elif version in (9, 10):
                message = self._templated(payload, version, datagram, now, sink)
            else:
                raise MalformedError(f"unsupported version {version}")
        except (MalformedError, struct.error, IndexError, ValueError, OverflowError):
            sink.rollback()
            self.counters.decode_errors += 1
            return
        self._commit(message, now, sink)

    def _commit(self, message: _Message, now: float, sink: Sink) -> None:
        stream = message.stream
        if message.effects:
            for effect in message.effects:
                self._apply_options(stream, effect)
        if message.state == LATE:
            self.counters.sequence_late += 1
        else:
            lost = stream.sequence.account(message.sequence, message.units, message.export_ms, message.uptime_ms)
            if lost:
                self.counters.sequence_gaps += 1
                self.counters.sequence_lost += lost
        if message.pending:
            context = message.context
            for template_id, body in message.pending:
                kept, dropped = self.pending.add(template_id, body, context, now)
                self.counters.pending_dropped += dropped + (0 if kept else 1)
        if message.learned:
            for template_id in message.learned:
                self._release_pending(stream, template_id, now, sink)

    def _release_pending(self, stream: ExporterStream, template_id: int, now: float, sink: Sink) -> None:
        waiting = self.pending.take(stream, template_id)
        if not waiting:
            return
        active = self.registry.lookup(stream, template_id, now)
        if active is None:
            self.counters.pending_dropped += len(waiting)
            return
        for entry in waiting:
            ctx = sink.context(*entry.context)
            view = memoryview(entry.body)
            if active.template.kind is TemplateKind.OPTIONS:
                for raw in iter_records(active.template, view, 0, len(view)):
                    self._apply_options(stream, options_effects(active.template, raw))
                    sink.add_options(active.template, raw, entry.context)
            else:
                sink.data(active, view, 0, len(view), ctx, template_id)
            self.counters.pending_decoded += 1

    @staticmethod
    def _apply_options(stream: ExporterStream, effect: OptionsEffects) -> None:
        if effect.rate:
            if effect.sampler_id is None:
                stream.default_rate = effect.rate
            elif effect.sampler_id in stream.sampler_rates or len(stream.sampler_rates) < MAX_SAMPLERS:
                stream.sampler_rates[effect.sampler_id] = effect.rate
        if effect.boot_ms is not None:
            stream.boot_ms = effect.boot_ms

    def _restart(self, stream: ExporterStream) -> None:
        self.counters.exporter_restarts += 1
        self.registry.drop_templates(stream)
        stream.forget_exporter_state()
        self.counters.pending_dropped += self.pending.drop_stream(stream)

    def _open(self, datagram: Datagram, version: int, domain: int, message: _Message, now: float) -> None:
        """Find the message's stream and classify its sequence number (see `sequence`)."""
        stream = self.registry.stream((datagram.exporter, datagram.port, version, domain), now)
        message.stream = stream
        message.state = stream.sequence.check(message.sequence, message.export_ms, message.uptime_ms)
        if message.state == RESTART:
            self._restart(stream)

    def _v5(self, payload: bytes, datagram: Datagram, now: float, sink: Sink) -> _Message:
        header = v5.parse_header(payload)
        message = _Message(NO_STREAM, header.export_ms, header.uptime_ms, header.rate, header.sequence)
        self._open(datagram, 5, header.domain, message, now)
        message.units = header.records
        sink.v5(
            memoryview(payload),
            header.records,
            sink.context(message.stream, header.export_ms, header.uptime_ms, header.rate),
        )
        return message

    def _templated(self, payload: bytes, version: int, datagram: Datagram, now: float, sink: Sink) -> _Message:
        if version == 9:
            _, _, uptime_ms, unix_secs, sequence, domain = V9_HEADER.unpack_from(payload)
            export_ms, start, end = unix_secs * 1000, V9_HEADER.size, len(payload)
        else:
            _, length, export_s, sequence, domain = IPFIX_HEADER.unpack_from(payload)
            if not IPFIX_HEADER.size <= length <= len(payload):
                raise MalformedError(f"IPFIX length {length} for a {len(payload)}-byte datagram")
            uptime_ms, export_ms, start, end = -1, export_s * 1000, IPFIX_HEADER.size, length
        sets = split_sets(payload, start, end)  # framing is checked before anything is learned
        message = _Message(NO_STREAM, export_ms, uptime_ms, 0, sequence)
        self._open(datagram, version, domain, message, now)
        return self._sets(payload, version, start, end, message, now, sink, sets)

    def _sets(
        self,
        payload: bytes,
        version: int,
        start: int,
        end: int,
        message: _Message,
        now: float,
        sink: Sink,
        sets: list[tuple[int, int, int]] | None = None,
    ) -> _Message:
        """Every set of an opened message (stream found, sequence number checked)."""
        if sets is None:
            sets = split_sets(payload, start, end)
        stream = message.stream
        if version == 9:
            message.units = 1
        ctx = sink.context(stream, message.export_ms, message.uptime_ms, 0)
        template_set, options_set = (
            (V9_TEMPLATE_SET, V9_OPTIONS_SET) if version == 9 else (IPFIX_TEMPLATE_SET, IPFIX_OPTIONS_SET)
        )
        view = memoryview(payload)
        templates = stream.templates
        lifetime = self.registry.template_lifetime
        records = 0
        unknown = False
        for set_id, body_start, body_end in sets:
            if set_id >= MIN_DATA_SET_ID:
                active = templates.get(set_id)
                if active is not None and now - active.last_seen > lifetime:
                    active = self.registry.lookup(stream, set_id, now)  # expires it
                if active is None:
                    self.counters.template_misses += 1
                    if message.pending is None:
                        message.pending = []
                    message.pending.append((set_id, bytes(view[body_start:body_end])))
                    unknown = True
                elif active.layout is not None or active.varlen is not None:
                    records += sink.data(active, view, body_start, body_end, ctx, set_id)
                else:
                    records += self._options_set(active.template, view, body_start, body_end, message, sink)
            elif set_id in (template_set, options_set):
                self._template_set(payload, body_start, body_end, set_id == template_set, message, now)
            # other set ids are reserved: skipped
        if version == 10 and not unknown:
            message.units = records
        return message

    def _options_set(
        self, template: Template, view: memoryview, start: int, end: int, message: _Message, sink: Sink
    ) -> int:
        records = iter_records(template, view, start, end)
        context = message.context
        if message.effects is None:
            message.effects = []
        for raw in records:
            message.effects.append(options_effects(template, raw))
            sink.add_options(template, raw, context)
        return len(records)

    def _template_set(self, payload: bytes, start: int, end: int, data: bool, message: _Message, now: float) -> None:
        stream = message.stream
        kind = TemplateKind.DATA if data else TemplateKind.OPTIONS
        for definition in parse_definitions(payload, start, end, stream.version, not data):
            self.counters.template_records += 1
            if not definition.fields:
                self.registry.withdraw(stream, definition.template_id, kind)
                continue
            learned = self.registry.learn(
                stream,
                definition.template_id,
                kind,
                definition.fields,
                definition.scope_field_count,
                now,
                definition.wire,
            )
            if learned is not None:
                if message.learned is None:
                    message.learned = []
                message.learned.append(definition.template_id)

    # -- housekeeping ----------------------------------------------------------------------

    def _housekeeping(self, now: float) -> None:
        self.counters.pending_expired += self.pending.expire(now)
        if now >= self._next_sweep:
            self.registry.expire(now)
            self._next_sweep = now + self.config.sweep_interval
        for stream in self.registry.take_evicted():
            self.counters.pending_dropped += self.pending.drop_stream(stream)
        self.counters.pending_sets = self.pending.count
        self.counters.pending_bytes = self.pending.bytes

    def expire(self, now: float | None = None) -> None:
        """Drop expired templates and pending sets now (decode does this periodically)."""
        now = self._clock() if now is None else now
        self._next_sweep = now
        self._housekeeping(now)
