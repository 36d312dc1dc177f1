"""Walk an http(s) directory-listing tree (Apache/nginx style) to find HiRISE RED products.

Use :func:`walk_http` for an archive mirror without an index. Only links that stay on the same host
under the starting URL and whose names are safe path components are followed, so a hostile listing
cannot lead the survey elsewhere. Sizes printed in a listing become upper bounds for downloads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from areoscan.errors import FetchError
from areoscan.io.obsid import RED_PRODUCT_RE
from areoscan.survey.safety import SAFE_COMPONENT_RE, check_url, url_under

_LISTING_MAX_BYTES = 8 * 1024 * 1024
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


class _LinkParser(HTMLParser):
    """Collect (href, text that follows the link up to the next one) from a directory listing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append([href, ""])

    def handle_data(self, data: str) -> None:
        if self.links:
            self.links[-1][1] += data


_SIZE_RE = re.compile(r"(?<![\d:.\-])(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_listing(html: str) -> list[tuple[str, int | None]]:
    """(href, upper bound of the announced size in bytes or None) for each link of a listing.

    Understands Apache/nginx listings (``412M``, ``1.2G``, ``123456``): a rounded size gives an
    upper bound one unit above it, an exact byte count gives itself.
    """
    parser = _LinkParser()
    parser.feed(html)
    out = []
    for href, trailing in parser.links:
        text = " ".join(trailing.split())
        size = None
        match = _SIZE_RE.search(text)
        if match and not text.endswith("-"):
            value, unit = float(match.group(1)), match.group(2).upper()
            size = int(value) if unit == "" else int((value + 1) * _SIZE_UNITS[unit])
        out.append((href, size))
    return out


def get_text(url: str, timeout: float) -> str:
    """GET a small text resource (a listing page) with a size cap; FetchError on any failure."""
    import urllib.error
    import urllib.request

    check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": "areoscan-survey"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked)
            body = response.read(_LISTING_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} while reading a listing") from None
    except (OSError, ValueError) as exc:
        raise FetchError(f"{url}: cannot read listing ({exc})") from None
    if len(body) > _LISTING_MAX_BYTES:
        raise FetchError(f"{url}: listing larger than {_LISTING_MAX_BYTES} bytes; not a folder?")
    return body.decode("utf-8", errors="replace")


def walk_http(
    base: str, *, timeout: float = 30.0, max_pages: int = 200_000, threads: int = 8
) -> Iterator[tuple[str, int | None]]:
    """Yield (url, announced size bound) of every ``*_RED.JP2`` in an http(s) listing tree.

    Only links that stay under ``base`` on the same host and whose names are safe path components
    are followed; sort links, parent links and other hosts are ignored.
    """
    base = check_url(base if base.endswith("/") else base + "/")
    pending, seen, pages = [base], {base}, 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        while pending:
            batch, pending = pending, []
            pages += len(batch)
            if pages > max_pages:
                raise FetchError(
                    f"{base}: more than {max_pages} listing pages; use an index instead"
                )
            for folder, html in zip(
                batch, pool.map(lambda u: get_text(u, timeout), batch), strict=True
            ):
                found = []
                for href, size in parse_listing(html):
                    url = url_under(folder, href)
                    if url is None or url in seen:
                        continue
                    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
                    if not SAFE_COMPONENT_RE.match(name):
                        continue
                    seen.add(url)
                    if url.endswith("/"):
                        pending.append(url)
                    elif RED_PRODUCT_RE.match(name):
                        found.append((url, size))
                yield from sorted(found)
