"""Keep numpy's OpenBLAS single-threaded inside render threads.

The renderer runs one block per thread and calls many small matrix products; OpenBLAS would
start its own threads for each and oversubscribe the cores (measured 4-5x slower on 2 shared
cores). Use ``with single_thread_blas():`` around per-block work. It uses OpenBLAS's
per-thread setting (``openblas_set_num_threads_local``, OpenBLAS >= 0.3.27), so other threads
of the process are unaffected; without it, it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Iterator
from functools import lru_cache


@lru_cache(maxsize=1)
def _setter() -> Callable[[int], int] | None:
    """OpenBLAS's per-thread thread-count setter from the libraries numpy loaded, if any."""
    import numpy  # noqa: F401  (make sure numpy's BLAS is loaded)

    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            fn = lib.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
        return fn
    return None


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run the block with one OpenBLAS thread in the calling thread; restore afterwards."""
    fn = _setter()
    if fn is None:
        yield
        return
    previous = fn(1)
    try:
        yield
    finally:
        fn(max(previous, 1))
