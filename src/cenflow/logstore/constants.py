"""Constant columns (one value repeated per row) without building them for every table.

A collector writes several constant columns per window (account, CEN, router, flow log, writer
ids, the window bounds), each as long as the window.  Building a fresh multi-megabyte array each
time costs mostly page faults; instead the last few are kept at their largest length so far and
handed out as zero-copy slices.  Arrow arrays are immutable, so sharing them is safe.  Only text
is kept (ids repeat from window to window; integers such as window bounds do not).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pyarrow as pa

KEEP_BYTES = 32 << 20  # data of the arrays kept, all values together
_kept: OrderedDict[tuple[object, str], pa.Array] = OrderedDict()
_kept_bytes = 0
_lock = threading.Lock()


def constant_array(value: str | int, kind: pa.DataType, count: int) -> pa.Array:
    """``count`` copies of ``value`` as ``kind``: equal to ``pa.repeat(pa.scalar(value, kind), count)``."""
    global _kept_bytes
    if not isinstance(value, str):
        return _build(value, kind, count)  # cheap, and window bounds rarely repeat: not kept
    key = (value, str(kind))
    with _lock:
        kept = _kept.get(key)
        if kept is not None and len(kept) >= count:
            _kept.move_to_end(key)
            return kept.slice(0, count)
    built = _build(value, kind, max(count, 2 * len(kept)) if kept is not None else count)
    size = built.nbytes
    with _lock:
        if size <= KEEP_BYTES // 4:
            previous = _kept.pop(key, None)
            _kept_bytes -= previous.nbytes if previous is not None else 0
            _kept[key] = built
            _kept_bytes += size
            while _kept_bytes > KEEP_BYTES:
                _, evicted = _kept.popitem(last=False)
                _kept_bytes -= evicted.nbytes
    return built.slice(0, count)


def _build(value: str | int, kind: pa.DataType, count: int) -> pa.Array:
    if kind == pa.string() and isinstance(value, str):
        data = value.encode()
        if count * len(data) < 1 << 31:
            offsets = (np.arange(count + 1, dtype=np.int64) * len(data)).astype(np.int32)
            return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data * count))
    elif kind == pa.int64() and isinstance(value, int) and not isinstance(value, bool):
        return pa.array(np.full(count, value, dtype=np.int64))
    return pa.repeat(pa.scalar(value, kind), count)


_zeros = np.zeros(0, dtype=np.int32)


def constant_dictionary(value: str, count: int) -> pa.DictionaryArray:
    """``count`` copies of ``value`` as a one-entry dictionary array (what readers of the stored
    file see is plain text: see ``cenflow.logstore.parquet_io``).

    Building it costs a slice of a kept array of zero indices, and Parquet writes it without
    hashing every value; the plain array of `constant_array` is hashed row by row.
    """
    global _zeros
    zeros = _zeros
    if zeros.shape[0] < count:
        with _lock:
            if _zeros.shape[0] < count:
                _zeros = np.zeros(max(count, 2 * _zeros.shape[0]), dtype=np.int32)
            zeros = _zeros
    indices = pa.array(zeros[:count])  # zero-copy view: numpy arrays are not written to here
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()), safe=False)
