"""The C hot loops of the decoder and the collector (`cenflow.flow._speedups`), if available.

`NATIVE` is the extension module, or None when it is not built or ``CENFLOW_PURE_PYTHON`` is
set; every caller keeps the Python code it replaces as the reference and the fallback, and the
C functions decline (rather than guess) whatever they do not handle.
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("CENFLOW_PURE_PYTHON"):
        return None
    try:
        from cenflow.flow import _speedups
    except ImportError:
        return None
    return _speedups


NATIVE = _load()
