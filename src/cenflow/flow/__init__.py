"""Flow-export decoding: NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011).

Public API (details in each module's docstring):

* `FlowDecoder` (`decoder`): ``decode(datagrams) -> DecodedBatch`` (fast, columnar) and
  ``inspect(datagrams) -> list[dict]`` (slow, one dict per record); `Datagram` is its input,
  `DecoderConfig` its limits, `DecoderCounters` (`counters`) its metrics.
* `FlowBatch` (`batch`): the normalised output, one numpy array per column.
* `OptionsRecord` (`sinks`): options data (sampling, interface tables) beside the flows.
* `TemplateStore`, `MemoryTemplateStore`, `JsonDirTemplateStore` (`template_store`): where
  templates survive a restart; `Template`, `TemplateKey`, `FieldSpec` (`templates`) describe them.
* `read_udp` (`pcap`): UDP payloads from a libpcap / pcapng capture, for replay.

Phase A walks headers and sets, learns templates and options, checks sequence numbers: runs of
common datagrams (data of known fixed-length templates) in C (`speedups`, `_speedups.c`), the
rest in Python, which is also the reference the C path is tested against; phase B (numpy) reads
all records of one template layout with one `np.frombuffer` per batch and normalises them
(`layout`, `normalise`).  Nothing here imports the API, the store or a web
framework: the receiver, the transit-router binding and window aggregation build on this.
"""

from cenflow.flow.batch import COLUMNS, FlowBatch, address_text, address_value
from cenflow.flow.counters import DecoderCounters
from cenflow.flow.decoder import Datagram, DecodedBatch, DecoderConfig, FlowDecoder
from cenflow.flow.pcap import UdpPacket, read_udp
from cenflow.flow.sinks import OptionsRecord
from cenflow.flow.template_store import JsonDirTemplateStore, MemoryTemplateStore, TemplateStore
from cenflow.flow.templates import FieldSpec, Template, TemplateKey, TemplateKind

__all__ = [
    "COLUMNS",
    "Datagram",
    "DecodedBatch",
    "DecoderConfig",
    "DecoderCounters",
    "FieldSpec",
    "FlowBatch",
    "FlowDecoder",
    "JsonDirTemplateStore",
    "MemoryTemplateStore",
    "OptionsRecord",
    "Template",
    "TemplateKey",
    "TemplateKind",
    "TemplateStore",
    "UdpPacket",
    "address_text",
    "address_value",
    "read_udp",
]
