"""Keeping freed heap memory for reuse: the C allocator's settings for processes that collect.

Why: the collector allocates and frees arrays of a few hundred KiB to a few MiB for every receive
batch and every window write.  With glibc's defaults those come from pages the kernel has to map
and zero again and again (glibc gives the heap's free top back past a threshold that starts at
128 KiB, and serves large requests from mappings of their own): page faults and page clearing
were about a tenth of the collector's CPU in `bench/collector_cpu.py`.  Serving allocations below
32 MiB (glibc's ceiling for this setting) from the heap, and keeping up to ``retain`` bytes of
freed heap before returning any, cut its CPU per record by 10-15 % (medians of three alternating
pairs: v9 1.36 -> 1.15 CPU-s per M records, IPFIX 1.33 -> 1.20).

The price: after a burst, the process stays up to ``retain`` bytes larger than its live data until
it allocates again.  A C library without glibc's ``mallopt`` (musl, macOS) is left as it is.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc's <malloc.h> parameter numbers
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 << 20  # glibc refuses more on 64-bit platforms
DEFAULT_RETAIN_MIB = 256


def retain_freed_memory(retain_bytes: int) -> bool:
    """Apply the settings for this whole process; whether the C library took them."""
    if retain_bytes <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    retain = min(retain_bytes, 2**31 - 1)
    taken: bool = mallopt(M_MMAP_THRESHOLD, min(retain, MMAP_THRESHOLD_MAX)) == 1
    taken = mallopt(M_TRIM_THRESHOLD, retain) == 1 and taken
    if not taken:
        log.info("heap settings not applied: the C library refused them", extra={"retain_bytes": retain})
    return taken
