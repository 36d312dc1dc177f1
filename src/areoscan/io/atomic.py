"""Atomic file output: readers never see a half-written file.

Use :func:`atomic_output` for every file areoscan writes (images, labels, tables, reports): the data
goes to a temporary file in the destination folder (same file system, so the final rename is
atomic) and replaces the destination only when the ``with`` block finishes without an error.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from areoscan.errors import OutputError


def _default_mode() -> int:
    """File mode a plain ``open(..., "w")`` would give (0o666 minus the umask); mkstemp uses 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _default_mode()


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; ``os.replace`` it onto ``path`` on success.

    The temporary name keeps the destination's suffix (``.tmp-XXXX.tif``) so that libraries choosing a
    driver by extension (GDAL, Pillow) still pick the right one. On any exception the temporary file
    is removed and the exception propagates; the destination is left untouched.
    """
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}", dir=dest.parent
        )
    except OSError as exc:
        raise OutputError(
            f"{dest}: cannot create a file in {dest.parent} ({exc.strerror}); "
            "check the folder exists and is writable"
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"{dest}: nothing was written to the temporary file {tmp.name}")
        os.chmod(tmp, _MODE)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
