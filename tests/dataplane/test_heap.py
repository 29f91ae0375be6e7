"""`cenflow.collector.heap`: freed memory is kept for reuse instead of being mapped afresh."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cenflow.collector.heap import retain_freed_memory

# Applies the settings (in a process of its own: they are process-wide), then allocates and touches
# 8 x 512 KiB and frees them, 40 times over; prints whether the settings took and the minor page
# faults.
# With glibc's defaults the freed heap top goes back to the kernel each time, so every round
# faults its pages in again.
CHURN = textwrap.dedent(
    """
    import resource, sys
    from cenflow.collector.heap import retain_freed_memory
    taken = retain_freed_memory(int(sys.argv[1]))
    def churn():
        blocks = [b"\\x01" * (512 << 10) for _ in range(8)]
        del blocks
    churn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(40):
        churn()
    print(taken, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _churn(retain_bytes: int) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", CHURN, str(retain_bytes)], capture_output=True, text=True, check=True, timeout=60
    )
    taken, faults = result.stdout.split()
    return taken, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_retained_memory_is_reused_without_page_faults() -> None:
    (default_taken, default), (retained_taken, retained) = _churn(0), _churn(64 << 20)
    assert (default_taken, retained_taken) == ("False", "True")
    assert default > 40 * 8 * 64  # the C library's defaults: at least half the pages every round
    assert retained < default / 10


def test_zero_keeps_the_c_librarys_defaults() -> None:
    assert retain_freed_memory(0) is False
