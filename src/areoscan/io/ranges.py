"""A remote file fetched by byte ranges into a sparse local copy that keeps the file's offsets.

Use :class:`RangeFile` when only parts of a large remote file are needed (the packets of one
JPEG2000 level, see :mod:`areoscan.io.remote`): :meth:`RangeFile.ensure` fetches the missing parts of
a list of byte ranges with HTTP Range requests, merging ranges closer than ``gap`` bytes into one
request, splitting very long ones, with at most ``in_flight`` requests at once; each request is
retried with backoff and resumed where a dropped connection left it, like :func:`areoscan.io.fetch`.
Bytes land at their own offsets in a sparse file; a JSON sidecar lists the ranges held, rewritten
atomically after every finished request, so an interrupted run resumes without refetching. A server
that ignores Range, or answers with a Content-Range other than the one asked for, raises
:class:`RangeUnsupported` (callers fall back to a whole download): never a byte at a wrong offset.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from areoscan.errors import FetchError
from areoscan.io.atomic import atomic_output
from areoscan.io.fetch import CHUNK, RETRYABLE_STATUS, user_agent

PREFIX = 1 << 16
GAP = 1 << 16
MAX_REQUEST = 8 << 20
IN_FLIGHT = 4


class RangeUnsupported(FetchError):
    """The server cannot be trusted with Range requests (ignored, or a mismatching Content-Range)."""


class _Retry(Exception):
    """A transient failure: resume after a pause."""


def merge(ranges: Iterable[tuple[int, int]], gap: int = 0) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) ranges; ranges closer than ``gap`` bytes become one."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if out and a <= out[-1][1] + gap:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(ranges: list[tuple[int, int]], held: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of merged ``ranges`` not covered by merged ``held``."""
    out = []
    for a, b in ranges:
        for h0, h1 in held:
            if h1 <= a or h0 >= b:
                continue
            if h0 > a:
                out.append((a, h0))
            a = max(a, h1)
            if a >= b:
                break
        if a < b:
            out.append((a, b))
    return out


def _content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total) of "bytes first-last/total" (total None for "*"), None if malformed."""
    try:
        unit, spec = (value or "").split(None, 1)
        span, total = spec.split("/")
        first, last = span.split("-")
        return int(first), int(last), None if total == "*" else int(total)
    except ValueError:
        return None


class RangeFile:
    """A sparse local copy of ``url`` at ``path`` (sidecar ``path.json``); see module docstring.

    Create with :meth:`open`, which asks for the first ``PREFIX`` bytes and learns the size.
    ``fetched`` counts bytes held (from this or earlier runs); ``requests`` the requests made.
    max_bytes: the most bytes the copy may hold (None: no limit); a fetch that would pass it fails
    with one line before any request (a survey's ``--max-image-mb`` bounds partial reads too).
    """

    def __init__(self, url: str, path: Path, size: int, *, timeout: float, retries: int,
                 backoff: float, in_flight: int = IN_FLIGHT, gap: int | None = None,
                 validator: str | None = None, max_bytes: int | None = None) -> None:  # fmt: skip
        self.url, self.path, self.size, self.validator = url, path, size, validator
        self.max_bytes = max_bytes
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.in_flight, self.gap = max(1, in_flight), GAP if gap is None else gap
        self.requests = 0
        self._reader: BinaryIO | None = None  # closed with this object
        self._lock = threading.Lock()
        self._sidecar = path.with_name(path.name + ".json")
        self.held: list[tuple[int, int]] = self._load()
        if not path.exists() or path.stat().st_size != size:
            with path.open("wb") as fh:
                fh.truncate(size)  # sparse: holes cost no disk
            self.held = []

    @classmethod
    def open(cls, url: str, path: Path, *, timeout: float = 30, retries: int = 5,
             backoff: float = 0.5, in_flight: int = IN_FLIGHT, gap: int | None = None,
             max_bytes: int | None = None) -> RangeFile:  # fmt: skip
        """Start (or resume) the sparse copy of ``url``: one Range request for its first bytes."""
        path.parent.mkdir(parents=True, exist_ok=True)
        first: list[bytes] = []
        tag: dict[str, str] = {}
        size = _request(url, 0, PREFIX, None, timeout, retries, backoff, first.append, tag)
        rf = cls(url, path, size, timeout=timeout, retries=retries, backoff=backoff,
                 in_flight=in_flight, gap=gap, validator=tag.get("v"), max_bytes=max_bytes)  # fmt: skip
        rf.requests = 1
        rf._store(0, b"".join(first))
        return rf

    @property
    def fetched(self) -> int:
        """Bytes of the file held locally."""
        return sum(b - a for a, b in self.held)

    def _load(self) -> list[tuple[int, int]]:
        try:
            state = json.loads(self._sidecar.read_text())
            same = (state.get("url"), state.get("size"), state.get("validator"))
            if same == (self.url, self.size, self.validator):
                return merge((int(a), int(b)) for a, b in state["held"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return []

    def _store(self, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` and record it as held (sidecar rewritten atomically)."""
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)
        with self._lock:
            self.held = merge([*self.held, (offset, offset + len(data))])
            state = {"url": self.url, "size": self.size, "validator": self.validator,
                     "held": self.held}  # fmt: skip
            with atomic_output(self._sidecar) as tmp:
                tmp.write_text(json.dumps(state))

    def ensure(self, ranges: Iterable[tuple[int, int]]) -> int:
        """Fetch what ``ranges`` need that is not held yet; return the bytes requested."""
        wanted = merge(((max(0, a), min(self.size, b)) for a, b in ranges), self.gap)
        missing = subtract(wanted, self.held)
        jobs = [
            (a, min(b, a + MAX_REQUEST)) for a0, b in missing for a in range(a0, b, MAX_REQUEST)
        ]
        if not jobs:
            return 0
        more = sum(b - a for a, b in jobs)
        if self.max_bytes is not None and self.fetched + more > self.max_bytes:
            raise FetchError(
                f"{self.url}: this read needs {self.fetched + more} bytes of the file in all, "
                f"more than max_bytes={self.max_bytes}"
            )

        def one(job: tuple[int, int]) -> None:
            a, b = job
            pos = [a]

            def sink(data: bytes) -> None:  # a resumed request continues where this stopped
                self._store(pos[0], data)
                pos[0] += len(data)

            with self._lock:
                self.requests += 1
            tag = {"v": self.validator} if self.validator else {}
            _request(self.url, a, b, self.size, self.timeout, self.retries, self.backoff, sink, tag)

        with ThreadPoolExecutor(max_workers=min(self.in_flight, len(jobs))) as pool:
            list(pool.map(one, jobs))
        return more

    def read(self, offset: int, n: int) -> bytes:
        """Bytes [offset, offset + n) of the file (fetched first if not held)."""
        self.ensure([(offset, offset + n)])
        return self.read_held(offset, n)

    def __del__(self) -> None:
        if getattr(self, "_reader", None) is not None:
            self._reader.close()  # type: ignore[union-attr]

    def read_held(self, offset: int, n: int) -> bytes:
        """Bytes already held (no network): for building files from fetched packets."""
        if self._reader is None:
            self._reader = self.path.open("rb")
        return os.pread(self._reader.fileno(), max(0, min(n, self.size - offset)), offset)


def _request(url: str, start: int, end: int, size: int | None, timeout: float, retries: int,
             backoff: float, sink: object, tag: dict[str, str]) -> int:  # fmt: skip
    """GET bytes [start, end) into ``sink`` (retrying and resuming); return the file's size.

    tag: {"v": validator} sends If-Range (the file must not have changed); an empty dict on the
    first request receives the file's validator (strong ETag, else Last-Modified)."""
    assert callable(sink)
    last = "no attempt made"
    for attempt in range(retries + 1):
        try:
            got = _request_once(url, start, end, size, timeout, sink, tag)
            if got[0] >= end or (size is None and got[0] >= got[1]):
                return got[1]
            start = got[0]
            last = f"connection closed at byte {start} of {end}"
        except _Retry as exc:
            last = str(exc)
        if attempt < retries:
            time.sleep(min(30.0, backoff * 2**attempt))
    raise FetchError(f"{url}: gave up after {retries + 1} attempts (last: {last}); try again later")


def _request_once(url: str, start: int, end: int, size: int | None, timeout: float,
                  sink: object, tag: dict[str, str]) -> tuple[int, int]:  # fmt: skip
    """One GET of bytes [start, end); (position reached, file size). Raises _Retry / FetchError."""
    assert callable(sink)
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity",
               "Range": f"bytes={start}-{end - 1}"}  # fmt: skip
    if size is not None and "v" in tag:
        headers["If-Range"] = tag["v"]
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in RETRYABLE_STATUS:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        if exc.code == 416:
            raise RangeUnsupported(
                f"{url}: server refused bytes {start}-{end - 1} (HTTP 416)"
            ) from None
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}; check the URL") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, TimeoutError, ConnectionError, OSError)):
            raise _Retry(f"connection failed ({exc.reason})") from None
        raise FetchError(f"{url}: cannot connect ({exc.reason})") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise _Retry(f"connection failed ({exc!r})") from None
    with response:
        if response.status != 206:
            if "If-Range" in headers:
                raise RangeUnsupported(f"{url}: the file changed on the server while being read")
            raise RangeUnsupported(f"{url}: server ignores Range requests (HTTP {response.status})")
        if size is None:
            etag = response.headers.get("ETag")
            validator = etag if etag and not etag.startswith("W/") else None
            validator = validator or response.headers.get("Last-Modified")
            if validator:
                tag["v"] = validator
        span = _content_range(response.headers.get("Content-Range"))
        if span is None or span[0] != start or span[1] >= end or span[2] is None:
            raise RangeUnsupported(
                f"{url}: asked for bytes {start}-{end - 1}, server sent Content-Range "
                f"{response.headers.get('Content-Range')!r}"
            )
        total = span[2]
        if (size is not None and total != size) or (span[1] != min(end, total) - 1):
            raise RangeUnsupported(
                f"{url}: Content-Range {response.headers.get('Content-Range')!r} does not match "
                f"the {size if size is not None else '?'}-byte file asked for"
            )
        pos, stop = start, span[1] + 1
        try:
            while pos < stop:
                data = response.read(min(CHUNK, stop - pos))
                if not data:
                    break
                sink(data)
                pos += len(data)
        except (TimeoutError, ConnectionError, http.client.HTTPException):
            pass  # resumed from pos by the caller
    return pos, total
