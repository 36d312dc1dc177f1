"""Images opened once per process, and the next image opened while this one is processed.

Use :func:`read_ahead` when images are processed one after another (a survey worker, the fetch
benchmark): it opens the next remote image in a background thread — its headers and packet table
(and, given a level, that level's packets) when it is read by the packet, the whole file otherwise
— so that its transfer overlaps the decoding of the current image. :func:`areoscan.io.remote.open_remote`
looks here first (:func:`opened`), so the image's own later open, by the scan, takes what was
opened ahead instead of starting again; the same holds for two opens of one image in a row (the
survey's check, then the scan), which used to fetch the headers, parse the packet table and rebuild
the partial file twice. At most :data:`KEEP` images are remembered; one image is opened ahead at a
time per process (one thread), so bytes in flight stay bounded by one image's screen level (or one
whole download when reading whole).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from areoscan.errors import AreoscanError

if TYPE_CHECKING:
    from areoscan.io.remote import RemoteJp2

Opened = tuple[Path, "RemoteJp2 | None"]
KEEP = 4

_lock = threading.Lock()
_opened: OrderedDict[tuple[str, str], Future[Opened]] = OrderedDict()
_pool: ThreadPoolExecutor | None = None
_here = threading.local()  # .opening: the key the ahead thread is opening (not to wait on itself)


def _key(url: str, folder: Path) -> tuple[str, str]:
    return url, str(Path(folder).resolve())


def remember(url: str, folder: Path, future: Future[Opened]) -> None:
    """Keep ``future`` (an open of ``url`` into ``folder``) for the next :func:`opened`."""
    with _lock:
        _opened[_key(url, folder)] = future
        _opened.move_to_end(_key(url, folder))
        while len(_opened) > KEEP:
            _opened.popitem(last=False)


def opened(url: str, folder: Path) -> Opened | None:
    """What an earlier open of ``url`` into ``folder`` gave (waiting for one still running), if its
    files are still there, else None. An earlier open that failed with an areoscan error (HTTP
    error, size limit) raises it here, once."""
    key = _key(url, folder)
    with _lock:
        future = None if getattr(_here, "opening", None) == key else _opened.get(key)
    if future is None:
        return None
    try:
        path, remote = future.result()
    except AreoscanError:  # the same open would fail the same way: fail that image with it
        forget(url, folder)
        raise
    except Exception:  # anything else: the caller's own open reports it
        forget(url, folder)
        return None
    if not (remote.sparse.path if remote is not None else path).exists():
        forget(url, folder)  # deleted since (a survey deletes each image's folder)
        return None
    return path, remote


def forget(url: str, folder: Path) -> None:
    with _lock:
        _opened.pop(_key(url, folder), None)


def read_ahead(
    url: str,
    folder: Path,
    open_fn: Callable[[], Opened],
    level: int | None = None,
    scale: float | None = None,
) -> None:
    """Start ``open_fn`` (an :func:`~areoscan.io.remote.open_remote` of ``url`` into ``folder``)
    in the background; with ``level``, also queue the packets of the level of the opened image
    whose pixels are at least as coarse as ``level`` of an image of map ``scale`` (m/px): what the
    scan's screen reads when both images share the screen's resolution, never more."""
    global _pool

    def job() -> Opened:
        _here.opening = _key(url, folder)
        try:
            path, remote = open_fn()
        finally:
            _here.opening = None
        if remote is not None and level is not None:
            own = _image_scale(path)
            if scale is not None and own is not None and own > 0:
                lvl = math.ceil(math.log2(scale * 2**level / own) - 1e-9)
                remote.fetch_ahead(min(max(0, lvl), remote.levels - 1), [None])
        return path, remote

    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="areoscan-ahead")
        future = _pool.submit(job)
    remember(url, folder, future)


def _image_scale(path: Path) -> float | None:
    """Map scale (m/px) from the label fetched beside ``path`` (None without one)."""
    from areoscan.io.label import read_label
    from areoscan.io.sniff import find_label

    found = find_label(path)
    try:
        return None if found is None else float(read_label(found).map_scale)
    except Exception:  # an unreadable label: the scan will say so; nothing is fetched ahead
        return None
