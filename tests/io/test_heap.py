"""Freed heap memory goes back to the OS (glibc), so long scans keep a honest RSS."""

import sys

import numpy as np
import pytest

from areoscan.io.heap import limit_heap_growth, release_heap


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc / procfs only")
def test_release_heap_returns_fragmented_free_memory():
    # 64 KB blocks come from the heap (below the mmap threshold); keeping every 16th one pins the
    # heap, so free() alone cannot shrink it
    blocks = [np.ones(1 << 16, dtype=np.uint8) for _ in range(4000)]
    kept = blocks[::16]
    before = _rss_mb()
    del blocks
    after_free = _rss_mb()
    release_heap()
    after_trim = _rss_mb()
    assert before - after_trim > 150  # ~234 MB of the 250 MB were freed
    assert after_trim < after_free
    assert len(kept) == 250


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc / procfs only")
def test_big_arrays_are_returned_after_limit_heap_growth():
    limit_heap_growth(mmap_threshold_mb=4, arenas=2)
    base = _rss_mb()
    for _ in range(3):  # glibc would raise its threshold after the first free and keep the rest
        a = np.ones(64 << 20, dtype=np.uint8)
        assert int(a[::4096].sum()) == (64 << 20) // 4096
        del a
    assert _rss_mb() - base < 16
