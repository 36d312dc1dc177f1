"""Validation of names, paths and URLs that come from outside (listings, index files, id lists).

Use these before a name taken from a remote listing, an index row or a user's id list becomes part
of a path or a URL: every survey output goes under the survey folder, and only ``http``, ``https``
and ``file`` URLs are ever opened (observation ids are checked by :mod:`areoscan.io.obsid`). Each check raises :class:`~areoscan.errors.DataError` with a
one-line message naming the offending value.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from areoscan.errors import DataError
from areoscan.io.obsid import OBSERVATION_ID_RE

#: One path component of a PDS tree (``RDR``, ``ESP``, ``ORB_011200_011299``, file names).
SAFE_COMPONENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
ALLOWED_SCHEMES = frozenset({"http", "https", "file"})


def check_relative_path(value: str, where: str = "input") -> str:
    """Return a normalised relative POSIX path, refusing absolute paths, ``..`` and odd characters.

    Use for paths read from an index (FILE_NAME_SPECIFICATION) or a listing before joining them to a
    base URL or folder.
    """
    text = value.strip()
    if not text or "\\" in text or "\x00" in text or text.startswith("/") or ":" in text:
        raise DataError(f"{where}: unsafe path {value!r} (must be relative, without ':' or '\\')")
    parts = text.split("/")
    for part in parts:
        if part in ("", ".", "..") or not SAFE_COMPONENT_RE.match(part):
            raise DataError(f"{where}: unsafe path component {part!r} in {value!r}")
    return "/".join(parts)


def check_url(url: str, where: str = "input") -> str:
    """Return ``url`` if its scheme is http, https or file and its path has no ``..``; else raise."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise DataError(f"{where}: URL scheme {parts.scheme or '(none)'!r} not allowed in {url!r}")
    if parts.scheme.lower() != "file" and not parts.hostname:
        raise DataError(f"{where}: URL without a host: {url!r}")
    segments = unquote(parts.path).split("/")
    if ".." in segments or "\x00" in url or "\\" in unquote(parts.path):
        raise DataError(f"{where}: URL path escapes its folder: {url!r}")
    return url.strip()


def url_under(base: str, href: str, where: str = "listing") -> str | None:
    """Resolve ``href`` against ``base``; return it only if it stays on the same host under ``base``.

    Use when walking a remote directory listing: links to parent folders, other hosts, sort-order
    query strings (``?C=M;O=A``) or fragments give None and are ignored.
    """
    if not href or href.startswith(("?", "#")) or "?" in href or "#" in href:
        return None
    full = urljoin(base, href)
    b, f = urlsplit(base), urlsplit(full)
    if (f.scheme, f.netloc) != (b.scheme, b.netloc):
        return None
    base_path = b.path if b.path.endswith("/") else b.path + "/"
    norm = posixpath.normpath(unquote(f.path))
    if f.path.endswith("/"):
        norm += "/"
    if not norm.startswith(base_path) or norm == base_path:
        return None
    check_url(full, where)
    return full


def safe_join(root: Path, *parts: str) -> Path:
    """Join validated components under ``root`` and prove the result stays inside it."""
    for part in parts:
        if part in ("", ".", "..") or not SAFE_COMPONENT_RE.match(part):
            raise DataError(f"unsafe file name {part!r} for a path under {root}")
    root_resolved = root.resolve()
    target = root_resolved.joinpath(*parts).resolve()
    if target != root_resolved and root_resolved not in target.parents:
        raise DataError(f"path {target} would be outside the survey folder {root_resolved}")
    return target


def check_product_id(value: str, where: str = "input") -> str:
    """A survey job id: a HiRISE observation id (upper-cased), or a local product's safe file stem.

    Use where a job id becomes part of a path: ids of local CTX / HRSC / LROC / GeoTIFF products
    (``P22_009816_1745_XI_05S073W``) are their file stems, one safe path component each.
    """
    text = value.strip()
    if OBSERVATION_ID_RE.match(text.upper()):
        return text.upper()
    if not SAFE_COMPONENT_RE.match(text) or text.startswith("."):
        raise DataError(
            f"{where}: {value!r} is neither a HiRISE observation id nor a safe file stem"
        )
    return text
