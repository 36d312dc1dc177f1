"""A PDS-like archive served over http on 127.0.0.1, with Apache-style listings and injected faults.

Faults are keyed by the URL path below the server root (e.g. ``PDS/RDR/.../X_RED.JP2``):
``("status", code, times)`` answers ``code`` the first ``times`` requests (times=-1: always);
``("truncate", fraction)`` announces the full Content-Length but sends only part of the body and
closes, on every request; ``("stall", seconds)`` sends the headers and half the body, then stalls
(every request); ``("announce", nbytes)`` makes the listing announce a smaller size than the file.
Ranges (``bytes=N-``) are honoured so that resuming downloads can be exercised; with
``ranges=True`` closed ones (``bytes=N-M``) too, so that JP2s can be read by the packet.
"""

from __future__ import annotations

import html
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


def _human(n: int) -> str:
    """Apache's rounded sizes: 812, 4.0K, 47M."""
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(n)


class ArchiveServer:
    """Serve ``root`` on 127.0.0.1 in a daemon thread; use as a context manager."""

    def __init__(
        self, root: Path, faults: dict[str, tuple[Any, ...]] | None = None, ranges: bool = False
    ) -> None:
        self.root = root.resolve()
        self.ranges = ranges
        self.faults = dict(faults or {})
        self.counts: dict[str, int] = {}
        self.log: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                server._serve(self, head=True)

            def do_GET(self) -> None:  # noqa: N802
                server._serve(self, head=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ArchiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def requests_for(self, suffix: str) -> list[int]:
        """Statuses answered for paths ending with ``suffix``."""
        return [code for path, code in self.log if path.endswith(suffix)]

    # -- serving ---------------------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        rel = unquote(urlsplit(h.path).path).lstrip("/")
        with self._lock:
            n = self.counts.get(rel, 0)
            self.counts[rel] = n + 1
        fault = self.faults.get(rel)
        if fault and fault[0] == "status" and (fault[2] < 0 or n < fault[2]):
            return self._plain(h, fault[1], f"injected {fault[1]}\n", rel, head)
        target = (self.root / rel).resolve()
        if self.root not in (target, *target.parents) or not target.exists():
            return self._plain(h, 404, "not found\n", rel, head)
        if target.is_dir():
            if not h.path.endswith("/"):
                h.send_response(301)
                h.send_header("Location", h.path + "/")
                h.send_header("Content-Length", "0")
                h.end_headers()
                self.log.append((rel, 301))
                return None
            return self._plain(h, 200, self._listing(target, rel), rel, head, "text/html")
        data = target.read_bytes()
        start, end = 0, len(data) - 1
        rng = h.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
            start = int(rng[6:].split("-")[0])
            last = rng[6:].split("-")[1]
            if self.ranges and last.isdigit():
                end = min(end, int(last))
        if start >= len(data) and len(data) > 0:
            return self._plain(h, 416, "range not satisfiable\n", rel, head)
        body = data[start : end + 1]
        code = 206 if start or (self.ranges and rng) else 200
        h.send_response(code)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        if code == 206:
            h.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        h.end_headers()
        self.log.append((rel, code))
        if head:
            return None
        if fault and fault[0] == "truncate":
            h.wfile.write(body[: int(len(body) * fault[1])])
            h.wfile.flush()
            h.close_connection = True
            return None
        if fault and fault[0] == "stall":
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            self._stop.wait(fault[1])
            h.close_connection = True
            return None
        h.wfile.write(body)
        return None

    def _plain(
        self,
        h: BaseHTTPRequestHandler,
        code: int,
        text: str,
        rel: str,
        head: bool,
        ctype: str = "text/plain",
    ) -> None:
        body = text.encode()
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        self.log.append((rel, code))
        if not head:
            h.wfile.write(body)

    def _listing(self, folder: Path, rel: str) -> str:
        lines = [
            '<a href="?C=N;O=D">Name</a> <a href="?C=M;O=A">Last modified</a>',
            '<hr><a href="../">Parent Directory</a>                             -',
        ]
        for child in sorted(folder.iterdir()):
            name = child.name + ("/" if child.is_dir() else "")
            key = (rel.rstrip("/") + "/" + child.name).lstrip("/")
            fault = self.faults.get(key)
            size = "-" if child.is_dir() else _human(child.stat().st_size)
            if fault and fault[0] == "announce":
                size = _human(fault[1])
            lines.append(
                f'<a href="{html.escape(name)}">{html.escape(name)}</a>'
                f"{' ' * max(1, 40 - len(name))}2024-01-01 12:00  {size:>5}"
            )
        return "<html><body><h1>Index</h1><pre>" + "\n".join(lines) + "</pre></body></html>\n"


def wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False
