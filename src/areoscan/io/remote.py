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

Transfer overlaps decoding: :meth:`RemoteJp2.fetch_ahead` (``Raster.prefetch``) queues the packets
of many windows on one fetch thread per image, first the first windows' own packets then the rest,
and returns; a read waits only until its own packets are held (the partial file is rebuilt from
all packets held by then). Fetches stay one at a time per image (each with at most
:data:`areoscan.io.ranges.IN_FLIGHT` requests), and the bytes go to the sparse copy on disk, so
memory does not grow with what is queued.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from areoscan.errors import FetchError, RasterError
from areoscan.io import remote_ahead
from areoscan.io.codestream import CodestreamIndex, index_codestream
from areoscan.io.fetch import default_cache_dir, fetch, fetch_label, name_from_url
from areoscan.io.jp2backend import Jp2Backend
from areoscan.io.packethdr import check_packets
from areoscan.io.partial import build_partial, kept_ranges, needed_packets
from areoscan.io.ranges import RangeFile, RangeUnsupported
from areoscan.io.window import Window, WindowLike

PARTIAL_DIR = "partial"
RETRIES, BACKOFF = 5, 0.5  # as areoscan.io.fetch: extra attempts, first wait (s), doubling
FIRST_SHARE = 0.1  # fetch_ahead: the first step's share of the bytes (decoding starts after it)


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
        self.keep = np.zeros(len(self.index.packets), dtype=bool)  # in the partial JP2
        self.held = self.keep.copy()  # fetched and checked (written by the fetch thread only)
        self._fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="areoscan-fetch")
        self._queued: list[tuple[np.ndarray, Future[None]]] = []  # (packets, their fetch)
        self._lock = threading.Lock()  # one build at a time (a scan's decode thread may read)
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

    def _need(self, level: int, windows: Sequence[WindowLike | None]) -> np.ndarray:
        need = np.zeros_like(self.keep)
        for window in windows:
            need |= needed_packets(self.index, level, window)
        return need

    def _fetch(self, need: np.ndarray) -> None:
        """Fetch and check the packets of ``need`` not held yet (on the fetch thread only)."""
        new = need & ~self.held
        if not new.any():
            return
        try:
            self.sparse.ensure(kept_ranges(self.index, new))  # raises before marking anything held
            wrong = check_packets(self.index, self.sparse.read_held, new)
            if wrong:  # a partial file cut at PLT's boundaries would decode wrong bytes
                raise NotIndexable(f"{self.url}: {wrong}; its PLT markers cannot be trusted")
        except FetchError:  # the next open of this image starts afresh (file changed, PLT wrong)
            remote_ahead.forget(self.url, self.path.parent.parent)
            raise
        self.held = self.held | new

    def fetch_ahead(self, level: int, windows: Sequence[WindowLike | None]) -> None:
        """Queue the packets of ``windows`` of ``level`` on the fetch thread and return at once:
        first those of the first windows (about :data:`FIRST_SHARE` of the bytes, at least one
        window), then all the others. Reads wait for their own packets only."""
        needs = [self._need(level, [w]) for w in windows]
        lengths = self.index.packets["length"]  # type: ignore[index]
        first, total = np.zeros_like(self.keep), np.zeros_like(self.keep)
        for need in needs:
            total |= need
        goal = FIRST_SHARE * int(lengths[total & ~self.held].sum())
        for need in needs:
            first |= need
            if int(lengths[first & ~self.held].sum()) >= goal:
                break
        with self._lock:
            for need in (first, total):
                self._queued.append((need, self._fetcher.submit(self._fetch, need)))

    def _wait_queued(self, need: np.ndarray) -> None:
        """Wait for the queued fetches of packets in ``need``; a failed one fails this read (and
        only this one: it is then forgotten, and a later read fetches those packets again)."""
        try:
            for mask, future in self._queued:
                if (mask & need & ~self.held).any():
                    future.result()
        finally:
            self._queued = [(m, f) for m, f in self._queued if not f.done()]

    def ensure(self, level: int, windows: Sequence[WindowLike | None] = (None,)) -> bool:
        """Hold every packet that reading ``windows`` (None: all) of ``level`` needs; True if the
        partial JP2 changed (a decoder open on it must be reopened). Waits for queued fetches
        (:meth:`fetch_ahead`) only until these packets are held; the rebuilt file holds every
        packet fetched by then."""
        need = self._need(level, windows)
        with self._lock:
            if self._built and not (need & ~self.keep).any():
                return False
            self._wait_queued(need)
            if (need & ~self.held).any():  # (on the fetch thread: one fetch at a time per image)
                self._fetcher.submit(self._fetch, need).result()
            keep = self.held.copy()
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
        """Start fetching everything reading ``windows`` of ``level`` will need (coalesced, in the
        background); the reads that follow wait for their own packets only."""
        self.remote.fetch_ahead(level, windows)

    def read(self, level: int, window: Window) -> np.ndarray:
        if self.remote.ensure(level, [window]):
            super().close()
            self.codestream_bytes = self.remote.path.stat().st_size
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

    A whole copy already in ``cache_dir`` is used as is, and so is an image opened earlier in this
    process into the same folder, or being opened ahead (:mod:`areoscan.io.remote_ahead`). The label (X.LBL) is fetched beside the
    partial JP2 so the image keeps its georeference. retries / timeout: per request, as
    :func:`areoscan.io.fetch`; max_bytes: the most bytes of the file to fetch, whole or by the packet.
    Headers that cannot be indexed (not JPEG2000, corrupt) also fall back to the whole download,
    whose checks then name the problem.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    earlier = remote_ahead.opened(url, folder)
    if earlier is not None and (partial or earlier[1] is None):
        if label:  # (opened ahead without one, or deleted since: a request only then)
            fetch_label(url, earlier[0].parent, retries=RETRIES if retries is None else retries,
                        timeout=timeout)  # fmt: skip
        return earlier
    opened = _open_remote(url, folder, label, partial, retries, timeout, max_bytes)
    done: Future[remote_ahead.Opened] = Future()
    done.set_result(opened)
    remote_ahead.remember(url, folder, done)
    return opened


def _open_remote(url: str, folder: Path, label: bool, partial: bool, retries: int | None,
                 timeout: float, max_bytes: int | None) -> remote_ahead.Opened:  # fmt: skip
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
