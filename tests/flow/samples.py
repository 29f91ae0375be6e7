"""Access to the shared flow test data (`../shared/testdata/` beside the project checkout)."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cenflow.flow import Datagram, read_udp

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
VENDORS = TESTDATA / "netflow-vendors"
GENERATED = TESTDATA / "generated"
EXPORTER = "192.0.2.1"
EXPORTER_PORT = 2055
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def require_testdata() -> None:
    assert VENDORS.is_dir(), f"shared test data missing at {TESTDATA}"
    assert GENERATED.is_dir(), f"shared test data missing at {TESTDATA}"


def split_messages(data: bytes) -> list[bytes]:
    """Split a sample file into export messages (v5 by record count, IPFIX by length)."""
    version = struct.unpack_from(">H", data)[0]
    if version not in (5, 10):
        return [data]  # v9 has no message length: one file is one datagram
    messages: list[bytes] = []
    offset = 0
    while offset < len(data):
        if version == 5:
            size = 24 + 48 * struct.unpack_from(">H", data, offset + 2)[0]
        else:
            size = struct.unpack_from(">H", data, offset + 2)[0]
        if size < 16 or offset + size > len(data):
            messages.append(data[offset:])  # an invalid sample: hand it over as it is
            break
        messages.append(data[offset : offset + size])
        offset += size
    return messages


def vendor_datagrams(*names: str) -> list[Datagram]:
    """The messages of the named sample files, in order, as datagrams from one exporter."""
    return [
        Datagram(message, EXPORTER, EXPORTER_PORT)
        for name in names
        for message in split_messages((VENDORS / name).read_bytes())
    ]


@cache
def softflowd_datagrams(version: str) -> tuple[Datagram, ...]:
    """The softflowd export of traffic_small.pcap (`v5`, `v9` or `ipfix`), read with our pcap reader."""
    path = GENERATED / f"softflowd_export_{version}.pcap"
    return tuple(Datagram(p.payload, p.src, p.src_port) for p in read_udp(path))


@cache
def truth() -> dict[str, tuple[int, int]]:
    raw = json.loads((GENERATED / "traffic_small.truth.json").read_text())
    return {key: (int(value[0]), int(value[1])) for key, value in raw.items()}


def ms(iso: str) -> int:
    """Unix milliseconds (floored) of an ISO-8601 UTC time such as 2015-10-08T19:03:46.140Z."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (moment - EPOCH) // timedelta(milliseconds=1)
