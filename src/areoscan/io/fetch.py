"""Download remote images (and their labels) into a local cache, robustly.

Use :func:`fetch` for any http(s) image: gigabyte HiRISE JP2s over flaky links. It resumes partial
downloads with HTTP Range requests, retries with exponential backoff on 5xx answers, timeouts and
dropped connections, checks the byte count against Content-Length / Content-Range, and renames the
finished file atomically into the cache, so a file in the cache is always complete. The PDS3 label
(X_RED.LBL) is fetched beside X_RED.JP2. Standard library only (urllib).
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

from areoscan.errors import FetchError

CHUNK = 1 << 20
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def default_cache_dir() -> Path:
    """$AREOSCAN_CACHE/images, else ~/.cache/areoscan/images."""
    root = os.environ.get("AREOSCAN_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "areoscan") / "images"


def user_agent() -> str:
    from areoscan import __version__

    return f"areoscan/{__version__} (+python urllib)"


class _Retry(Exception):
    """A transient failure: try again (resuming) after a pause."""


def name_from_url(url: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    if not name or name in (".", ".."):
        raise FetchError(
            f"{url}: URL does not end with a file name; give the URL of the .JP2 itself"
        )
    return name


def label_url(url: str) -> str | None:
    """URL of the detached label beside a JP2 URL (same case as the extension), or None."""
    parsed = urllib.parse.urlparse(url)
    path = parsed.path
    suffix = Path(path).suffix
    if suffix.lower() != ".jp2":
        return None
    new_suffix = ".LBL" if suffix.isupper() else ".lbl"
    return urllib.parse.urlunparse(parsed._replace(path=path[: -len(suffix)] + new_suffix))


def _download_once(url: str, part: Path, timeout: float, max_bytes: int | None) -> None:
    """One attempt: (re)start or resume ``part``; return when it holds the whole file."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            total = _total_from_content_range(exc.headers.get("Content-Range"))
            exc.close()
            if total == have:
                return  # already complete
            part.unlink()
            raise _Retry(f"HTTP 416 with {have} bytes on disk; restarting") from None
        exc.close()
        if exc.code in RETRYABLE_STATUS:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}; check the URL") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError, ConnectionError, OSError)):
            raise _Retry(f"connection failed ({reason})") from None
        raise FetchError(f"{url}: cannot connect ({reason})") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise _Retry(f"connection failed ({exc!r})") from None
    with response:
        status = response.status
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header is not None else None
        if status == 206 and have:
            start = _start_from_content_range(response.headers.get("Content-Range"))
            if start != have:
                part.unlink()
                raise _Retry(f"server resumed at byte {start}, expected {have}; restarting")
            total = _total_from_content_range(response.headers.get("Content-Range"))
            mode = "ab"
        else:  # 200: full body (server ignored or we sent no Range)
            have, total, mode = 0, length, "wb"
        if total is None and length is not None:
            total = have + length
        if max_bytes is not None and total is not None and total > max_bytes:
            raise FetchError(f"{url}: file is {total} bytes, more than max_bytes={max_bytes}")
        got = have
        try:
            with part.open(mode) as out:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    got += len(chunk)
                    if max_bytes is not None and got > max_bytes:
                        raise FetchError(f"{url}: more than max_bytes={max_bytes} bytes received")
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise _Retry(f"connection dropped after {got} bytes ({type(exc).__name__})") from None
    if total is not None and got != total:
        raise _Retry(f"received {got} of {total} bytes")


def _start_from_content_range(value: str | None) -> int | None:
    # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0]) if value else None
    except (IndexError, ValueError):
        return None


def _total_from_content_range(value: str | None) -> int | None:
    try:
        total = value.rsplit("/", 1)[1] if value else "*"
        return None if total == "*" else int(total)
    except (IndexError, ValueError):
        return None


def download(
    url: str,
    dest: Path,
    *,
    retries: int = 5,
    timeout: float = 30,
    max_bytes: int | None = None,
    backoff: float = 0.5,
) -> Path:
    """Download ``url`` to ``dest`` (resume from ``dest.part``; atomic rename); return ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last = "no attempt made"
    for attempt in range(retries + 1):
        try:
            _download_once(url, part, timeout, max_bytes)
            if not part.exists():
                part.touch()  # an empty body is a (suspicious but) complete file
            os.replace(part, dest)
            return dest
        except _Retry as exc:
            last = str(exc)
            if attempt < retries:
                time.sleep(min(30.0, backoff * 2**attempt))
        except OSError as exc:
            raise FetchError(f"{url}: cannot write {part} ({exc.strerror})") from None
    raise FetchError(f"{url}: gave up after {retries + 1} attempts (last: {last}); try again later")


def fetch(
    url: str,
    cache_dir: Path | None = None,
    *,
    label: bool = True,
    retries: int = 5,
    timeout: float = 30,
    max_bytes: int | None = None,
    backoff: float = 0.5,
) -> Path:
    """Return a local path for ``url``, downloading it into ``cache_dir`` unless already cached.

    label: also fetch the .LBL beside a .JP2 (a missing label, HTTP 404, only warns: the image is
    still usable without georeference). retries: extra attempts after transient failures, with
    waits of backoff·2**n seconds. timeout: seconds per connection/read. max_bytes: refuse bigger
    files. Files in the cache are complete (written under .part, then renamed).
    """
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"{url}: only http(s) URLs can be fetched")
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    dest = folder / name_from_url(url)
    if not dest.exists():
        download(url, dest, retries=retries, timeout=timeout, max_bytes=max_bytes, backoff=backoff)
    if label:
        fetch_label(url, folder, retries=retries, timeout=timeout, backoff=backoff)
    return dest


def fetch_label(
    url: str, folder: Path, *, retries: int = 5, timeout: float = 30, backoff: float = 0.5
) -> Path | None:
    """Fetch the .LBL beside the JP2 at ``url`` into ``folder`` (unless there); None if none.

    A label missing on the server (HTTP 404) only warns: the image is usable without georeference.
    """
    lbl = label_url(url)
    if lbl is None:
        return None
    lbl_dest = folder / name_from_url(lbl)
    if lbl_dest.exists():
        return lbl_dest
    try:
        return download(
            lbl, lbl_dest, retries=retries, timeout=timeout, max_bytes=16 << 20, backoff=backoff
        )
    except FetchError as exc:
        if "HTTP 404" not in str(exc):
            raise
        warnings.warn(f"{lbl}: no label on the server; the image has no georeference", stacklevel=3)
    return None
