"""The template registry: export streams, their templates, lifetime and persistence.

Rules:
* a template is keyed by (exporter, port, version, domain, template id) — see `templates`;
* re-sending the same definition refreshes it; a different definition under a known id replaces
  it (`templates_redefined`), and the new definition is written to the store;
* a template not re-announced within `template_lifetime` seconds expires (checked on use and by
  `expire`); UDP exporters must refresh periodically, so the lifetime should be several refresh
  intervals (Juniper 60 s, H3C up to 30 min: the default is 2 h);
* IPFIX withdrawals remove one template, or all (options) templates of the domain;
* an exporter restart (see `sequence`) removes all templates of its stream;
* the store is written on change, and on refresh at most every `template_lifetime / 4` seconds,
  so templates loaded after a collector restart still carry a recent `last_seen`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict

from cenflow.flow.counters import DecoderCounters
from cenflow.flow.sequence import SequenceState
from cenflow.flow.streams import ActiveTemplate, ExporterStream, exporter_bytes
from cenflow.flow.template_store import TemplateStore
from cenflow.flow.templates import FieldSpec, StreamKey, Template, TemplateKey, TemplateKind

log = logging.getLogger(__name__)


class TemplateRegistry:
    def __init__(
        self,
        store: TemplateStore | None,
        counters: DecoderCounters,
        *,
        template_lifetime: float,
        max_templates: int,
        max_streams: int,
        clock_tolerance_ms: int,
    ) -> None:
        self.store = store
        self.counters = counters
        self.template_lifetime = template_lifetime
        self.max_templates = max_templates
        self.max_streams = max_streams
        self.clock_tolerance_ms = clock_tolerance_ms
        # Least recently seen first, so evicting for room is O(1).
        self.streams: OrderedDict[tuple[str, int, int, int], ExporterStream] = OrderedDict()
        self.evicted: list[ExporterStream] = []  # streams forgotten, until the decoder asks

    # -- streams ---------------------------------------------------------------------------

    def stream(self, key: tuple[str, int, int, int], now: float) -> ExporterStream:
        """The stream for (exporter, port, version, domain), created if new.  A plain tuple is
        accepted (it equals the `StreamKey` of the same values) to keep the per-datagram path cheap."""
        stream = self.streams.get(key)
        if stream is not None:
            self.streams.move_to_end(key)
        else:
            key = StreamKey(*key)
            if len(self.streams) >= self.max_streams:
                self._evict_least_recent()
            stream = ExporterStream(
                exporter=key.exporter,
                port=key.port,
                version=key.version,
                domain=key.domain,
                address16=exporter_bytes(key.exporter),
                sequence=SequenceState(key.version, self.clock_tolerance_ms),
            )
            self.streams[key] = stream
        stream.last_seen = now
        return stream

    def _evict_least_recent(self) -> ExporterStream:
        _, stream = self.streams.popitem(last=False)
        self.drop_templates(stream)
        self.counters.streams_evicted += 1
        self.evicted.append(stream)
        return stream

    def take_evicted(self) -> list[ExporterStream]:
        evicted, self.evicted = self.evicted, []
        return evicted

    # -- templates -------------------------------------------------------------------------

    def load(self, now: float) -> None:
        """Read the store, dropping what has expired while the collector was down."""
        if self.store is None:
            return
        for template in self.store.load():
            if now - template.last_seen > self.template_lifetime:
                self.store.delete(template.key)
                continue
            stream = self.stream(template.key.stream, template.last_seen)
            stream.templates[template.key.template_id] = ActiveTemplate.prepare(template, template.last_seen)
            self.counters.templates_active += 1

    def lookup(self, stream: ExporterStream, template_id: int, now: float) -> ActiveTemplate | None:
        active = stream.templates.get(template_id)
        if active is not None and now - active.last_seen > self.template_lifetime:
            self._remove(stream, template_id)
            self.counters.templates_expired += 1
            return None
        return active

    def learn(
        self,
        stream: ExporterStream,
        template_id: int,
        kind: TemplateKind,
        fields: tuple[FieldSpec, ...],
        scope_count: int,
        now: float,
        wire: bytes | None = None,
    ) -> ActiveTemplate | None:
        """Register a (re)announced template; return it if it is new or changed, else None.
        `wire` is the announcement's `TemplateDefinition.wire`, kept with the active template.

        The C decoder (`_speedups.decode_run`) repeats the first branch for a re-announcement
        whose `wire` bytes equal the kept ones and that needs no store write: keep them in step."""
        current = stream.templates.get(template_id)
        # Exporters re-announce unchanged templates all the time (softflowd: every 16 packets):
        # compared before building anything.
        if (
            current is not None
            and current.template.kind is kind
            and current.template.fields == fields
            and current.template.scope_field_count == scope_count
        ):
            current.last_seen = now
            if wire is not None:
                current.wire = wire  # e.g. a template loaded from the store has none yet
            if now - current.persisted_at > self.template_lifetime / 4:
                self._persist(dataclasses.replace(current.template, last_seen=now))
                current.persisted_at = now
            return None
        key = TemplateKey(stream.exporter, stream.port, stream.version, stream.domain, template_id)
        template = Template(key, kind, fields, scope_count, now)
        if current is None:
            if self.counters.templates_active >= self.max_templates:
                self.counters.templates_rejected += 1
                return None
            self.counters.templates_learned += 1
            self.counters.templates_active += 1
        else:
            self.counters.templates_redefined += 1
        active = ActiveTemplate.prepare(template, now, wire)
        stream.templates[template_id] = active
        self._persist(template)
        return active

    def withdraw(self, stream: ExporterStream, template_id: int, kind: TemplateKind) -> None:
        """IPFIX withdrawal; template id 2 (3) withdraws every data (options) template."""
        if template_id >= 256:
            targets = [template_id] if template_id in stream.templates else []
        else:
            targets = [tid for tid, active in stream.templates.items() if active.template.kind is kind]
        for tid in targets:
            self._remove(stream, tid)
            self.counters.templates_withdrawn += 1

    def drop_templates(self, stream: ExporterStream) -> None:
        for tid in list(stream.templates):
            self._remove(stream, tid)

    def expire(self, now: float) -> None:
        """Drop templates not refreshed within the lifetime, and streams silent that long."""
        for key, stream in list(self.streams.items()):
            for tid, active in list(stream.templates.items()):
                if now - active.last_seen > self.template_lifetime:
                    self._remove(stream, tid)
                    self.counters.templates_expired += 1
            if not stream.templates and now - stream.last_seen > self.template_lifetime:
                del self.streams[key]  # its sequence and sampling state are stale by now
                self.evicted.append(stream)

    def templates(self) -> list[Template]:
        return [
            dataclasses.replace(active.template, last_seen=active.last_seen)
            for stream in self.streams.values()
            for active in stream.templates.values()
        ]

    def _remove(self, stream: ExporterStream, template_id: int) -> None:
        active = stream.templates.pop(template_id, None)
        if active is None:
            return
        self.counters.templates_active -= 1
        if self.store is not None:
            try:
                self.store.delete(active.template.key)
            except OSError as exc:
                log.warning("template store delete failed: %s", exc)

    def _persist(self, template: Template) -> None:
        if self.store is None:
            return
        try:
            self.store.save(template)
        except OSError as exc:
            # Persistence is an optimisation (no wait for a refresh after a restart); decoding
            # goes on without it.
            log.warning("template store save failed: %s", exc)
