"""Type stub of the C extension `cenflow.flow._speedups` (see _speedups.c)."""

from collections.abc import Callable, Sequence
from typing import Any

from typing_extensions import Buffer

MAX_SAMPLERS: int

def framing_ok(payload: Buffer, start: int, end: int, /) -> bool: ...
def gather(
    payload: Buffer,
    start: int,
    end: int,
    version: int,
    templates: dict[int, object],
    now: float,
    lifetime: float,
    groups: dict[object, object],
    ctx: int,
    /,
) -> int: ...
def address_texts(values: Buffer, /) -> tuple[bytes, bytes]: ...
def decode_run(
    datagrams: list[Any], first: int, now: float, registry: object, lifetime: float, sink: object, /
) -> tuple[int, int, int, int, int, int, int, tuple[Any, ...] | None]: ...
def aggregate(
    parts: Sequence[tuple[Buffer, Buffer, Buffer, Buffer]], width: int, /
) -> tuple[bytearray, bytearray, bytearray, bytearray]: ...
def drain_udp(fd: int, max_count: int, received: float, out: list[tuple[bytes, str, int, float]], /) -> int: ...
def spool_records(received: list[tuple[bytes, str, int, float]], address16: Callable[[str], bytes], /) -> bytes: ...
