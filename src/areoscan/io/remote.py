"""Remote JPEG2000 read by the byte: fetch only the packets that a level or window needs.

Use :func:`open_remote` (through :func:`areoscan.io.open_raster` on an http(s) URL) to read a remote
JP2 without downloading it whole: the headers are fetched with Range requests and indexed
(:mod:`areoscan.io.codestream`), and each read fetches the packets its level (and window, where the
file has precincts) needs into a sparse copy (:class:`areoscan.io.ranges.RangeFile`), then rebuilds a
small valid JP2 from the packets held (:mod:`areoscan.io.partial`) for OpenJPEG. A read never
decodes from a file that lacks a packet it needs: the set of packets grows before every read that
needs more. Files that cannot be indexed (no PLT markers) or servers that do not honour Range
requests are downloaded whole instead (:func:`areoscan.io.fetch`), with a warning saying why. Every
packet kept is checked against its own header first (:mod:`areoscan.io.packethdr`): PLT lengths
that disagree with the packets fall back to the whole download when found while opening, and fail
the read with one line after.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from areoscan.errors import FetchError, RasterError
from areoscan.io.codestream import CodestreamIndex, index_codestream
from areoscan.io.fetch import default_cache_dir, fetch, fetch_label, name_from_url
from areoscan.io.jp2backend import Jp2Backend
from areoscan.io.packethdr import check_packets
from areoscan.io.partial import build_partial, kept_ranges, needed_packets
from areoscan.io.ranges import RangeFile, RangeUnsupported
from areoscan.io.window import Window, WindowLike

PARTIAL_DIR = "partial"
RETRIES, BACKOFF = 5, 0.5  # as areoscan.io.fetch: extra attempts, first wait (s), doubling


class RemoteJp2:
    """The packets of one remote JP2 held so far, and the partial JP2 built from them.

    path: the partial JP2 (valid, named as the remote file); sparse: the sparse copy. max_bytes:
    the most bytes of the file the copy may hold (reads needing more fail with one FetchError line).
    """

    def __init__(self, url: str, folder: Path, *, timeout: float = 30, retries: int | None = None,
                 backoff: float | None = None, max_bytes: int | None = None) -> None:  # fmt: skip
        self.url = url
        name = name_from_url(url)
        self.path = folder / name
        self.sparse = RangeFile.open(
            url, folder / (name + ".sparse"), timeout=timeout,
            retries=RETRIES if retries is None else retries,
            backoff=BACKOFF if backoff is None else backoff, max_bytes=max_bytes,
        )  # fmt: skip
        try:
            self.index: CodestreamIndex = index_codestream(self.sparse.read, self.sparse.size)
        except RasterError as exc:
            raise RasterError(f"{url}: {exc}") from None
        if self.index.packets is None:
            raise NotIndexable(f"{url}: {self.index.reason}")
        self.keep = np.zeros(len(self.index.packets), dtype=bool)
        self._built = False
        self.ensure(self.levels - 1)  # the partial JP2 exists (and opens) from the start

    @property
    def levels(self) -> int:
        return self.index.levels + 1

    @property
    def bytes_fetched(self) -> int:
        """Bytes of the remote file held locally (headers and packets)."""
        return self.sparse.fetched

    @property
    def bytes_total(self) -> int:
        """Size of the remote file."""
        return self.sparse.size

    def ensure(self, level: int, windows: Sequence[WindowLike | None] = (None,)) -> bool:
        """Hold every packet that reading ``windows`` (None: all) of ``level`` needs; True if the
        partial JP2 changed (a decoder open on it must be reopened)."""
        need = np.zeros_like(self.keep)
        for window in windows:
            need |= needed_packets(self.index, level, window)
        if self._built and not (need & ~self.keep).any():
            return False
        keep = self.keep | need
        self.sparse.ensure(kept_ranges(self.index, keep))  # raises before anything is marked held
        wrong = check_packets(self.index, self.sparse.read_held, keep & ~self.keep)
        if wrong:  # a partial file cut at PLT's boundaries would decode wrong bytes
            raise NotIndexable(f"{self.url}: {wrong}; its PLT markers cannot be trusted")
        build_partial(self.index, self.sparse.read_held, keep, self.path)
        self.keep = keep
        self._built = True
        return True


class NotIndexable(FetchError):
    """The remote file has no trustworthy packet table (no PLT markers, or PLT lengths that the
    packet headers contradict): read it whole."""


class PartialJp2Backend(Jp2Backend):
    """:class:`Jp2Backend` over a :class:`RemoteJp2`: fetch, rebuild, then decode."""

    def __init__(self, remote: RemoteJp2, threads: int) -> None:
        super().__init__(remote.path, threads)
        self.remote = remote

    def prefetch(self, level: int, windows: Sequence[WindowLike | None]) -> None:
        """Fetch, in one go, everything reading ``windows`` of ``level`` will need."""
        if self.remote.ensure(level, windows):
            super().close()
            self.codestream_bytes = self.remote.path.stat().st_size

    def read(self, level: int, window: Window) -> np.ndarray:
        self.prefetch(level, [window])
        return super().read(level, window)

    @property
    def bytes_fetched(self) -> int:
        return self.remote.bytes_fetched

    @property
    def bytes_total(self) -> int:
        return self.remote.bytes_total


def open_remote(
    url: str,
    cache_dir: Path | None,
    *,
    label: bool,
    partial: bool = True,
    retries: int | None = None,
    timeout: float = 30,
    max_bytes: int | None = None,
) -> tuple[Path, RemoteJp2 | None]:
    """(local path, RemoteJp2 or None) for ``url``: a partial JP2 when possible, else the whole file.

    A whole copy already in ``cache_dir`` is used as is. The label (X.LBL) is fetched beside the
    partial JP2 so the image keeps its georeference. retries / timeout: per request, as
    :func:`areoscan.io.fetch`; max_bytes: the most bytes of the file to fetch, whole or by the packet.
    Headers that cannot be indexed (not JPEG2000, corrupt) also fall back to the whole download,
    whose checks then name the problem.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    whole = folder / name_from_url(url)
    attempts = RETRIES if retries is None else retries
    if partial and not whole.exists() and url.lower().endswith((".jp2", ".j2k")):
        try:
            remote = RemoteJp2(url, folder / PARTIAL_DIR, retries=attempts, timeout=timeout,
                               max_bytes=max_bytes)  # fmt: skip
        except (RangeUnsupported, NotIndexable, RasterError) as exc:
            warnings.warn(f"{exc}; downloading the whole file", stacklevel=3)
        else:
            if label:
                fetch_label(url, folder / PARTIAL_DIR, retries=attempts, timeout=timeout)
            return remote.path, remote
    path = fetch(url, folder, label=label, retries=attempts, timeout=timeout, max_bytes=max_bytes)
    return path, None
